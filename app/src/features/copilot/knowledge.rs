//! The knowledge base page: search and filter, write drafts (fields per
//! kind), submit for review, and — for Admins and Owners — approve or reject
//! with a comment. Members see approved items and their own drafts.
//!
//! A review names the version shown: if the item was edited since, nothing
//! is recorded, the list reloads with the new text and the row says why.

use std::collections::BTreeMap;

use domain::copilot::knowledge::{KnowledgeDraft, KnowledgeKind, KnowledgeStatus, ReviewAction};
use domain::copilot::views::{KnowledgeItem, KnowledgeQuery};
use domain::{ErrorCode, Permission};
use leptos::prelude::*;
use uuid::Uuid;

use super::api;
use super::labels::{field_label, kind_label, status_label};
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n};
use crate::ui::{Badge, Button, ButtonVariant, Card, Dialog, EmptyState, FormError, Skeleton, Tone};

fn tone(s: KnowledgeStatus) -> Tone {
    match s {
        KnowledgeStatus::Draft => Tone::Neutral,
        KnowledgeStatus::PendingReview => Tone::Warning,
        KnowledgeStatus::Approved => Tone::Success,
        KnowledgeStatus::Rejected => Tone::Danger,
    }
}

#[component]
pub fn KnowledgePage() -> impl IntoView {
    let i18n = use_i18n();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let reviewer = org.role.allows(Permission::ReviewKnowledge);
    let q = RwSignal::new(String::new());
    let status = RwSignal::new(if reviewer { "pending_review".to_string() } else { String::new() });
    let kind = RwSignal::new(String::new());
    let refresh = RwSignal::new(0u32);
    // The item whose review was refused because it changed after it was
    // shown: kept here, above the rows, so the notice survives the reload.
    let stale = RwSignal::new(None::<Uuid>);
    let items = Resource::new(
        move || (q.get(), status.get(), kind.get(), refresh.get()),
        move |(q, status, kind, _)| {
            let query = KnowledgeQuery {
                q,
                status: KnowledgeStatus::parse(&status),
                kind: KnowledgeKind::parse(&kind),
                limit: Some(100),
                ..Default::default()
            };
            api::list_knowledge(org_id, query)
        },
    );
    let editing = RwSignal::new(None::<Option<KnowledgeItem>>);
    let open = RwSignal::new(false);
    Effect::new(move |_| {
        if !open.get() {
            editing.set(None);
        }
    });
    let select = "rounded-md px-3 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800 dark:ring-slate-600";
    view! {
        <div class="space-y-4">
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h1 class="text-2xl font-bold">{t!(i18n, knowledge.title)}</h1>
                <Button attr:data-testid="knowledge-new" on:click=move |_| { editing.set(Some(None)); open.set(true); }>{t!(i18n, knowledge.new_item)}</Button>
            </div>
            <div class="flex flex-wrap gap-2">
                <input type="search" class=select data-testid="knowledge-filter-q" aria-label=move || t_string!(i18n, knowledge.search).to_string()
                    placeholder=move || t_string!(i18n, knowledge.search).to_string() on:input=move |ev| q.set(event_target_value(&ev))/>
                <select class=select data-testid="knowledge-filter-status" aria-label=move || t_string!(i18n, knowledge.status).to_string()
                    on:change=move |ev| status.set(event_target_value(&ev))>
                    <option value="" selected=!reviewer>{t!(i18n, knowledge.all_statuses)}</option>
                    {KnowledgeStatus::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=reviewer && s == KnowledgeStatus::PendingReview>{move || status_label(i18n, s)}</option>
                    }).collect_view()}
                </select>
                <select class=select aria-label=move || t_string!(i18n, knowledge.kind).to_string() on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="">{t!(i18n, knowledge.all_kinds)}</option>
                    {KnowledgeKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{move || kind_label(i18n, k)}</option> }).collect_view()}
                </select>
            </div>
            <Suspense fallback=|| view! { <Skeleton lines=5/> }>
                {move || items.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState title=Signal::derive(move || t_string!(i18n, knowledge.empty).to_string())/>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="space-y-3" data-testid="knowledge-list">
                            {list.into_iter().map(|item| view! {
                                <ItemRow org_id item reviewer refresh stale on_edit=move |it| { editing.set(Some(Some(it))); open.set(true); }/>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Suspense>
            <Dialog open title=Signal::derive(move || t_string!(i18n, knowledge.edit_title).to_string())>
                {move || editing.get().map(|it| view! { <Editor org_id item=it open refresh/> })}
            </Dialog>
        </div>
    }
    .into_any()
}

#[component]
fn ItemRow(
    org_id: Uuid,
    item: KnowledgeItem,
    reviewer: bool,
    refresh: RwSignal<u32>,
    stale: RwSignal<Option<Uuid>>,
    on_edit: impl Fn(KnowledgeItem) + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let me = use_context::<crate::features::auth::types::SessionInfo>().map(|s| s.user.id);
    let mine = item.author_id.is_some() && item.author_id == me;
    let status = item.status;
    let id = item.id;
    // The version this row shows: what an approval or rejection vouches for.
    let version = item.version;
    let comment = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let act = move |action: ReviewAction| {
        leptos::task::spawn_local(async move {
            match api::review_knowledge(org_id, id, action).await {
                Ok(_) => {
                    stale.set(None);
                    refresh.update(|n| *n += 1);
                }
                // Edited since it was shown: nothing was recorded. Reload so
                // the reviewer reads the new text, and say why.
                Err(e) if e.code == ErrorCode::StaleVersion => {
                    stale.set(Some(id));
                    refresh.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(describe(i18n, &e))),
            }
        });
    };
    let kind = item.kind;
    let fields: Vec<(String, String)> = item.fields.clone().into_iter().collect();
    let editable = mine || reviewer;
    let for_edit = StoredValue::new(item.clone());
    view! {
        <li>
            <Card>
                <div class="flex flex-wrap items-start justify-between gap-2" data-testid="knowledge-item" data-status=status.as_str() data-version=version.to_string()>
                    <div>
                        <h2 class="font-semibold">{item.title.clone()}</h2>
                        <div class="mt-1 flex flex-wrap gap-1">
                            <Badge tone=Tone::Info>{move || kind_label(i18n, kind)}</Badge>
                            <span data-testid="knowledge-status"><Badge tone=tone(status)>{move || status_label(i18n, status)}</Badge></span>
                            {item.tags.clone().into_iter().map(|t| view! { <Badge>{t}</Badge> }).collect_view()}
                        </div>
                    </div>
                    <p class="text-xs text-slate-500">
                        {move || t_string!(i18n, knowledge.usage, shown = item.shown, copied = item.copied, helpful = item.helpful).to_string()}
                    </p>
                </div>
                <p class="mt-2 whitespace-pre-wrap text-sm">{item.body.clone()}</p>
                {(!fields.is_empty()).then(|| view! {
                    <dl class="mt-2 grid grid-cols-[auto_1fr] gap-x-3 text-sm">
                        {fields.into_iter().map(|(k, v)| view! {
                            <dt class="text-slate-500">{move || field_label(i18n, &k)}</dt><dd>{v}</dd>
                        }).collect_view()}
                    </dl>
                })}
                {item.review_comment.clone().filter(|_| status == KnowledgeStatus::Rejected).map(|c| view! {
                    <p class="mt-2 text-sm text-red-700 dark:text-red-300" data-testid="review-comment">
                        {move || t_string!(i18n, knowledge.rejected_because, who = item.reviewer_name.clone().unwrap_or_default(), comment = c.clone()).to_string()}
                    </p>
                })}
                <div class="mt-3 flex flex-wrap items-center gap-2">
                    {editable.then(|| view! {
                        <Button variant=ButtonVariant::Secondary on:click=move |_| on_edit(for_edit.get_value())>{t!(i18n, common.edit)}</Button>
                    })}
                    {(mine && matches!(status, KnowledgeStatus::Draft | KnowledgeStatus::Rejected)).then(|| view! {
                        <Button attr:data-testid="knowledge-submit" on:click=move |_| act(ReviewAction::Submit)>{t!(i18n, knowledge.submit)}</Button>
                    })}
                    {(reviewer && status == KnowledgeStatus::PendingReview).then(|| view! {
                        <Button attr:data-testid="knowledge-approve" on:click=move |_| act(ReviewAction::Approve { expected_version: Some(version) })>{t!(i18n, knowledge.approve)}</Button>
                        <input class="rounded-md px-2 py-1.5 text-sm ring-1 ring-slate-300 dark:bg-slate-800" data-testid="knowledge-comment"
                            aria-label=move || t_string!(i18n, knowledge.comment).to_string()
                            placeholder=move || t_string!(i18n, knowledge.comment).to_string()
                            on:input=move |ev| comment.set(event_target_value(&ev))/>
                        <Button variant=ButtonVariant::Danger attr:data-testid="knowledge-reject"
                            on:click=move |_| act(ReviewAction::Reject { comment: comment.get_untracked(), expected_version: Some(version) })>{t!(i18n, knowledge.reject)}</Button>
                    })}
                    {((mine && status == KnowledgeStatus::Draft) || reviewer).then(|| view! {
                        <Button variant=ButtonVariant::DangerGhost on:click=move |_| {
                            leptos::task::spawn_local(async move {
                                match api::delete_knowledge(org_id, id).await {
                                    Ok(()) => refresh.update(|n| *n += 1),
                                    Err(e) => error.set(Some(describe(i18n, &e))),
                                }
                            });
                        }>{t!(i18n, common.delete)}</Button>
                    })}
                </div>
                <Show when=move || stale.get() == Some(id)>
                    <p class="mt-2 text-sm text-amber-700 dark:text-amber-300" role="alert" data-testid="knowledge-stale">
                        {t!(i18n, knowledge.changed_since_read)}
                    </p>
                </Show>
                <FormError message=error/>
            </Card>
        </li>
    }
}

#[component]
fn Editor(
    org_id: Uuid,
    item: Option<KnowledgeItem>,
    open: RwSignal<bool>,
    refresh: RwSignal<u32>,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = item.as_ref().map(|i| i.id);
    let kind = RwSignal::new(item.as_ref().map_or(KnowledgeKind::BestSeller, |i| i.kind));
    let title = RwSignal::new(item.as_ref().map(|i| i.title.clone()).unwrap_or_default());
    let body = RwSignal::new(item.as_ref().map(|i| i.body.clone()).unwrap_or_default());
    let tags = RwSignal::new(item.as_ref().map(|i| i.tags.join(", ")).unwrap_or_default());
    let fields = RwSignal::new(item.as_ref().map(|i| i.fields.clone()).unwrap_or_default());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let save = move || {
        let draft = KnowledgeDraft {
            kind: kind.get_untracked(),
            title: title.get_untracked(),
            body: body.get_untracked(),
            tags: tags
                .get_untracked()
                .split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            fields: fields
                .get_untracked()
                .into_iter()
                .filter(|(k, _)| kind.get_untracked().fields().iter().any(|f| f.name == k))
                .collect::<BTreeMap<_, _>>(),
        };
        // The same checks as the server, instantly.
        if let Err(errors) = draft.normalized() {
            error.set(errors.first().map(|e| describe(i18n, &crate::AppError::from(e.clone()))));
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = api::save_knowledge(org_id, id, draft).await;
            busy.set(false);
            match r {
                Ok(_) => {
                    open.set(false);
                    refresh.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(describe(i18n, &e))),
            }
        });
    };
    let control = "block w-full rounded-md px-3 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800 dark:ring-slate-600";
    view! {
        <form class="space-y-3" data-testid="knowledge-form" on:submit=move |ev| { ev.prevent_default(); save(); }>
            <label class="block text-sm">
                <span class="mb-1 block font-medium">{t!(i18n, knowledge.kind)}</span>
                <select class=control data-testid="knowledge-kind" on:change=move |ev| if let Some(k) = KnowledgeKind::parse(&event_target_value(&ev)) { kind.set(k) }>
                    {KnowledgeKind::ALL.into_iter().map(|k| view! {
                        <option value=k.as_str() selected=move || kind.get() == k>{move || kind_label(i18n, k)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="block text-sm">
                <span class="mb-1 block font-medium">{t!(i18n, knowledge.item_title)}</span>
                <input class=control data-testid="knowledge-title" prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev))/>
            </label>
            <label class="block text-sm">
                <span class="mb-1 block font-medium">{t!(i18n, knowledge.body)}</span>
                <textarea rows="4" class=control data-testid="knowledge-body" prop:value=move || body.get() on:input=move |ev| body.set(event_target_value(&ev))></textarea>
            </label>
            {move || kind.get().fields().iter().map(|f| {
                let name = f.name;
                let required = f.required;
                view! {
                    <label class="block text-sm">
                        <span class="mb-1 block font-medium">{move || field_label(i18n, name)}{required.then_some(" *")}</span>
                        {if name == "objection" {
                            view! {
                                <select class=control data-testid="knowledge-field-objection"
                                    on:change=move |ev| fields.update(|m| { m.insert(name.to_string(), event_target_value(&ev)); })>
                                    <option value="">"—"</option>
                                    {domain::copilot::objection::ObjectionKind::ALL.into_iter().map(|o| view! {
                                        <option value=o.as_str() selected=move || fields.with(|m| m.get(name).map(String::as_str) == Some(o.as_str()))>
                                            {move || super::labels::objection_label(i18n, o)}
                                        </option>
                                    }).collect_view()}
                                </select>
                            }.into_any()
                        } else {
                            view! {
                                <input class=control data-testid=format!("knowledge-field-{name}")
                                    prop:value=move || fields.with(|m| m.get(name).cloned().unwrap_or_default())
                                    on:input=move |ev| fields.update(|m| { m.insert(name.to_string(), event_target_value(&ev)); })/>
                            }.into_any()
                        }}
                    </label>
                }
            }).collect_view()}
            <label class="block text-sm">
                <span class="mb-1 block font-medium">{t!(i18n, knowledge.tags)}</span>
                <input class=control prop:value=move || tags.get() on:input=move |ev| tags.set(event_target_value(&ev))/>
            </label>
            <FormError message=error/>
            <div class="flex justify-end gap-2">
                <Button variant=ButtonVariant::Secondary on:click=move |_| open.set(false)>{t!(i18n, common.cancel)}</Button>
                <Button submit=true busy attr:data-testid="knowledge-save">{t!(i18n, common.save)}</Button>
            </div>
        </form>
    }
}
