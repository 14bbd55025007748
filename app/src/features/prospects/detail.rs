//! One prospect: inline-editable fields, status, owner, tags, custom fields,
//! do-not-call and opt-out flags, notes, consent records, and the activity
//! timeline. Each edit saves one field (a patch) and lands in the timeline.

use std::collections::BTreeMap;

use domain::prospect::{ConsentInput, ConsentMethod, Prospect, ProspectPatch, ProspectStatus};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use super::api::{AddConsent, AddNote, UpdateProspect};
use super::labels::{activity_label, method_label, refusal_label, status_label};
use super::list::status_tone;
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{toast_result, Badge, Button, ButtonVariant, Card, FormError, Skeleton, Tone};

const INPUT: &str = "block w-full rounded-md border-0 bg-white px-2 py-1.5 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600";

#[component]
pub fn ProspectPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let prospect_id = move || params.read().get("id").and_then(|s| s.parse::<Uuid>().ok());

    let update = ServerAction::<UpdateProspect>::new();
    let add_note = ServerAction::<AddNote>::new();
    let add_consent = ServerAction::<AddConsent>::new();
    toast_result(update, move || Some(t_string!(i18n, common.saved).to_string()));
    toast_result(add_note, move || None);
    toast_result(add_consent, move || None);

    let can_lift = org.role.allows(domain::Permission::LiftCallRestrictions);
    // A consent withdrawal changes the prospect (it opts out); a note does not.
    let prospect = Resource::new(
        move || (prospect_id(), update.version().get(), add_consent.version().get()),
        move |(id, _, _)| async move {
            match id {
                Some(id) => super::api::get_prospect(org_id, id).await,
                None => Err(crate::AppError::new(domain::ErrorCode::NotFound)),
            }
        },
    );
    let fields = Resource::new(|| (), move |_| super::api::list_custom_fields(org_id));
    let owners = Resource::new(|| (), move |_| super::api::list_owners(org_id));
    let notes = Resource::new(
        move || (prospect_id(), add_note.version().get()),
        move |(id, _)| async move {
            match id {
                Some(id) => super::api::list_notes(org_id, id).await,
                None => Ok(vec![]),
            }
        },
    );
    let changes = move || (update.version().get(), add_note.version().get(), add_consent.version().get());
    let activity = Resource::new(
        move || (prospect_id(), changes()),
        move |(id, _)| async move {
            match id {
                Some(id) => super::api::list_activity(org_id, id).await,
                None => Ok(vec![]),
            }
        },
    );
    let consents = Resource::new(
        move || (prospect_id(), add_consent.version().get()),
        move |(id, _)| async move {
            match id {
                Some(id) => super::api::list_consents(org_id, id).await,
                None => Ok(vec![]),
            }
        },
    );

    // Drafts live here, not in the panels: the panels are rebuilt when the
    // prospect reloads after a save, and what is being typed must survive it.
    let drafts = Drafts {
        note: RwSignal::new(String::new()),
        consent_source: RwSignal::new(String::new()),
        consent_method: RwSignal::new(ConsentMethod::Verbal.as_str().to_string()),
        consent_granted: RwSignal::new(true),
    };
    // A saved note or consent empties its form (once, here: the panels come and go).
    Effect::new(move |_| {
        if let Some(Ok(_)) = add_note.value().get() {
            drafts.note.set(String::new());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = add_consent.value().get() {
            drafts.consent_source.set(String::new());
        }
    });
    let patch = move |p: ProspectPatch| {
        if let Some(prospect_id) = prospect_id() {
            update.dispatch(UpdateProspect { org_id, prospect_id, patch: p });
        }
    };

    view! {
        <div class="space-y-6">
            <A href="/app/prospects" attr:class="text-sm text-indigo-700 hover:underline dark:text-indigo-300">{move || format!("← {}", t_string!(i18n, prospects.title))}</A>
            <Transition fallback=|| view! { <Skeleton lines=8/> }>
                {move || prospect.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(p) => view! {
                        <Header p=p.clone() patch=Callback::new(patch) owners=owners.get().and_then(|r| r.ok()).unwrap_or_default()/>
                        <div class="grid gap-6 lg:grid-cols-[2fr_3fr]">
                            <div class="space-y-6">
                                <Details p=p.clone() patch=Callback::new(patch) can_lift fields=fields.get().and_then(|r| r.ok()).unwrap_or_default()/>
                                <ConsentPanel org_id prospect_id=p.row.id add_consent drafts consents=consents.get().and_then(|r| r.ok()).unwrap_or_default()/>
                            </div>
                            <div class="space-y-6">
                                <NotesPanel org_id prospect_id=p.row.id add_note draft=drafts.note notes=notes.get().and_then(|r| r.ok()).unwrap_or_default()/>
                                <Card>
                                    <h2 class="mb-3 font-semibold">{t!(i18n, prospects.call_history)}</h2>
                                    <crate::features::calls::prospect_calls::ProspectCalls org_id prospect_id=p.row.id/>
                                </Card>
                                <ActivityPanel items=activity.get().and_then(|r| r.ok()).unwrap_or_default()/>
                            </div>
                        </div>
                    }.into_any(),
                })}
            </Transition>
        </div>
    }
    .into_any()
}

/// What the user is typing in the notes and consent forms.
#[derive(Clone, Copy)]
struct Drafts {
    note: RwSignal<String>,
    consent_source: RwSignal<String>,
    consent_method: RwSignal<String>,
    consent_granted: RwSignal<bool>,
}

#[component]
fn Header(p: Prospect, patch: Callback<ProspectPatch>, owners: Vec<(Uuid, String)>) -> impl IntoView {
    let i18n = use_i18n();
    let name = p.row.display_name();
    let status = p.row.status;
    let owner = p.row.owner_id.map(|o| o.to_string()).unwrap_or_default();
    let block = p.call_block.clone();
    view! {
        <div class="flex flex-wrap items-start justify-between gap-4">
            <div>
                <h1 class="text-2xl font-bold" data-testid="prospect-name">{name}</h1>
                <p class="text-sm text-slate-500">{format!("{} {}", p.row.title, if p.row.company.is_empty() { String::new() } else { format!("· {}", p.row.company) })}</p>
                <div class="mt-2 flex flex-wrap gap-2" data-testid="call-status">
                    {match block {
                        None => view! { <Badge tone=Tone::Success>{t!(i18n, prospects.call_allowed)}</Badge> }.into_any(),
                        Some(reason) => view! { <Badge tone=Tone::Danger>{move || refusal_label(i18n, &reason)}</Badge> }.into_any(),
                    }}
                </div>
            </div>
            <div class="flex flex-wrap items-center gap-3">
                {use_current_org().map(|org| {
                    let blocked = p.call_block.is_some() || p.row.phone.is_none();
                    view! { <crate::features::calls::place::CallWithAgent org_id=org.id prospect_id=p.row.id blocked/> }
                })}
                <label class="text-sm">
                    <span class="mr-2 text-slate-500">{t!(i18n, prospects.col_status)}</span>
                    <select class=INPUT.replace("block w-full", "inline-block") data-testid="prospect-status"
                        on:change=move |ev| if let Some(s) = ProspectStatus::parse(&event_target_value(&ev)) { patch.run(ProspectPatch { status: Some(s), ..Default::default() }) }>
                        {ProspectStatus::ALL.into_iter().map(|s| view! {
                            <option value=s.as_str() selected=s == status>{move || status_label(i18n, s)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <Badge tone=status_tone(status)>{move || status_label(i18n, status)}</Badge>
                <label class="text-sm">
                    <span class="mr-2 text-slate-500">{t!(i18n, prospects.col_owner)}</span>
                    <select class=INPUT.replace("block w-full", "inline-block") data-testid="prospect-owner"
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            patch.run(ProspectPatch { owner_id: Some(v.parse().ok()), ..Default::default() })
                        }>
                        <option value="" selected=owner.is_empty()>{t!(i18n, prospects.unassigned)}</option>
                        {owners.into_iter().map(|(id, n)| {
                            let sel = owner == id.to_string();
                            view! { <option value=id.to_string() selected=sel>{n}</option> }
                        }).collect_view()}
                    </select>
                </label>
            </div>
        </div>
    }
}

/// A field shown as text; click to edit, Enter or leaving the field saves.
#[component]
fn EditableField(
    #[prop(into)] label: Signal<String>,
    value: String,
    testid: &'static str,
    on_save: Callback<String>,
) -> impl IntoView {
    let editing = RwSignal::new(false);
    let draft = RwSignal::new(value.clone());
    let shown = value.clone();
    let original = StoredValue::new(value);
    let commit = move || {
        if !editing.get_untracked() {
            return;
        }
        editing.set(false);
        if draft.get_untracked() != original.get_value() {
            on_save.run(draft.get_untracked());
        }
    };
    view! {
        <div class="grid grid-cols-[8rem_1fr] items-center gap-2 py-1 text-sm">
            <span class="text-slate-500">{move || label.get()}</span>
            {move || if editing.get() {
                view! {
                    <input class=INPUT data-testid=format!("edit-{testid}") aria-label=move || label.get() autofocus=true
                        prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))
                        on:keydown=move |ev| match ev.key().as_str() {
                            "Enter" => { ev.prevent_default(); commit(); }
                            "Escape" => editing.set(false),
                            _ => {}
                        }
                        on:blur=move |_| commit()/>
                }.into_any()
            } else {
                let shown = shown.clone();
                view! {
                    <button type="button" data-testid=format!("field-{testid}") class="min-h-[1.75rem] rounded px-2 py-1 text-left hover:bg-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 dark:hover:bg-slate-800"
                        on:click=move |_| editing.set(true)>
                        {if shown.is_empty() { "—".to_string() } else { shown }}
                    </button>
                }.into_any()
            }}
        </div>
    }
}

#[component]
fn Details(
    p: Prospect,
    patch: Callback<ProspectPatch>,
    /// May clear the do-not-call and opt-out flags (admins).
    can_lift: bool,
    fields: Vec<domain::prospect::CustomField>,
) -> impl IntoView {
    let i18n = use_i18n();
    let r = p.row.clone();
    let text = move |label: Signal<String>,
                     value: String,
                     testid: &'static str,
                     make: fn(String) -> ProspectPatch| {
        view! { <EditableField label value testid on_save=Callback::new(move |v| patch.run(make(v)))/> }
    };
    let tag_draft = RwSignal::new(String::new());
    let tags = r.tags.clone();
    let tags_for_add = tags.clone();
    let custom = p.custom.clone();
    view! {
        <Card>
            <h2 class="mb-2 font-semibold">{t!(i18n, prospects.details)}</h2>
            {text(Signal::derive(move || t_string!(i18n, prospects.first_name).to_string()), r.first_name.clone(), "first_name", |v| ProspectPatch { first_name: Some(v), ..Default::default() })}
            {text(Signal::derive(move || t_string!(i18n, prospects.last_name).to_string()), r.last_name.clone(), "last_name", |v| ProspectPatch { last_name: Some(v), ..Default::default() })}
            {text(Signal::derive(move || t_string!(i18n, prospects.col_company).to_string()), r.company.clone(), "company", |v| ProspectPatch { company: Some(v), ..Default::default() })}
            {text(Signal::derive(move || t_string!(i18n, prospects.col_title).to_string()), r.title.clone(), "title", |v| ProspectPatch { title: Some(v), ..Default::default() })}
            {text(Signal::derive(move || t_string!(i18n, prospects.col_phone).to_string()), r.phone.clone().unwrap_or_default(), "phone", |v| ProspectPatch { phone: Some(v), ..Default::default() })}
            {text(Signal::derive(move || t_string!(i18n, prospects.col_email).to_string()), r.email.clone().unwrap_or_default(), "email", |v| ProspectPatch { email: Some(v), ..Default::default() })}
            {text(Signal::derive(move || t_string!(i18n, prospects.col_timezone).to_string()), r.timezone.clone(), "timezone", |v| ProspectPatch { timezone: Some(v), ..Default::default() })}
            <div class="grid grid-cols-[8rem_1fr] items-start gap-2 py-2 text-sm">
                <span class="text-slate-500">{t!(i18n, prospects.col_tags)}</span>
                <div class="flex flex-wrap items-center gap-1" data-testid="prospect-tags">
                    {tags.iter().map(|tag| {
                        let tag = tag.clone();
                        let rest: Vec<String> = tags.iter().filter(|t| **t != tag).cloned().collect();
                        view! {
                            <span class="inline-flex items-center gap-1 rounded bg-slate-100 px-2 py-0.5 text-xs dark:bg-slate-800" data-testid=format!("tag-{tag}")>
                                {tag.clone()}
                                <button type="button" class="text-slate-400 hover:text-red-600" aria-label=move || t_string!(i18n, prospects.remove_tag).to_string()
                                    on:click=move |_| patch.run(ProspectPatch { tags: Some(rest.clone()), ..Default::default() })>"✕"</button>
                            </span>
                        }
                    }).collect_view()}
                    <form class="inline" on:submit=move |ev| {
                        ev.prevent_default();
                        let mut all = tags_for_add.clone();
                        all.push(tag_draft.get_untracked());
                        tag_draft.set(String::new());
                        patch.run(ProspectPatch { tags: Some(all), ..Default::default() });
                    }>
                        <input data-testid="add-tag" class="w-28 rounded border-0 px-2 py-0.5 text-xs ring-1 ring-slate-300 dark:bg-slate-800"
                            placeholder=move || format!("+ {}", t_string!(i18n, prospects.tag)) aria-label=move || t_string!(i18n, prospects.add_tag).to_string()
                            prop:value=move || tag_draft.get() on:input=move |ev| tag_draft.set(event_target_value(&ev))/>
                    </form>
                </div>
            </div>
            {(!fields.is_empty()).then(|| view! { <h3 class="mt-3 text-xs font-semibold uppercase tracking-wide text-slate-500">{t!(i18n, prospects.custom_fields)}</h3> })}
            {fields.into_iter().map(|f| {
                let value = custom.get(&f.def.key).cloned();
                view! { <CustomFieldEditor def=f.def value patch/> }
            }).collect_view()}
            <div class="mt-3 flex flex-wrap gap-4 border-t border-slate-100 pt-3 text-sm dark:border-slate-800">
                <label class="flex items-center gap-2">
                    <input type="checkbox" data-testid="flag-dnc" prop:checked=r.do_not_call disabled=r.do_not_call && !can_lift
                        on:change=move |ev| patch.run(ProspectPatch { do_not_call: Some(event_target_checked(&ev)), ..Default::default() })/>
                    {t!(i18n, prospects.do_not_call)}
                </label>
                <label class="flex items-center gap-2">
                    <input type="checkbox" data-testid="flag-opted-out" prop:checked=r.opted_out disabled=r.opted_out && !can_lift
                        on:change=move |ev| patch.run(ProspectPatch { opted_out: Some(event_target_checked(&ev)), ..Default::default() })/>
                    {t!(i18n, prospects.opted_out)}
                </label>
                {((r.do_not_call || r.opted_out) && !can_lift).then(|| view! {
                    <p class="w-full text-xs text-slate-500" data-testid="lift-hint">{t!(i18n, prospects.lift_admin_only)}</p>
                })}
            </div>
        </Card>
    }
}

/// A custom value edited with the control its type calls for: a list for
/// yes/no and choice fields, a date picker for dates, text otherwise (numbers
/// are checked by the server, which accepts "1 200" and "3,5").
#[component]
fn CustomFieldEditor(
    def: domain::prospect::CustomFieldDef,
    value: Option<serde_json::Value>,
    patch: Callback<ProspectPatch>,
) -> impl IntoView {
    use domain::data_schema::FieldKind;
    use serde_json::Value;
    let i18n = use_i18n();
    let key = def.key.clone();
    let save = Callback::new(move |v: Value| {
        let mut m = BTreeMap::new();
        m.insert(key.clone(), v);
        patch.run(ProspectPatch { custom: Some(m), ..Default::default() })
    });
    let label = def.label.clone();
    let label_sig = Signal::derive(move || label.clone());
    let as_text = value
        .as_ref()
        .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
        .unwrap_or_default();
    let choice = |options: Vec<(String, Signal<String>)>, current: String| {
        view! {
            <label class="grid grid-cols-[8rem_1fr] items-center gap-2 py-1 text-sm">
                <span class="text-slate-500">{move || label_sig.get()}</span>
                <select class=INPUT data-testid=format!("custom-{}", def.key)
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        save.run(if v.is_empty() { Value::Null } else { Value::String(v) });
                    }>
                    <option value="" selected=current.is_empty()>"—"</option>
                    {options.into_iter().map(|(v, shown)| {
                        let selected = v == current;
                        view! { <option value=v selected=selected>{move || shown.get()}</option> }
                    }).collect_view()}
                </select>
            </label>
        }
        .into_any()
    };
    match def.kind.clone() {
        FieldKind::Boolean => {
            let current = match value {
                Some(Value::Bool(true)) => "true".to_string(),
                Some(Value::Bool(false)) => "false".to_string(),
                _ => String::new(),
            };
            choice(
                vec![
                    ("true".into(), Signal::derive(move || t_string!(i18n, prospects.yes).to_string())),
                    ("false".into(), Signal::derive(move || t_string!(i18n, prospects.no).to_string())),
                ],
                current,
            )
        }
        FieldKind::Enum { options } => {
            let options = options.into_iter().map(|o| (o.clone(), Signal::stored(o))).collect();
            choice(options, as_text)
        }
        FieldKind::Date => view! {
            <label class="grid grid-cols-[8rem_1fr] items-center gap-2 py-1 text-sm">
                <span class="text-slate-500">{move || label_sig.get()}</span>
                <input type="date" class=INPUT data-testid=format!("custom-{}", def.key) prop:value=as_text
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        save.run(if v.is_empty() { Value::Null } else { Value::String(v) });
                    }/>
            </label>
        }
        .into_any(),
        FieldKind::String | FieldKind::Number => view! {
            <EditableField label=label_sig value=as_text testid="custom"
                on_save=Callback::new(move |v: String| save.run(Value::String(v)))/>
        }
        .into_any(),
    }
}

#[component]
fn NotesPanel(
    org_id: Uuid,
    prospect_id: Uuid,
    add_note: ServerAction<AddNote>,
    draft: RwSignal<String>,
    notes: Vec<domain::prospect::Note>,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    view! {
        <Card>
            <h2 class="mb-3 font-semibold">{t!(i18n, prospects.notes)}</h2>
            <form class="mb-4 space-y-2" on:submit=move |ev| {
                ev.prevent_default();
                add_note.dispatch(AddNote { org_id, prospect_id, body: draft.get_untracked() });
            }>
                <label for="note-body" class="sr-only">{t!(i18n, prospects.add_note)}</label>
                <textarea id="note-body" data-testid="note-body" rows="3" class=INPUT placeholder=move || t_string!(i18n, prospects.note_placeholder).to_string()
                    prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))></textarea>
                <div class="flex justify-end">
                    <Button submit=true busy=add_note.pending() attr:data-testid="add-note">{t!(i18n, prospects.add_note)}</Button>
                </div>
            </form>
            {if notes.is_empty() {
                view! { <p class="text-sm text-slate-500">{t!(i18n, prospects.no_notes)}</p> }.into_any()
            } else {
                view! {
                    <ol class="space-y-3" data-testid="notes">
                        {notes.into_iter().map(|n| {
                            let at = n.created_at;
                            view! {
                                <li class="rounded-md bg-slate-50 p-3 text-sm dark:bg-slate-800">
                                    <p class="whitespace-pre-wrap">{n.body}</p>
                                    <p class="mt-1 text-xs text-slate-500">{move || format!("{} · {}", n.author_name.clone().unwrap_or_default(), crate::format::datetime(locale.get(), at))}</p>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </Card>
    }
}

#[component]
fn ActivityPanel(items: Vec<domain::prospect::Activity>) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    view! {
        <Card>
            <h2 class="mb-3 font-semibold">{t!(i18n, prospects.activity)}</h2>
            <ol class="space-y-2 border-l border-slate-200 pl-4 text-sm dark:border-slate-700" data-testid="activity">
                {items.into_iter().map(|a| {
                    let at = a.created_at;
                    let kind = a.kind.clone();
                    let data = a.data.clone();
                    let who = a.actor_name.clone().unwrap_or_default();
                    view! {
                        <li data-kind=a.kind.clone()>
                            <p>{move || activity_label(i18n, &kind, &data)}</p>
                            <p class="text-xs text-slate-500">{move || format!("{who} · {}", crate::format::datetime(locale.get(), at))}</p>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </Card>
    }
}

#[component]
fn ConsentPanel(
    org_id: Uuid,
    prospect_id: Uuid,
    add_consent: ServerAction<AddConsent>,
    drafts: Drafts,
    consents: Vec<domain::prospect::Consent>,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let Drafts { consent_source: source, consent_method: method, consent_granted: granted, .. } = drafts;
    let error =
        Signal::derive(move || add_consent.value().get().and_then(|r| r.err()).map(|e| describe(i18n, &e)));
    view! {
        <Card>
            <h2 class="mb-3 font-semibold">{t!(i18n, prospects.consent)}</h2>
            {if consents.is_empty() {
                view! { <p class="mb-3 text-sm text-slate-500">{t!(i18n, prospects.no_consent)}</p> }.into_any()
            } else {
                view! {
                    <ul class="mb-4 space-y-2 text-sm" data-testid="consents">
                        {consents.into_iter().map(|c| {
                            let at = c.captured_at;
                            let m = c.method;
                            view! {
                                <li class="rounded-md bg-slate-50 p-2 dark:bg-slate-800">
                                    <div class="flex items-center gap-2">
                                        <Badge tone=if c.granted { Tone::Success } else { Tone::Danger }>
                                            {move || if c.granted { t_string!(i18n, prospects.consent_granted).to_string() } else { t_string!(i18n, prospects.consent_withdrawn).to_string() }}
                                        </Badge>
                                        <span class="font-medium">{c.source.clone()}</span>
                                    </div>
                                    <p class="mt-1 text-xs text-slate-500">{move || format!("{} · {} · {}", method_label(i18n, m), crate::format::datetime(locale.get(), at), c.captured_by_name.clone().unwrap_or_default())}</p>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <form class="space-y-2 text-sm" data-testid="consent-form" on:submit=move |ev| {
                ev.prevent_default();
                let m = ConsentMethod::parse(&method.get_untracked()).unwrap_or(ConsentMethod::Other);
                add_consent.dispatch(AddConsent { org_id, prospect_id, input: ConsentInput { source: source.get_untracked(), method: m, captured_at: None, granted: Some(granted.get_untracked()) } });
            }>
                <input data-testid="consent-source" class=INPUT placeholder=move || t_string!(i18n, prospects.consent_source).to_string()
                    aria-label=move || t_string!(i18n, prospects.consent_source).to_string()
                    prop:value=move || source.get() on:input=move |ev| source.set(event_target_value(&ev))/>
                <div class="flex flex-wrap items-center gap-2">
                    <select class=INPUT.replace("block w-full", "inline-block") data-testid="consent-method" aria-label=move || t_string!(i18n, prospects.consent_method).to_string()
                        on:change=move |ev| method.set(event_target_value(&ev))>
                        {ConsentMethod::ALL.into_iter().map(|m| view! { <option value=m.as_str() selected=move || method.get() == m.as_str()>{move || method_label(i18n, m)}</option> }).collect_view()}
                    </select>
                    <label class="flex items-center gap-1">
                        <input type="checkbox" data-testid="consent-granted" prop:checked=move || granted.get() on:change=move |ev| granted.set(event_target_checked(&ev))/>
                        {t!(i18n, prospects.consent_granted)}
                    </label>
                    <Button variant=ButtonVariant::Secondary submit=true attr:data-testid="add-consent">{t!(i18n, prospects.add_consent)}</Button>
                </div>
                <FormError message=error/>
            </form>
        </Card>
    }
}
