//! Scripts: the library (with effectiveness from call outcomes), the editor
//! (phases, text with variables, tips, triggers, objection handlers; saves
//! name the version they edited, so a concurrent edit is reported, never
//! overwritten), version history, and AI generation.

use domain::copilot::objection::ObjectionKind;
use domain::copilot::script::{ObjectionHandler, Phase, PhaseScript, ScriptContent, Trigger};
use domain::copilot::views::{ScriptDetail, ScriptInput};
use domain::{ErrorCode, Locale, Permission};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use uuid::Uuid;

use super::api;
use super::labels::{objection_label, phase_label};
use super::types::GenerateScript;
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{Badge, Button, ButtonVariant, Card, Dialog, FormError, Skeleton, Tone};
use crate::AppError;

const CONTROL: &str =
    "block w-full rounded-md px-3 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800 dark:ring-slate-600";

#[component]
pub fn ScriptsPage() -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let can_edit = org.role.allows(Permission::ManagePlaybook);
    let scripts = Resource::new(|| (), move |_| api::list_scripts(org_id));
    let generate_open = RwSignal::new(false);
    view! {
        <div class="space-y-4">
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h1 class="text-2xl font-bold">{t!(i18n, scripts.title)}</h1>
                {can_edit.then(|| view! {
                    <div class="flex gap-2">
                        <Button variant=ButtonVariant::Secondary attr:data-testid="script-generate" on:click=move |_| generate_open.set(true)>{t!(i18n, scripts.generate)}</Button>
                        <A href="/app/scripts/new" attr:class="inline-flex items-center rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-500" attr:data-testid="script-new">{t!(i18n, scripts.new_script)}</A>
                    </div>
                })}
            </div>
            <Suspense fallback=|| view! { <Skeleton lines=4/> }>
                {move || scripts.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(list) => view! {
                        <ul class="grid gap-3 md:grid-cols-2" data-testid="script-list">
                            {list.into_iter().map(|s| view! {
                                <li>
                                    <A href=format!("/app/scripts/{}", s.id) attr:class="block rounded-lg border border-slate-200 bg-white p-4 hover:border-indigo-400 dark:border-slate-700 dark:bg-slate-900">
                                        <p class="font-semibold">{s.name.clone()}</p>
                                        <div class="mt-1 flex flex-wrap gap-1 text-xs">
                                            <Badge>{s.language.as_str().to_uppercase()}</Badge>
                                            <Badge tone=if s.source == "ai" { Tone::Info } else { Tone::Neutral }>{source_label(i18n, &s.source)}</Badge>
                                            <Badge>{move || t_string!(i18n, scripts.version, n = s.version).to_string()}</Badge>
                                        </div>
                                        <p class="mt-2 text-xs text-slate-500">
                                            {move || match s.effectiveness {
                                                Some(score) => t_string!(i18n, scripts.effectiveness, score = score, calls = crate::format::integer(locale.get(), s.calls as i64)).to_string(),
                                                None => t_string!(i18n, scripts.no_calls_yet).to_string(),
                                            }}
                                        </p>
                                    </A>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Suspense>
            <Dialog open=generate_open title=Signal::derive(move || t_string!(i18n, scripts.generate_title).to_string())>
                <GenerateForm org_id open=generate_open/>
            </Dialog>
        </div>
    }
    .into_any()
}

fn source_label(i18n: leptos_i18n::I18nContext<crate::i18n::Locale>, source: &str) -> String {
    match source {
        "ai" => t_string!(i18n, scripts.source_ai),
        "seeded" => t_string!(i18n, scripts.source_seeded),
        _ => t_string!(i18n, scripts.source_manual),
    }
    .to_string()
}

#[component]
fn GenerateForm(org_id: Uuid, open: RwSignal<bool>) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let name = RwSignal::new(String::new());
    let product = RwSignal::new(String::new());
    let chosen = RwSignal::new(Vec::<Uuid>::new());
    let techniques =
        Resource::new(move || locale.get(), move |lang| api::list_techniques(org_id, lang, None));
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let submit = move || {
        let req = GenerateScript {
            name: name.get_untracked(),
            language: locale.get_untracked(),
            product: product.get_untracked(),
            prospect_id: None,
            technique_ids: chosen.get_untracked(),
        };
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let r = api::generate_ai_script(org_id, req).await;
            busy.set(false);
            match r {
                Ok(s) => {
                    open.set(false);
                    navigate(&format!("/app/scripts/{}", s.summary.id), Default::default());
                }
                Err(e) => error.set(Some(describe(i18n, &e))),
            }
        });
    };
    view! {
        <form class="space-y-3" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            <label class="block text-sm"><span class="mb-1 block font-medium">{t!(i18n, scripts.name)}</span>
                <input class=CONTROL data-testid="generate-name" on:input=move |ev| name.set(event_target_value(&ev))/></label>
            <label class="block text-sm"><span class="mb-1 block font-medium">{t!(i18n, scripts.product)}</span>
                <textarea rows="3" class=CONTROL data-testid="generate-product" on:input=move |ev| product.set(event_target_value(&ev))></textarea></label>
            <fieldset class="text-sm">
                <legend class="mb-1 font-medium">{t!(i18n, scripts.techniques)}</legend>
                <Suspense>
                    {move || techniques.get().and_then(|r| r.ok()).map(|list| list.into_iter().map(|t| {
                        let id = t.id;
                        view! {
                            <label class="flex items-center gap-2">
                                <input type="checkbox" on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    chosen.update(|c| if on { c.push(id) } else { c.retain(|x| *x != id) });
                                }/>
                                {t.name.clone()}
                            </label>
                        }
                    }).collect_view())}
                </Suspense>
            </fieldset>
            <FormError message=error/>
            <div class="flex justify-end gap-2">
                <Button variant=ButtonVariant::Secondary on:click=move |_| open.set(false)>{t!(i18n, common.cancel)}</Button>
                <Button submit=true busy attr:data-testid="generate-submit">{t!(i18n, scripts.generate)}</Button>
            </div>
        </form>
    }
}

/// The editor's state for one phase.
#[derive(Clone, Copy)]
struct PhaseForm {
    phase: Phase,
    enabled: RwSignal<bool>,
    text: RwSignal<String>,
    tips: RwSignal<String>,
    triggers: RwSignal<String>,
}

#[derive(Clone, Copy)]
struct HandlerForm {
    objection: ObjectionKind,
    response: RwSignal<String>,
    examples: RwSignal<String>,
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

#[component]
pub fn ScriptEditorPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let can_edit = org.role.allows(Permission::ManagePlaybook);
    let script_id = params.read_untracked().get("id").and_then(|s| s.parse::<Uuid>().ok());
    let reload = RwSignal::new(0u32);
    let detail = Resource::new(
        move || reload.get(),
        move |_| async move {
            match script_id {
                Some(id) => api::get_script(org_id, id).await.map(Some),
                None => Ok::<_, AppError>(None),
            }
        },
    );
    view! {
        <Suspense fallback=|| view! { <Skeleton lines=8/> }>
            {move || detail.get().map(|r| match r {
                Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                Ok(d) => view! { <Editor org_id script_id detail=d can_edit reload/> }.into_any(),
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn Editor(
    org_id: Uuid,
    script_id: Option<Uuid>,
    detail: Option<ScriptDetail>,
    can_edit: bool,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let i18n = use_i18n();
    let navigate = use_navigate();
    let content = detail.as_ref().map(|d| d.content.clone()).unwrap_or_default();
    let name = RwSignal::new(detail.as_ref().map(|d| d.summary.name.clone()).unwrap_or_default());
    let language = RwSignal::new(detail.as_ref().map_or(Locale::En, |d| d.summary.language));
    let description = RwSignal::new(detail.as_ref().map(|d| d.description.clone()).unwrap_or_default());
    let version = RwSignal::new(detail.as_ref().map(|d| d.summary.version));
    let phases: Vec<PhaseForm> = Phase::ALL
        .into_iter()
        .map(|phase| {
            let p = content.phases.iter().find(|p| p.phase == phase);
            PhaseForm {
                phase,
                enabled: RwSignal::new(p.is_some() || detail.is_none()),
                text: RwSignal::new(p.map(|p| p.text.clone()).unwrap_or_default()),
                tips: RwSignal::new(p.map(|p| p.tips.join("\n")).unwrap_or_default()),
                triggers: RwSignal::new(
                    p.map(|p| p.triggers.iter().map(Trigger::to_line).collect::<Vec<_>>().join("\n"))
                        .unwrap_or_default(),
                ),
            }
        })
        .collect();
    let handlers: Vec<HandlerForm> = ObjectionKind::ALL
        .into_iter()
        .map(|objection| {
            let h = content.handler(objection);
            HandlerForm {
                objection,
                response: RwSignal::new(h.map(|h| h.response.clone()).unwrap_or_default()),
                examples: RwSignal::new(h.map(|h| h.examples.join("\n")).unwrap_or_default()),
            }
        })
        .collect();
    let error = RwSignal::new(None::<String>);
    let stale = RwSignal::new(false);
    let saved = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let phases_sv = StoredValue::new(phases.clone());
    let handlers_sv = StoredValue::new(handlers.clone());
    let save = move || {
        saved.set(false);
        // Build and check the script in the browser first (same rules as the server).
        let mut built = Vec::new();
        for p in phases_sv.get_value() {
            if !p.enabled.get_untracked() {
                continue;
            }
            let mut triggers = Vec::new();
            for line in lines(&p.triggers.get_untracked()) {
                match Trigger::parse_line(&line) {
                    Ok(t) => triggers.push(t),
                    Err(mut e) => {
                        e.field = format!("{}: {line}", p.phase.as_str());
                        error.set(Some(describe(i18n, &AppError::from(e))));
                        return;
                    }
                }
            }
            built.push(PhaseScript {
                phase: p.phase,
                text: p.text.get_untracked(),
                tips: lines(&p.tips.get_untracked()),
                triggers,
            });
        }
        let handlers = handlers_sv
            .get_value()
            .into_iter()
            .filter(|h| !h.response.get_untracked().trim().is_empty())
            .map(|h| ObjectionHandler {
                objection: h.objection,
                response: h.response.get_untracked(),
                examples: lines(&h.examples.get_untracked()),
            })
            .collect();
        let content = ScriptContent { phases: built, handlers };
        if let Err(errors) = content.validate() {
            error.set(
                errors
                    .first()
                    .map(|e| format!("{} — {}", e.field, describe(i18n, &AppError::from(e.clone())))),
            );
            return;
        }
        let input = ScriptInput {
            name: name.get_untracked(),
            language: language.get_untracked(),
            description: description.get_untracked(),
            content,
            expected_version: version.get_untracked(),
        };
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let r = api::save_script(org_id, script_id, input).await;
            busy.set(false);
            match r {
                Ok(d) => {
                    error.set(None);
                    stale.set(false);
                    saved.set(true);
                    version.set(Some(d.summary.version));
                    if script_id.is_none() {
                        navigate(&format!("/app/scripts/{}", d.summary.id), Default::default());
                    }
                }
                Err(e) => {
                    stale.set(e.code == ErrorCode::StaleVersion);
                    error.set(Some(describe(i18n, &e)));
                }
            }
        });
    };
    let versions = Resource::new(
        move || version.get(),
        move |_| async move {
            match script_id {
                Some(id) => api::script_versions(org_id, id).await,
                None => Ok(Vec::new()),
            }
        },
    );
    let ai = detail.as_ref().and_then(|d| d.ai.clone());
    view! {
        <form class="space-y-4" data-testid="script-editor" on:submit=move |ev| { ev.prevent_default(); save(); }>
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h1 class="text-2xl font-bold">{move || if script_id.is_some() { t_string!(i18n, scripts.edit_title).to_string() } else { t_string!(i18n, scripts.new_script).to_string() }}</h1>
                {move || version.get().map(|v| view! { <Badge>{move || t_string!(i18n, scripts.version, n = v).to_string()}</Badge> })}
            </div>
            {ai.map(|g| view! {
                <p class="text-sm text-slate-500" data-testid="script-ai">{move || t_string!(i18n, scripts.ai_info, model = g.model.clone(), ms = g.generation_ms).to_string()}</p>
            })}
            <Card>
                <div class="grid gap-3 md:grid-cols-[1fr_8rem]">
                    <label class="block text-sm"><span class="mb-1 block font-medium">{t!(i18n, scripts.name)}</span>
                        <input class=CONTROL data-testid="script-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) readonly=!can_edit/></label>
                    <label class="block text-sm"><span class="mb-1 block font-medium">{t!(i18n, scripts.language)}</span>
                        <select class=CONTROL on:change=move |ev| if let Some(l) = Locale::parse(&event_target_value(&ev)) { language.set(l) }>
                            {Locale::ALL.into_iter().map(|l| view! { <option value=l.as_str() selected=move || language.get() == l>{l.as_str().to_uppercase()}</option> }).collect_view()}
                        </select></label>
                </div>
                <label class="mt-3 block text-sm"><span class="mb-1 block font-medium">{t!(i18n, scripts.description)}</span>
                    <textarea rows="2" class=CONTROL prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))></textarea></label>
                <p class="mt-2 text-xs text-slate-500">{t!(i18n, scripts.variables_hint)}</p>
            </Card>
            {phases.into_iter().map(|p| view! {
                <Card>
                    <label class="flex items-center gap-2 font-semibold">
                        <input type="checkbox" prop:checked=move || p.enabled.get() on:change=move |ev| p.enabled.set(event_target_checked(&ev))/>
                        {move || phase_label(i18n, p.phase)}
                    </label>
                    <Show when=move || p.enabled.get()>
                        <div class="mt-3 grid gap-3 md:grid-cols-2">
                            <label class="block text-sm md:col-span-2"><span class="mb-1 block font-medium">{t!(i18n, scripts.text)}</span>
                                <textarea rows="3" class=CONTROL data-testid=format!("phase-text-{}", p.phase.as_str()) prop:value=move || p.text.get() on:input=move |ev| p.text.set(event_target_value(&ev))></textarea></label>
                            <label class="block text-sm"><span class="mb-1 block font-medium">{t!(i18n, scripts.tips)}</span>
                                <textarea rows="3" class=CONTROL prop:value=move || p.tips.get() on:input=move |ev| p.tips.set(event_target_value(&ev))></textarea></label>
                            <label class="block text-sm"><span class="mb-1 block font-medium">{t!(i18n, scripts.triggers)}</span>
                                <textarea rows="3" class=CONTROL data-testid=format!("phase-triggers-{}", p.phase.as_str()) prop:value=move || p.triggers.get() on:input=move |ev| p.triggers.set(event_target_value(&ev))></textarea>
                                <span class="mt-1 block text-xs text-slate-500">{t!(i18n, scripts.triggers_hint)}</span></label>
                        </div>
                    </Show>
                </Card>
            }).collect_view()}
            <Card title=Signal::derive(move || t_string!(i18n, scripts.handlers).to_string())>
                <div class="grid gap-3 md:grid-cols-2">
                    {handlers.into_iter().map(|h| view! {
                        <div class="text-sm">
                            <p class="mb-1 font-medium">{move || objection_label(i18n, h.objection)}</p>
                            <textarea rows="2" class=CONTROL aria-label=move || objection_label(i18n, h.objection) prop:value=move || h.response.get() on:input=move |ev| h.response.set(event_target_value(&ev))></textarea>
                            <textarea rows="2" class=format!("{CONTROL} mt-1") placeholder=move || t_string!(i18n, scripts.examples).to_string() prop:value=move || h.examples.get() on:input=move |ev| h.examples.set(event_target_value(&ev))></textarea>
                        </div>
                    }).collect_view()}
                </div>
            </Card>
            <FormError message=error/>
            <Show when=move || stale.get()>
                <Button variant=ButtonVariant::Secondary attr:data-testid="script-reload" on:click=move |_| reload.update(|n| *n += 1)>{t!(i18n, scripts.reload)}</Button>
            </Show>
            <Show when=move || saved.get()>
                <p class="text-sm text-green-700" role="status" data-testid="script-saved">{t!(i18n, common.saved)}</p>
            </Show>
            {can_edit.then(|| view! {
                <div class="flex justify-end"><Button submit=true busy attr:data-testid="script-save">{t!(i18n, common.save)}</Button></div>
            })}
            <Card title=Signal::derive(move || t_string!(i18n, scripts.versions).to_string())>
                <Suspense>
                    {move || versions.get().and_then(|r| r.ok()).map(|list| view! {
                        <ul class="space-y-1 text-sm" data-testid="script-versions">
                            {list.into_iter().map(|v| view! {
                                <li>{move || t_string!(i18n, scripts.version, n = v.version).to_string()}
                                    <span class="text-slate-500">{format!(" · {} · {}", v.edited_by.clone().unwrap_or_default(), crate::format::datetime(use_locale().get_untracked(), v.created_at))}</span></li>
                            }).collect_view()}
                        </ul>
                    })}
                </Suspense>
            </Card>
        </form>
    }
}
