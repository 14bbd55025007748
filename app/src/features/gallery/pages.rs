use leptos::prelude::*;

use crate::i18n::{t, t_string, use_i18n};
use crate::ui::{
    use_toasts, Badge, Button, ButtonVariant, Card, Checkbox, Column, DataTable, Dialog, EmptyState,
    FormError, Input, Select, Skeleton, Switch, TabPanel, Tabs, TextArea, ToastKind, Tone,
};

/// A row of the sample table: a name, a number to sort by.
#[derive(Clone, PartialEq)]
struct Sample {
    name: String,
    score: u32,
}

fn samples() -> Vec<Sample> {
    // Enough rows for three pages at page size 5; scores out of order so
    // sorting visibly changes the first page.
    [
        "Ada", "Babbage", "Curie", "Dijkstra", "Euler", "Fermat", "Gauss", "Hopper", "Infeld", "Jacobi",
        "Kepler", "Lovelace",
    ]
    .iter()
    .enumerate()
    .map(|(i, n)| Sample { name: n.to_string(), score: ((i as u32) * 37) % 100 })
    .collect()
}

#[component]
fn Section(
    #[prop(into)] title: Signal<String>,
    #[prop(into)] id: String,
    children: Children,
) -> impl IntoView {
    view! {
        <section data-testid=format!("gallery-{id}") class="space-y-3">
            <h2 class="text-sm font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">{move || title.get()}</h2>
            <div class="flex flex-wrap items-start gap-3">{children()}</div>
        </section>
    }
}

#[component]
pub fn GalleryPage() -> impl IntoView {
    let i18n = use_i18n();
    let toasts = use_toasts();
    let dialog = RwSignal::new(false);
    let checked = RwSignal::new(true);
    let unchecked = RwSignal::new(false);
    let switch_on = RwSignal::new(true);
    let switch_off = RwSignal::new(false);
    let tab = RwSignal::new(0usize);
    let typed = RwSignal::new(String::new());
    // Inline validation, live: the error appears while the value is invalid.
    let typed_error = Signal::derive(move || {
        let v = typed.get();
        (!v.is_empty() && !v.contains('@')).then(|| t_string!(i18n, gallery.invalid_email).to_string())
    });
    let filled = RwSignal::new("Demo Motors".to_string());
    let choice = RwSignal::new("b".to_string());
    let options = Signal::derive(move || {
        vec![
            ("a".to_string(), t_string!(i18n, gallery.option_a).to_string()),
            ("b".to_string(), t_string!(i18n, gallery.option_b).to_string()),
        ]
    });
    let columns = vec![
        Column::new(Signal::derive(move || t_string!(i18n, gallery.col_name).to_string()), |r: &Sample| {
            r.name.clone().into_any()
        })
        .sortable(|a: &Sample, b: &Sample| a.name.cmp(&b.name)),
        Column::new(Signal::derive(move || t_string!(i18n, gallery.col_score).to_string()), |r: &Sample| {
            r.score.to_string().into_any()
        })
        .sortable(|a: &Sample, b: &Sample| a.score.cmp(&b.score)),
    ];

    view! {
        <div class="mx-auto max-w-5xl space-y-8 p-6" data-testid="gallery">
            <header>
                <h1 class="text-2xl font-bold text-slate-900 dark:text-slate-100">{t!(i18n, gallery.title)}</h1>
                <p class="text-sm text-slate-500 dark:text-slate-400">{t!(i18n, gallery.intro)}</p>
            </header>

            <Section id="buttons" title=Signal::derive(move || t_string!(i18n, gallery.buttons).to_string())>
                <Button>{t!(i18n, gallery.primary)}</Button>
                <Button variant=ButtonVariant::Secondary>{t!(i18n, gallery.secondary)}</Button>
                <Button variant=ButtonVariant::Ghost>{t!(i18n, gallery.ghost)}</Button>
                <Button variant=ButtonVariant::Danger>{t!(i18n, gallery.danger)}</Button>
                <Button variant=ButtonVariant::DangerGhost>{t!(i18n, gallery.danger_ghost)}</Button>
                <Button disabled=true>{t!(i18n, gallery.disabled)}</Button>
                <Button busy=true>{t!(i18n, gallery.busy)}</Button>
            </Section>

            <Section id="inputs" title=Signal::derive(move || t_string!(i18n, gallery.inputs).to_string())>
                <div class="grid w-full gap-4 sm:grid-cols-2">
                    <Input id="g-empty" name="empty" label=Signal::derive(move || t_string!(i18n, gallery.empty_input).to_string())
                        hint=Signal::derive(move || t_string!(i18n, gallery.hint).to_string())/>
                    <Input id="g-filled" name="filled" value=filled label=Signal::derive(move || t_string!(i18n, gallery.filled_input).to_string())/>
                    <Input id="g-live" name="live" kind="email" value=typed error=typed_error
                        label=Signal::derive(move || t_string!(i18n, gallery.live_validation).to_string())
                        hint=Signal::derive(move || t_string!(i18n, gallery.type_email).to_string())/>
                    <Input id="g-error" name="error" error=Signal::derive(move || Some(t_string!(i18n, gallery.invalid_email).to_string()))
                        label=Signal::derive(move || t_string!(i18n, gallery.error_input).to_string())/>
                    <Input id="g-readonly" name="readonly" readonly=true value=RwSignal::new("owner@demo.handoo.test".to_string())
                        label=Signal::derive(move || t_string!(i18n, gallery.readonly_input).to_string())/>
                    <Select id="g-select" name="select" options=options value=choice
                        label=Signal::derive(move || t_string!(i18n, gallery.select).to_string())/>
                    <TextArea id="g-textarea" name="textarea" rows=3 label=Signal::derive(move || t_string!(i18n, gallery.textarea).to_string())/>
                    <TextArea id="g-textarea-error" name="textarea_error" rows=3
                        error=Signal::derive(move || Some(t_string!(i18n, gallery.too_long).to_string()))
                        label=Signal::derive(move || t_string!(i18n, gallery.textarea_error).to_string())/>
                </div>
                <div class="flex w-full flex-wrap items-center gap-6">
                    <Checkbox id="g-checked" name="checked" checked=checked label=Signal::derive(move || t_string!(i18n, gallery.checked).to_string())/>
                    <Checkbox id="g-unchecked" name="unchecked" checked=unchecked label=Signal::derive(move || t_string!(i18n, gallery.unchecked).to_string())/>
                    <Switch checked=switch_on label=Signal::derive(move || t_string!(i18n, gallery.switch_on).to_string())/>
                    <Switch checked=switch_off label=Signal::derive(move || t_string!(i18n, gallery.switch_off).to_string())/>
                </div>
                <div class="w-full">
                    <FormError message=Signal::derive(move || Some(t_string!(i18n, gallery.form_error).to_string()))/>
                </div>
            </Section>

            <Section id="badges" title=Signal::derive(move || t_string!(i18n, gallery.badges).to_string())>
                <Badge>{t!(i18n, gallery.neutral)}</Badge>
                <Badge tone=Tone::Info>{t!(i18n, gallery.info)}</Badge>
                <Badge tone=Tone::Success>{t!(i18n, gallery.success)}</Badge>
                <Badge tone=Tone::Warning>{t!(i18n, gallery.warning)}</Badge>
                <Badge tone=Tone::Danger>{t!(i18n, gallery.danger)}</Badge>
            </Section>

            <Section id="cards" title=Signal::derive(move || t_string!(i18n, gallery.cards).to_string())>
                <Card class="w-64" title=Signal::derive(move || t_string!(i18n, gallery.card_title).to_string())>
                    <p class="text-sm text-slate-600 dark:text-slate-300">{t!(i18n, gallery.card_body)}</p>
                </Card>
                <Card class="w-64">
                    <Skeleton lines=3/>
                </Card>
                <div class="w-80">
                    <EmptyState title=Signal::derive(move || t_string!(i18n, common.empty).to_string())
                        body=Signal::derive(move || t_string!(i18n, gallery.empty_body).to_string())>
                        <Button>{t!(i18n, gallery.primary)}</Button>
                    </EmptyState>
                </div>
            </Section>

            <Section id="tabs" title=Signal::derive(move || t_string!(i18n, gallery.tabs).to_string())>
                <div class="w-full">
                    <Tabs id="gallery-tabs" selected=tab labels=Signal::derive(move || vec![
                        t_string!(i18n, gallery.tab_one).to_string(),
                        t_string!(i18n, gallery.tab_two).to_string(),
                        t_string!(i18n, gallery.tab_three).to_string(),
                    ])/>
                    <TabPanel id="gallery-tabs" selected=tab>
                        <p class="p-3 text-sm text-slate-600 dark:text-slate-300" data-testid="gallery-tab-panel">
                            {move || t_string!(i18n, gallery.tab_panel, n = tab.get() + 1).to_string()}
                        </p>
                    </TabPanel>
                </div>
            </Section>

            <Section id="table" title=Signal::derive(move || t_string!(i18n, gallery.table).to_string())>
                <div class="w-full">
                    <DataTable rows=Signal::derive(samples) columns=columns page_size=5 testid="gallery-datatable"
                        caption=Signal::derive(move || t_string!(i18n, gallery.table_caption).to_string())/>
                </div>
            </Section>

            <Section id="overlays" title=Signal::derive(move || t_string!(i18n, gallery.overlays).to_string())>
                <Button variant=ButtonVariant::Secondary on:click=move |_| dialog.set(true) attr:data-testid="gallery-open-dialog">
                    {t!(i18n, gallery.open_dialog)}
                </Button>
                <Button variant=ButtonVariant::Secondary attr:data-testid="gallery-toast-success"
                    on:click=move |_| toasts.push(ToastKind::Success, t_string!(i18n, common.saved).to_string())>
                    {t!(i18n, gallery.toast_success)}
                </Button>
                <Button variant=ButtonVariant::Secondary
                    on:click=move |_| toasts.push(ToastKind::Error, t_string!(i18n, gallery.form_error).to_string())>
                    {t!(i18n, gallery.toast_error)}
                </Button>
                <Button variant=ButtonVariant::Secondary
                    on:click=move |_| toasts.push(ToastKind::Info, t_string!(i18n, gallery.card_body).to_string())>
                    {t!(i18n, gallery.toast_info)}
                </Button>
                <Dialog open=dialog title=Signal::derive(move || t_string!(i18n, gallery.dialog_title).to_string())>
                    <p class="mb-4 text-sm text-slate-600 dark:text-slate-300">{t!(i18n, gallery.dialog_body)}</p>
                    <div class="flex justify-end gap-2">
                        <Button variant=ButtonVariant::Ghost on:click=move |_| dialog.set(false)>{t!(i18n, common.cancel)}</Button>
                        <Button on:click=move |_| dialog.set(false)>{t!(i18n, common.confirm)}</Button>
                    </div>
                </Dialog>
            </Section>
        </div>
    }
}
