//! Prospect settings: calling hours and default phone region (what
//! `may_call` and phone parsing use), the do-not-call list, and the
//! organisation's custom fields.

use domain::compliance::{hhmm, parse_hhmm};
use domain::data_schema::FieldKind;
use domain::prospect::{ComplianceSettings, CustomFieldDef};
use domain::Permission;
use leptos::prelude::*;
use uuid::Uuid;

use super::api::{AddDnc, CreateCustomField, DeleteCustomField, RemoveDnc, SetCompliance};
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{toast_result, Button, ButtonVariant, Card, FormError, Skeleton};

const INPUT: &str = "rounded-md border-0 bg-white px-2 py-1.5 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600";

#[component]
pub fn ProspectSettingsPage() -> impl IntoView {
    let i18n = use_i18n();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let is_admin = org.role.allows(Permission::ManageSettings);
    let can_lift = org.role.allows(Permission::LiftCallRestrictions);
    view! {
        <div class="space-y-6">
            <h1 class="text-2xl font-bold">{t!(i18n, prospects.settings_title)}</h1>
            <CallingHours org_id is_admin/>
            <DncList org_id can_lift/>
            <CustomFields org_id is_admin/>
        </div>
    }
    .into_any()
}

#[component]
fn CallingHours(org_id: Uuid, is_admin: bool) -> impl IntoView {
    let i18n = use_i18n();
    let save = ServerAction::<SetCompliance>::new();
    toast_result(save, move || Some(t_string!(i18n, common.saved).to_string()));
    let current = Resource::new(move || save.version().get(), move |_| super::api::get_compliance(org_id));
    let start = RwSignal::new(String::new());
    let end = RwSignal::new(String::new());
    let region = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(s)) = current.get() {
            start.set(hhmm(s.window_start_minute));
            end.set(hhmm(s.window_end_minute));
            region.set(s.default_region.unwrap_or_default());
        }
    });
    let local_error = RwSignal::new(None::<String>);
    let error = Signal::derive(move || {
        local_error.get().or_else(|| save.value().get().and_then(|r| r.err()).map(|e| describe(i18n, &e)))
    });
    view! {
        <Card>
            <h2 class="mb-1 font-semibold">{t!(i18n, prospects.calling_hours)}</h2>
            <p class="mb-3 text-sm text-slate-500">{t!(i18n, prospects.calling_hours_hint)}</p>
            <form class="flex flex-wrap items-end gap-3 text-sm" data-testid="calling-hours" on:submit=move |ev| {
                ev.prevent_default();
                match (parse_hhmm(&start.get_untracked()), parse_hhmm(&end.get_untracked())) {
                    (Some(a), Some(b)) => {
                        local_error.set(None);
                        let r = region.get_untracked();
                        save.dispatch(SetCompliance { org_id, settings: ComplianceSettings {
                            window_start_minute: a, window_end_minute: b,
                            default_region: (!r.trim().is_empty()).then_some(r),
                        }});
                    }
                    _ => local_error.set(Some(crate::i18n::error_message(i18n, domain::ErrorCode::OutOfRange))),
                }
            }>
                <label><span class="mb-1 block text-slate-500">{t!(i18n, prospects.window_start)}</span>
                    <input type="time" class=INPUT data-testid="window-start" disabled=!is_admin prop:value=move || start.get() on:input=move |ev| start.set(event_target_value(&ev))/></label>
                <label><span class="mb-1 block text-slate-500">{t!(i18n, prospects.window_end)}</span>
                    <input type="time" class=INPUT data-testid="window-end" disabled=!is_admin prop:value=move || end.get() on:input=move |ev| end.set(event_target_value(&ev))/></label>
                <label><span class="mb-1 block text-slate-500">{t!(i18n, prospects.default_region)}</span>
                    <input class=format!("{INPUT} w-20 uppercase") maxlength="2" data-testid="settings-region" disabled=!is_admin prop:value=move || region.get() on:input=move |ev| region.set(event_target_value(&ev))/></label>
                {is_admin.then(|| view! { <Button submit=true busy=save.pending() attr:data-testid="save-hours">{t!(i18n, common.save)}</Button> })}
            </form>
            <FormError message=error/>
        </Card>
    }
}

#[component]
fn DncList(org_id: Uuid, can_lift: bool) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let add = ServerAction::<AddDnc>::new();
    let remove = ServerAction::<RemoveDnc>::new();
    toast_result(add, move || None);
    toast_result(remove, move || None);
    let search = RwSignal::new(String::new());
    // Bumped after a list import.
    let reload = RwSignal::new(0u32);
    let list = Resource::new(
        move || (search.get(), add.version().get(), remove.version().get(), reload.get()),
        move |(s, _, _, _)| super::api::list_dnc(org_id, s),
    );
    let phone = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            phone.set(String::new());
            reason.set(String::new());
        }
    });
    let error = Signal::derive(move || add.value().get().and_then(|r| r.err()).map(|e| describe(i18n, &e)));
    // Importing a list (one number per line) goes through the REST upload.
    let imported = RwSignal::new(None::<Result<domain::prospect::DncImportResult, crate::AppError>>);
    let importing = RwSignal::new(false);
    let on_file = move |ev: leptos::ev::Event| {
        let _ = &ev;
        #[cfg(feature = "hydrate")]
        {
            let Some(file) = super::upload::chosen_file(&ev, true) else { return };
            importing.set(true);
            imported.set(None);
            leptos::task::spawn_local(async move {
                imported.set(Some(super::upload::upload_dnc(org_id, file).await));
                importing.set(false);
                reload.update(|n| *n += 1);
            });
        }
    };
    let import_report = move || {
        imported.get().map(|r| match r {
            Ok(r) => {
                let lines = r.invalid_lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ");
                view! {
                    <p class="mb-2 text-sm" data-testid="dnc-import-result">
                        {move || t_string!(i18n, prospects.dnc_import_result, added = r.added, listed = r.already_listed, invalid = r.invalid).to_string()}
                        {(!lines.is_empty()).then(|| format!(" ({lines})"))}
                    </p>
                }.into_any()
            }
            Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
        })
    };
    view! {
        <Card>
            <h2 class="mb-1 font-semibold">{t!(i18n, prospects.dnc_title)}</h2>
            <p class="mb-3 text-sm text-slate-500">{t!(i18n, prospects.dnc_hint)}</p>
            <form class="mb-3 flex flex-wrap gap-2" data-testid="dnc-form" on:submit=move |ev| {
                ev.prevent_default();
                add.dispatch(AddDnc { org_id, phone: phone.get_untracked(), reason: reason.get_untracked() });
            }>
                <input class=INPUT data-testid="dnc-phone" type="tel" required placeholder=move || t_string!(i18n, prospects.col_phone).to_string()
                    aria-label=move || t_string!(i18n, prospects.col_phone).to_string() prop:value=move || phone.get() on:input=move |ev| phone.set(event_target_value(&ev))/>
                <input class=format!("{INPUT} flex-1") data-testid="dnc-reason" placeholder=move || t_string!(i18n, prospects.dnc_reason).to_string()
                    aria-label=move || t_string!(i18n, prospects.dnc_reason).to_string() prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
                <Button submit=true attr:data-testid="dnc-add">{t!(i18n, prospects.dnc_add)}</Button>
            </form>
            <FormError message=error/>
            <label class="mb-3 flex flex-wrap items-center gap-2 text-sm">
                <span class="text-slate-500">{t!(i18n, prospects.dnc_import)}</span>
                <input type="file" accept=".csv,.txt,text/csv,text/plain" data-testid="dnc-import" disabled=move || importing.get() on:change=on_file/>
            </label>
            {import_report}
            <input type="search" class=format!("{INPUT} mb-2 w-full") placeholder=move || t_string!(i18n, prospects.search).to_string()
                aria-label=move || t_string!(i18n, prospects.search).to_string() prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/>
            <Transition fallback=|| view! { <Skeleton lines=3/> }>
                {move || list.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok((entries, total)) => view! {
                        <p class="mb-2 text-xs text-slate-500" data-testid="dnc-total">{move || t_string!(i18n, prospects.dnc_total, count = total).to_string()}</p>
                        <ul class="divide-y divide-slate-100 text-sm dark:divide-slate-800" data-testid="dnc-list">
                            {entries.into_iter().map(|e| {
                                let p = e.phone.clone();
                                let at = e.created_at;
                                view! {
                                    <li class="flex items-center justify-between gap-2 py-1.5" data-testid=format!("dnc-{}", e.phone)>
                                        <span class="font-mono">{e.phone.clone()}</span>
                                        <span class="flex-1 truncate text-slate-500">{
                                            let reason = e.reason.clone();
                                            move || match reason.as_str() {
                                                domain::prospect::DNC_REASON_OPT_OUT => t_string!(i18n, prospects.dnc_reason_opt_out).to_string(),
                                                domain::prospect::DNC_REASON_DELETED_DNC => t_string!(i18n, prospects.dnc_reason_deleted).to_string(),
                                                typed => typed.to_string(),
                                            }
                                        }</span>
                                        <span class="text-xs text-slate-400">{move || crate::format::date(locale.get(), at)}</span>
                                        {can_lift.then(|| view! {
                                            <Button variant=ButtonVariant::DangerGhost on:click=move |_| { remove.dispatch(RemoveDnc { org_id, phone: p.clone() }); }>{t!(i18n, prospects.dnc_remove)}</Button>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Transition>
        </Card>
    }
}

#[component]
fn CustomFields(org_id: Uuid, is_admin: bool) -> impl IntoView {
    let i18n = use_i18n();
    let create = ServerAction::<CreateCustomField>::new();
    let delete = ServerAction::<DeleteCustomField>::new();
    toast_result(delete, move || None);
    let list = Resource::new(
        move || (create.version().get(), delete.version().get()),
        move |_| super::api::list_custom_fields(org_id),
    );
    let label = RwSignal::new(String::new());
    let kind = RwSignal::new("string".to_string());
    let options = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            label.set(String::new());
            options.set(String::new());
        }
    });
    let error =
        Signal::derive(move || create.value().get().and_then(|r| r.err()).map(|e| describe(i18n, &e)));
    view! {
        <Card>
            <h2 class="mb-3 font-semibold">{t!(i18n, prospects.custom_fields)}</h2>
            <Transition fallback=|| view! { <Skeleton lines=2/> }>
                {move || list.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(fields) => view! {
                        <ul class="mb-3 divide-y divide-slate-100 text-sm dark:divide-slate-800" data-testid="custom-fields">
                            {fields.into_iter().map(|f| {
                                let field_id = f.id;
                                view! {
                                    <li class="flex items-center justify-between py-1.5">
                                        <span><span class="font-medium">{f.def.label.clone()}</span>
                                            <span class="ml-2 font-mono text-xs text-slate-500">{format!("{} · {}", f.def.key, f.def.kind.type_name())}</span></span>
                                        {is_admin.then(|| view! {
                                            <Button variant=ButtonVariant::DangerGhost on:click=move |_| { delete.dispatch(DeleteCustomField { org_id, field_id }); }>{t!(i18n, prospects.delete_field)}</Button>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Transition>
            {is_admin.then(|| view! {
                <form class="flex flex-wrap items-end gap-2 text-sm" data-testid="custom-field-form" on:submit=move |ev| {
                    ev.prevent_default();
                    let l = label.get_untracked();
                    let k = match kind.get_untracked().as_str() {
                        "number" => FieldKind::Number,
                        "boolean" => FieldKind::Boolean,
                        "date" => FieldKind::Date,
                        "enum" => FieldKind::Enum { options: options.get_untracked().split(',').map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect() },
                        _ => FieldKind::String,
                    };
                    create.dispatch(CreateCustomField { org_id, def: CustomFieldDef { key: domain::prospect::key_from_label(&l), label: l, kind: k } });
                }>
                    <input class=INPUT data-testid="field-label" required placeholder=move || t_string!(i18n, prospects.field_label).to_string()
                        aria-label=move || t_string!(i18n, prospects.field_label).to_string() prop:value=move || label.get() on:input=move |ev| label.set(event_target_value(&ev))/>
                    <select class=INPUT data-testid="field-kind" aria-label=move || t_string!(i18n, prospects.field_type).to_string() on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="string">{t!(i18n, prospects.type_string)}</option>
                        <option value="number">{t!(i18n, prospects.type_number)}</option>
                        <option value="boolean">{t!(i18n, prospects.type_boolean)}</option>
                        <option value="date">{t!(i18n, prospects.type_date)}</option>
                        <option value="enum">{t!(i18n, prospects.type_enum)}</option>
                    </select>
                    <Show when=move || kind.get() == "enum">
                        <input class=INPUT data-testid="field-options" placeholder=move || t_string!(i18n, prospects.field_options).to_string()
                            aria-label=move || t_string!(i18n, prospects.field_options).to_string() prop:value=move || options.get() on:input=move |ev| options.set(event_target_value(&ev))/>
                    </Show>
                    <Button submit=true attr:data-testid="add-field">{t!(i18n, prospects.add_field)}</Button>
                </form>
                <FormError message=error/>
            })}
        </Card>
    }
}
