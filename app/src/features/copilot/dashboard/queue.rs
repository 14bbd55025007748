//! The left column: the call queue and the selected prospect's profile,
//! history and pre-call brief.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use uuid::Uuid;

use crate::features::copilot::api;
use crate::features::copilot::labels::{objection_label, reason_label};
use crate::features::prospects::labels::status_label;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{Badge, Button, ButtonVariant, Card, FormError, Skeleton, Tone};
use crate::AppError;
#[component]
pub(super) fn QueuePanel(
    queue: Resource<Result<Vec<domain::copilot::views::QueueEntry>, AppError>>,
    prospect_id: Memo<Option<Uuid>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let navigate = use_navigate();
    view! {
        <Card title=Signal::derive(move || t_string!(i18n, copilot.queue).to_string())>
            <Suspense fallback=|| view! { <Skeleton lines=4/> }>
                {move || {
                    let navigate = navigate.clone();
                    queue.get().map(|r| match r {
                        Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                        Ok(entries) if entries.is_empty() => view! {
                            <p class="text-sm text-slate-500" data-testid="queue-empty">{t!(i18n, copilot.queue_empty)}</p>
                        }.into_any(),
                        Ok(entries) => view! {
                            <ul class="-mx-2 max-h-80 space-y-1 overflow-y-auto" data-testid="queue">
                                {entries.into_iter().map(|e| {
                                    let navigate = navigate.clone();
                                    let id = e.prospect_id;
                                    let selected = move || prospect_id.get() == Some(id);
                                    let reason = e.reason.clone();
                                    view! {
                                        <li>
                                            <button type="button" data-testid="queue-item"
                                                class=move || format!("w-full rounded-md px-2 py-1.5 text-left text-sm hover:bg-slate-100 dark:hover:bg-slate-800 {}", if selected() { "bg-indigo-50 dark:bg-indigo-950" } else { "" })
                                                aria-current=move || selected().then_some("true")
                                                on:click=move |_| navigate(&format!("/app/copilot?p={id}"), Default::default())>
                                                <span class="block font-medium">{e.name.clone()}</span>
                                                <span class="flex items-center justify-between text-xs text-slate-500">
                                                    <span>{e.company.clone()}</span>
                                                    <Badge tone=if reason == "callback_due" { Tone::Warning } else { Tone::Neutral }>{move || reason_label(i18n, &reason)}</Badge>
                                                </span>
                                            </button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    })
                }}
            </Suspense>
        </Card>
    }
}

#[component]
pub(super) fn ProspectPanel(org_id: Uuid, prospect_id: Uuid, refresh: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let prospect = Resource::new(
        move || refresh.get(),
        move |_| crate::features::prospects::api::get_prospect(org_id, prospect_id),
    );
    let regenerate = RwSignal::new(false);
    let brief = Resource::new(
        move || (locale.get(), regenerate.get()),
        move |(lang, fresh)| api::prospect_brief(org_id, prospect_id, lang, fresh),
    );
    view! {
        <Card>
            <Suspense fallback=|| view! { <Skeleton lines=3/> }>
                {move || prospect.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(p) => {
                        let status = p.row.status;
                        view! {
                            <div data-testid="prospect-profile">
                                <h2 class="text-lg font-semibold" data-testid="profile-name">{p.row.display_name()}</h2>
                                <p class="text-sm text-slate-500">{format!("{} · {}", p.row.title, p.row.company)}</p>
                                <p class="mt-1 text-sm">{p.row.phone.clone().unwrap_or_default()}</p>
                                <div class="mt-2 flex flex-wrap gap-1">
                                    <span data-testid="profile-status"><Badge tone=Tone::Info>{move || status_label(i18n, status)}</Badge></span>
                                    {p.row.tags.clone().into_iter().map(|t| view! { <Badge>{t}</Badge> }).collect_view()}
                                </div>
                                <a class="mt-2 inline-block text-sm text-indigo-600 hover:underline" href=format!("/app/prospects/{}", p.row.id)>{t!(i18n, copilot.open_prospect)}</a>
                            </div>
                        }.into_any()
                    }
                })}
            </Suspense>
        </Card>
        <Card title=Signal::derive(move || t_string!(i18n, copilot.recommendations).to_string())>
            <Suspense fallback=|| view! { <Skeleton lines=3/> }>
                {move || brief.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(b) => {
                        let from_llm = b.source == "llm";
                        let model = b.model.clone().unwrap_or_default();
                        view! {
                            <div class="space-y-2 text-sm" data-testid="brief">
                                <p data-testid="brief-source">
                                    {if from_llm {
                                        view! { <Badge tone=Tone::Info>{move || t_string!(i18n, copilot.brief_ai, model = model.clone()).to_string()}</Badge> }.into_any()
                                    } else {
                                        view! { <Badge>{t!(i18n, copilot.brief_rules)}</Badge> }.into_any()
                                    }}
                                </p>
                                <p><span class="font-medium">{t!(i18n, copilot.opening_angle)}</span>" "{b.opening_angle.clone()}</p>
                                <div>
                                    <p class="font-medium">{t!(i18n, copilot.likely_objections)}</p>
                                    <div class="mt-1 flex flex-wrap gap-1">
                                        {b.likely_objections.iter().map(|k| { let k = *k; view! { <Badge tone=Tone::Warning>{move || objection_label(i18n, k)}</Badge> } }).collect_view()}
                                    </div>
                                </div>
                                <div>
                                    <p class="font-medium">{t!(i18n, copilot.questions)}</p>
                                    <ul class="list-disc pl-5">{b.questions.iter().map(|q| view! { <li>{q.clone()}</li> }).collect_view()}</ul>
                                </div>
                                <Button variant=ButtonVariant::Ghost class="px-0".to_string() on:click=move |_| regenerate.set(true)>{t!(i18n, copilot.regenerate)}</Button>
                            </div>
                        }.into_any()
                    }
                })}
            </Suspense>
        </Card>
        <Card title=Signal::derive(move || t_string!(i18n, copilot.history).to_string())>
            <crate::features::copilot::history::CallHistory org_id prospect_id refresh/>
        </Card>
    }
}
