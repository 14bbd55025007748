//! One campaign: its figures moving live (the event bus, whichever node
//! dialled), why it is paused when it is, its controls, adding prospects
//! from a saved view or a search with a report of those left out, and
//! where each prospect stands.

use domain::campaign::views::{AddProspects, AddReport, Campaign, ProspectSource};
use domain::campaign::{CampaignAction, CampaignStatus};
use domain::prospect::ProspectFilter;
use domain::Permission;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use super::api::{ActOnCampaign, AddCampaignProspects, EditCampaign};
use super::form::{CampaignForm, CONTROL, DAYS};
use super::labels::{
    day_label, not_added_label, paused_label, result_label, state_label, status_label, status_tone,
};
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{toast_result, Badge, Button, ButtonVariant, Card, ErrorNotice, FormError, Skeleton};

#[component]
pub fn CampaignPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let can_manage = org.role.allows(Permission::ManageCampaigns);
    let campaign_id = move || params.read().get("id").and_then(|s| s.parse::<Uuid>().ok());
    let act = ServerAction::<ActOnCampaign>::new();
    toast_result(act, move || Some(t_string!(i18n, common.saved).to_string()));
    let add = ServerAction::<AddCampaignProspects>::new();
    let edit = ServerAction::<EditCampaign>::new();
    toast_result(edit, move || Some(t_string!(i18n, common.saved).to_string()));
    // Read again after a save that went through only: a refused one keeps
    // the form open with what was typed and the reason.
    let saved = RwSignal::new(0u32);
    Effect::new(move |_| {
        if let Some(Ok(_)) = edit.value().get() {
            saved.update(|n| *n += 1);
        }
    });
    // The campaign as last heard of: the first read, then each live update.
    let live = RwSignal::new(None::<Campaign>);
    let changed = RwSignal::new(0u32);
    let first = Resource::new(
        move || (campaign_id(), act.version().get(), add.version().get(), saved.get()),
        move |(id, _, _, _)| async move {
            match id {
                Some(id) => super::api::get_campaign(org_id, id).await,
                None => Err(crate::AppError::new(domain::ErrorCode::NotFound)),
            }
        },
    );
    #[cfg(feature = "hydrate")]
    {
        use send_wrapper::SendWrapper;
        let stream = StoredValue::new(None::<SendWrapper<crate::live::LiveStream>>);
        Effect::new(move |_| {
            stream.set_value(None);
            let Some(id) = campaign_id() else { return };
            let url = format!("/api/v1/orgs/{org_id}/campaigns/{id}/events");
            let s = crate::live::LiveStream::open::<domain::campaign::views::CampaignUpdate>(
                &url,
                move |u| {
                    live.set(Some(u.campaign));
                    changed.update(|n| *n += 1);
                },
                move || {},
            );
            stream.set_value(s.map(SendWrapper::new));
        });
    }
    view! {
        <div class="space-y-6">
            <A href="/app/campaigns" attr:class="text-sm text-indigo-700 hover:underline dark:text-indigo-300">{move || format!("← {}", t_string!(i18n, campaigns.title))}</A>
            <Transition fallback=|| view! { <Skeleton lines=8/> }>
                {move || first.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(c) => {
                        let id = c.id;
                        let base = c.clone();
                        // The freshest of the read and the live updates.
                        let current = Memo::new(move |_| {
                            live.get().filter(|l| l.id == base.id && l.version >= base.version).unwrap_or_else(|| base.clone())
                        });
                        view! {
                            <CampaignHeader current org_id can_manage act/>
                            <Figures current/>
                            <Settings current org_id can_manage edit/>
                            {can_manage.then(|| view! { <AddProspectsCard org_id campaign_id=id add/> })}
                            <Members org_id campaign_id=id changed/>
                        }.into_any()
                    }
                })}
            </Transition>
        </div>
    }
    .into_any()
}

#[component]
fn CampaignHeader(
    current: Memo<Campaign>,
    org_id: Uuid,
    can_manage: bool,
    act: ServerAction<ActOnCampaign>,
) -> impl IntoView {
    let i18n = use_i18n();
    let button = move |action: CampaignAction, label: Signal<String>, variant: ButtonVariant| {
        view! {
            <Button variant busy=act.pending() attr:data-testid=format!("campaign-{}", action.as_str())
                on:click=move |_| { act.dispatch(ActOnCampaign { org_id, campaign_id: current.get_untracked().id, action }); }>
                {move || label.get()}
            </Button>
        }
    };
    let allowed =
        move |a: CampaignAction| domain::campaign::transition(current.with(|c| c.status), a).is_ok();
    view! {
        <div class="flex flex-wrap items-start justify-between gap-3">
            <div>
                <h1 class="text-2xl font-bold" data-testid="campaign-title">{move || current.with(|c| c.settings.name.clone())}</h1>
                <div class="mt-1" data-testid="campaign-status" data-status=move || current.with(|c| c.status.as_str())>
                    {move || { let s = current.with(|c| c.status); view! { <Badge tone=status_tone(s)>{status_label(i18n, s)}</Badge> } }}
                </div>
            </div>
            {can_manage.then(|| view! {
                <div class="flex flex-wrap gap-2">
                    <Show when=move || allowed(CampaignAction::Start)>{button(CampaignAction::Start, Signal::derive(move || t_string!(i18n, campaigns.start).to_string()), ButtonVariant::Primary)}</Show>
                    <Show when=move || allowed(CampaignAction::Pause)>{button(CampaignAction::Pause, Signal::derive(move || t_string!(i18n, campaigns.pause).to_string()), ButtonVariant::Secondary)}</Show>
                    <Show when=move || allowed(CampaignAction::Resume)>{button(CampaignAction::Resume, Signal::derive(move || t_string!(i18n, campaigns.resume).to_string()), ButtonVariant::Primary)}</Show>
                    <Show when=move || allowed(CampaignAction::Complete)>{button(CampaignAction::Complete, Signal::derive(move || t_string!(i18n, campaigns.complete).to_string()), ButtonVariant::Secondary)}</Show>
                    <Show when=move || allowed(CampaignAction::Archive)>{button(CampaignAction::Archive, Signal::derive(move || t_string!(i18n, campaigns.archive).to_string()), ButtonVariant::Secondary)}</Show>
                </div>
            })}
        </div>
        <ErrorNotice error=Signal::derive(move || act.value().get().and_then(|r| r.err()))/>
        {move || current.with(|c| c.paused_by.clone()).filter(|_| current.with(|c| c.status == CampaignStatus::Paused)).map(|p| view! {
            <div role="status" data-testid="campaign-paused-reason" class="rounded-md border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-900 dark:bg-amber-950 dark:text-amber-200">
                {paused_label(i18n, &p)}
            </div>
        })}
    }
}

#[component]
fn Figures(current: Memo<Campaign>) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let figure = move |key: &'static str, label: Signal<String>, value: Signal<String>| {
        view! {
            <div class="rounded-lg bg-white p-3 ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-700">
                <div class="text-xs text-slate-500">{move || label.get()}</div>
                <div class="text-2xl font-semibold tabular-nums" data-testid=format!("stat-{key}")>{move || value.get()}</div>
            </div>
        }
    };
    let n = move |f: fn(&Campaign) -> u64| {
        Signal::derive(move || crate::format::integer(locale.get(), current.with(f) as i64))
    };
    let rate = Signal::derive(move || {
        current
            .with(|c| c.counts.answer_rate)
            .map(|r| format!("{:.0} %", r * 100.0))
            .unwrap_or_else(|| "—".into())
    });
    let wakes = Signal::derive(move || {
        current
            .with(|c| (c.status == CampaignStatus::Active).then_some(c.wakes_at).flatten())
            .map(|w| crate::format::datetime(locale.get(), w))
    });
    view! {
        <section aria-labelledby="campaign-figures" class="space-y-2">
            <h2 id="campaign-figures" class="sr-only">{t!(i18n, campaigns.figures)}</h2>
            <div class="grid grid-cols-2 gap-3 sm:grid-cols-4 lg:grid-cols-8" data-testid="campaign-figures">
                {figure("queued", Signal::derive(move || t_string!(i18n, campaigns.queued).to_string()), n(|c| c.counts.queued))}
                {figure("dialing", Signal::derive(move || t_string!(i18n, campaigns.dialing).to_string()), n(|c| c.counts.dialing))}
                {figure("in_call", Signal::derive(move || t_string!(i18n, campaigns.in_call).to_string()), n(|c| c.counts.in_call))}
                {figure("done", Signal::derive(move || t_string!(i18n, campaigns.done).to_string()), n(|c| c.counts.done))}
                {figure("skipped", Signal::derive(move || t_string!(i18n, campaigns.skipped).to_string()), n(|c| c.counts.skipped))}
                {figure("attempts", Signal::derive(move || t_string!(i18n, campaigns.attempts).to_string()), n(|c| c.counts.attempts))}
                {figure("answer_rate", Signal::derive(move || t_string!(i18n, campaigns.answer_rate).to_string()), rate)}
                {figure("meetings", Signal::derive(move || t_string!(i18n, campaigns.meetings).to_string()), n(|c| c.counts.meetings_booked))}
            </div>
            <p class="text-sm text-slate-500">
                {move || current.with(|c| c.counts.done_by_result.iter().filter_map(|(k, v)| {
                    domain::campaign::AttemptResult::parse(k).map(|r| format!("{} {v}", result_label(i18n, r)))
                }).collect::<Vec<_>>().join(" · "))}
            </p>
            {move || wakes.get().map(|w| view! { <p class="text-sm text-slate-500" data-testid="campaign-wakes">{t_string!(i18n, campaigns.sleeps_until, at = w).to_string()}</p> })}
        </section>
    }
}

/// What the campaign runs with, and (for managers, while it is not over)
/// the form to change it.
#[component]
fn Settings(
    current: Memo<Campaign>,
    org_id: Uuid,
    can_manage: bool,
    edit: ServerAction<EditCampaign>,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let editing = RwSignal::new(false);
    let agents = Resource::new(|| (), move |_| crate::features::calls::api::voice_agents(org_id));
    let scripts = Resource::new(|| (), move |_| crate::features::copilot::api::list_scripts(org_id));
    let trunks = Resource::new(|| (), move |_| crate::features::telephony::api::list_trunks(org_id));
    let agent = move || {
        let id = current.with(|c| c.settings.agent_id);
        agents
            .get()
            .and_then(|r| r.ok())
            .and_then(|l| l.into_iter().find(|(a, _)| *a == id))
            .map(|(_, n)| n)
            .unwrap_or_default()
    };
    let script = move || match current.with(|c| c.settings.script_id) {
        None => t_string!(i18n, campaigns.no_script).to_string(),
        Some(id) => match scripts.get().and_then(|r| r.ok()) {
            // Not read yet.
            None => "…".to_string(),
            Some(list) => list
                .into_iter()
                .find(|s| s.id == id)
                .map(|s| format!("{} (v{})", s.name, s.version))
                .unwrap_or_else(|| t_string!(i18n, campaigns.script_archived).to_string()),
        },
    };
    let line = move || {
        let (trunk, number) = current.with(|c| (c.settings.trunk_id, c.settings.from_number.clone()));
        match trunk {
            None => t_string!(i18n, campaigns.default_line).to_string(),
            Some(t) => {
                let name = trunks
                    .get()
                    .and_then(|r| r.ok())
                    .and_then(|l| l.into_iter().find(|x| x.id == t))
                    .map(|x| x.name)
                    .unwrap_or_default();
                match number {
                    Some(n) => format!("{name} · {n}"),
                    None => t_string!(i18n, campaigns.trunk_any, trunk = name).to_string(),
                }
            }
        }
    };
    let hours = move || {
        current.with(|c| {
            DAYS.iter()
                .map(|(_, d)| {
                    let spans = c.settings.windows.day(*d);
                    let text = if spans.is_empty() {
                        t_string!(i18n, campaigns.closed).to_string()
                    } else {
                        super::form::spans_text(spans)
                    };
                    format!("{} {text}", day_label(i18n, *d))
                })
                .collect::<Vec<_>>()
                .join(" · ")
        })
    };
    let zone = move || match current.with(|c| c.settings.zone.clone()) {
        domain::campaign::CampaignZone::Prospect => t_string!(i18n, campaigns.prospect_clock).to_string(),
        domain::campaign::CampaignZone::Fixed { zone } => zone,
    };
    let dates = move || {
        let (s, e) = current.with(|c| (c.settings.starts_at, c.settings.ends_at));
        let d = |d: Option<chrono::DateTime<chrono::Utc>>| {
            d.map(|d| crate::format::date(locale.get(), d)).unwrap_or_else(|| "—".into())
        };
        format!("{} → {}", d(s), d(e))
    };
    let retries = move || {
        current.with(|c| {
            let r = &c.settings.retry;
            [
                (domain::campaign::AttemptResult::NoAnswer, r.no_answer),
                (domain::campaign::AttemptResult::Busy, r.busy),
                (domain::campaign::AttemptResult::Voicemail, r.voicemail),
                (domain::campaign::AttemptResult::Failed, r.failed),
            ]
            .into_iter()
            .map(|(k, rule)| {
                t_string!(
                    i18n,
                    campaigns.retry_rule,
                    result = result_label(i18n, k),
                    n = rule.max_attempts,
                    minutes = rule.delay_minutes
                )
                .to_string()
            })
            .collect::<Vec<_>>()
            .join(" · ")
        })
    };
    let row = move |key: &'static str, label: Signal<String>, value: Signal<String>| {
        view! {
            <div class="grid gap-1 sm:grid-cols-4">
                <dt class="text-slate-500">{move || label.get()}</dt>
                <dd class="sm:col-span-3" data-testid=format!("campaign-setting-{key}")>{move || value.get()}</dd>
            </div>
        }
    };
    let editable = move || can_manage && current.with(|c| c.status.editable());
    view! {
        <Card>
            <div class="mb-3 flex items-center justify-between gap-2">
                <h2 class="font-semibold">{t!(i18n, campaigns.settings)}</h2>
                <Show when=move || editable() && !editing.get()>
                    <Button variant=ButtonVariant::Secondary attr:data-testid="campaign-edit" on:click=move |_| editing.set(true)>{t!(i18n, campaigns.edit)}</Button>
                </Show>
            </div>
            <Show when=move || !editing.get()
                fallback=move || {
                    let c = current.get_untracked();
                    let server_error = Signal::derive(move || edit.value().get().and_then(|r| r.err()).map(|e| describe(i18n, &e)));
                    view! {
                        <CampaignForm org_id initial=c.settings.clone()
                            on_save=Callback::new(move |settings| {
                                let version = current.get_untracked().version;
                                edit.dispatch(EditCampaign { org_id, campaign_id: c.id, edit: domain::campaign::views::CampaignEdit { settings, version } });
                            })
                            busy=edit.pending() server_error
                            save_label=Signal::derive(move || t_string!(i18n, campaigns.save).to_string())
                            save_id="campaign-save"
                            on_cancel=Callback::new(move |_| editing.set(false))/>
                    }
                }>
                <dl class="space-y-2 text-sm">
                    {row("agent", Signal::derive(move || t_string!(i18n, campaigns.f_agent).to_string()), Signal::derive(agent))}
                    {row("script", Signal::derive(move || t_string!(i18n, campaigns.f_script).to_string()), Signal::derive(script))}
                    {row("line", Signal::derive(move || t_string!(i18n, campaigns.f_line).to_string()), Signal::derive(line))}
                    {row("hours", Signal::derive(move || t_string!(i18n, campaigns.f_hours).to_string()), Signal::derive(hours))}
                    {row("zone", Signal::derive(move || t_string!(i18n, campaigns.f_zone).to_string()), Signal::derive(zone))}
                    {row("dates", Signal::derive(move || format!("{} → {}", t_string!(i18n, campaigns.f_starts), t_string!(i18n, campaigns.f_ends))), Signal::derive(dates))}
                    {row("concurrency", Signal::derive(move || t_string!(i18n, campaigns.f_concurrency).to_string()), Signal::derive(move || current.with(|c| c.settings.concurrency.to_string())))}
                    {row("retries", Signal::derive(move || t_string!(i18n, campaigns.f_retries).to_string()), Signal::derive(retries))}
                </dl>
            </Show>
        </Card>
    }
}

#[component]
fn AddProspectsCard(
    org_id: Uuid,
    campaign_id: Uuid,
    add: ServerAction<AddCampaignProspects>,
) -> impl IntoView {
    let i18n = use_i18n();
    let views = Resource::new(|| (), move |_| crate::features::prospects::api::list_views(org_id));
    // Finished CSV imports: their rows (and the custom fields they filled,
    // which the agent reads as `{{call.<name>}}`) join in one go.
    let imports = Resource::new(|| (), move |_| crate::features::prospects::api::import_jobs(org_id));
    let view_id = RwSignal::new(String::new());
    let import_id = RwSignal::new(String::new());
    let search = RwSignal::new(String::new());
    let send = move |source: ProspectSource| {
        add.dispatch(AddCampaignProspects {
            org_id,
            campaign_id,
            add: AddProspects { source, variables: Default::default() },
        });
    };
    let report = move || add.value().get().and_then(|r| r.ok());
    view! {
        <Card>
            <h2 class="font-semibold">{t!(i18n, campaigns.add_title)}</h2>
            <div class="mt-3 grid gap-3 sm:grid-cols-2">
                <div class="flex items-end gap-2">
                    <label class="flex-1 text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, campaigns.from_view)}</span>
                        <select class=CONTROL data-testid="add-view" on:change=move |ev| view_id.set(event_target_value(&ev))>
                            <option value="">{t!(i18n, campaigns.choose)}</option>
                            <Suspense fallback=|| ()>
                                {move || views.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|v| view! {
                                    <option value=v.id.to_string()>{v.name}</option>
                                }).collect_view()}
                            </Suspense>
                        </select>
                    </label>
                    <Button busy=add.pending() attr:data-testid="add-view-submit" on:click=move |_| {
                        if let Ok(id) = view_id.get_untracked().parse() { send(ProspectSource::View { view_id: id }); }
                    }>{t!(i18n, campaigns.add)}</Button>
                </div>
                <div class="flex items-end gap-2">
                    <label class="flex-1 text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, campaigns.from_search)}</span>
                        <input class=CONTROL data-testid="add-search" prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/>
                    </label>
                    <Button variant=ButtonVariant::Secondary busy=add.pending() attr:data-testid="add-search-submit" on:click=move |_| {
                        let filter = ProspectFilter { search: search.get_untracked(), ..Default::default() };
                        send(ProspectSource::Filter { filter });
                    }>{t!(i18n, campaigns.add)}</Button>
                </div>
            </div>
            <div class="mt-3 flex flex-wrap items-end gap-2">
                <label class="min-w-64 flex-1 text-sm">
                    <span class="mb-1 block text-slate-500">{t!(i18n, campaigns.from_import)}</span>
                    <select class=CONTROL data-testid="add-import" on:change=move |ev| import_id.set(event_target_value(&ev))>
                        <option value="">{t!(i18n, campaigns.choose)}</option>
                        <Suspense fallback=|| ()>
                            {move || imports.get().and_then(|r| r.ok()).unwrap_or_default().into_iter()
                                .filter(|j| j.state == domain::prospect_import::JobState::Succeeded)
                                .map(|j| {
                                    let rows = j.created + j.updated;
                                    view! { <option value=j.id.to_string()>{move || t_string!(i18n, campaigns.import_option, file = j.file_name.clone(), n = rows).to_string()}</option> }
                                }).collect_view()}
                        </Suspense>
                    </select>
                </label>
                <Button variant=ButtonVariant::Secondary busy=add.pending() attr:data-testid="add-import-submit" on:click=move |_| {
                    if let Ok(id) = import_id.get_untracked().parse() { send(ProspectSource::Import { import_id: id }); }
                }>{t!(i18n, campaigns.add)}</Button>
                <leptos_router::components::A href="/app/prospects/import" attr:class="py-2 text-sm text-indigo-700 hover:underline dark:text-indigo-300" attr:data-testid="add-import-new">
                    {t!(i18n, campaigns.import_csv)}
                </leptos_router::components::A>
            </div>
            <FormError message=Signal::derive(move || add.value().get().and_then(|r| r.err()).map(|e| describe(i18n, &e)))/>
            {move || report().map(|r| view! { <Report r/> })}
        </Card>
    }
}

#[component]
fn Report(r: AddReport) -> impl IntoView {
    let i18n = use_i18n();
    let skipped: u64 = r.skipped_by_reason.values().sum();
    view! {
        <div class="mt-3 space-y-1 text-sm" data-testid="add-report" role="status">
            <p data-testid="add-report-added">{t_string!(i18n, campaigns.added, n = r.added, skipped = skipped).to_string()}</p>
            <ul class="list-disc pl-5 text-slate-600 dark:text-slate-300">
                {r.skipped_by_reason.iter().map(|(k, v)| view! { <li>{format!("{} — {v}", not_added_label(i18n, k))}</li> }).collect_view()}
            </ul>
            {(!r.skipped.is_empty()).then(|| view! {
                <details>
                    <summary class="cursor-pointer">{t!(i18n, campaigns.who_was_left_out)}</summary>
                    <ul class="pl-5">
                        {r.skipped.into_iter().map(|s| view! { <li>{format!("{} — {}", s.name, not_added_label(i18n, s.why.key()))}</li> }).collect_view()}
                    </ul>
                </details>
            })}
        </div>
    }
}

#[component]
fn Members(org_id: Uuid, campaign_id: Uuid, changed: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let page = Resource::new(
        move || changed.get(),
        move |_| super::api::campaign_prospects(org_id, campaign_id, None, None),
    );
    view! {
        <section class="space-y-2">
            <h2 class="font-semibold">{t!(i18n, campaigns.prospects)}</h2>
            <Transition fallback=|| view! { <Skeleton lines=4/> }>
                {move || page.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(p) => view! {
                        <div class="overflow-x-auto rounded-lg ring-1 ring-slate-200 dark:ring-slate-700">
                            <table class="min-w-full text-sm" data-testid="campaign-prospects">
                                <thead class="bg-slate-50 dark:bg-slate-800"><tr>
                                    <th scope="col" class="px-3 py-2 text-left font-semibold">{t!(i18n, campaigns.col_name)}</th>
                                    <th scope="col" class="px-3 py-2 text-left font-semibold">{t!(i18n, campaigns.col_state)}</th>
                                    <th scope="col" class="px-3 py-2 text-right font-semibold">{t!(i18n, campaigns.attempts)}</th>
                                    <th scope="col" class="px-3 py-2 text-left font-semibold">{t!(i18n, campaigns.col_last)}</th>
                                    <th scope="col" class="px-3 py-2 text-left font-semibold">{t!(i18n, campaigns.col_next)}</th>
                                </tr></thead>
                                <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                                    {p.items.into_iter().map(|m| {
                                        let next = m.next_attempt_at;
                                        view! {
                                            <tr data-testid="campaign-prospect-row">
                                                <td class="px-3 py-2"><A href=format!("/app/prospects/{}", m.prospect_id) attr:class="hover:underline">{m.name}</A></td>
                                                <td class="px-3 py-2">{state_label(i18n, &m.state)}{m.skip_reason.map(|r| format!(" ({r})"))}</td>
                                                <td class="px-3 py-2 text-right tabular-nums">{m.attempts}</td>
                                                <td class="px-3 py-2">{
                                                    let result = m.last_result.map(|r| result_label(i18n, r));
                                                    match m.last_call_id {
                                                        // The attempt's call: its transcript, analysis and script.
                                                        Some(call) => view! {
                                                            <A href=format!("/app/calls/{call}") attr:class="text-indigo-700 hover:underline dark:text-indigo-300" attr:data-testid="member-call">
                                                                {result.unwrap_or_else(|| t_string!(i18n, campaigns.open_call).to_string())}
                                                            </A>
                                                        }.into_any(),
                                                        None => view! { {result} }.into_any(),
                                                    }
                                                }</td>
                                                <td class="px-3 py-2 whitespace-nowrap">{move || next.map(|n| crate::format::datetime(locale.get(), n))}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <p class="text-sm text-slate-500">{t_string!(i18n, campaigns.total, n = p.total).to_string()}</p>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
