//! The calls list: filters (status, outcome, agent, direction, dates), sort
//! by column and pages answered by the server, a CSV export of the same
//! filter, and rows that follow the calls live (the event bus, whichever
//! node received the webhook). The filters live in the URL, so a filtered
//! list can be bookmarked and shared.

use domain::call::CallStatus;
use domain::call_views::{CallPage, CallParams, CallSort, CallUpdate};
use domain::copilot::outcome::CallOutcome;
use leptos::prelude::*;
use leptos_router::components::A;
use uuid::Uuid;

use super::labels::{direction_label, duration, status_label, status_tone};
use crate::features::auth::session::use_current_org;
use crate::features::copilot::labels::outcome_label;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{Badge, Button, ButtonVariant, Card, EmptyState, FormError, Skeleton};

const LIST_PATH: &str = "/app/calls";
use crate::ui::COMPACT_CONTROL as CONTROL;

/// The URL's query for `p`, defaults left out.
pub fn query_string(p: &CallParams) -> String {
    let mut out = Vec::new();
    for (k, v) in [
        ("status", &p.status),
        ("outcome", &p.outcome),
        ("agent_id", &p.agent_id),
        ("prospect_id", &p.prospect_id),
        ("direction", &p.direction),
        ("from", &p.from),
        ("until", &p.until),
        ("sort", &p.sort),
        ("order", &p.order),
    ] {
        if !v.is_empty() {
            out.push(format!("{k}={}", crate::url::encode_component(v)));
        }
    }
    if let Some(page) = p.page.filter(|p| *p > 1) {
        out.push(format!("page={page}"));
    }
    out.join("&")
}

fn from_url() -> CallParams {
    let url = leptos_router::hooks::use_query_map().get_untracked();
    let get = |k: &str| url.get(k).unwrap_or_default();
    CallParams {
        status: get("status"),
        outcome: get("outcome"),
        agent_id: get("agent_id"),
        prospect_id: get("prospect_id"),
        direction: get("direction"),
        from: get("from"),
        until: get("until"),
        sort: get("sort"),
        order: get("order"),
        page: get("page").parse().ok(),
        per_page: None,
    }
}

#[component]
pub fn CallsPage() -> impl IntoView {
    let i18n = use_i18n();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let params = RwSignal::new(from_url());
    // The URL follows the list (replacing the entry: one Back leaves the list).
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |prev: Option<String>| {
        let qs = query_string(&params.get());
        if prev.as_ref().is_some_and(|p| *p != qs) {
            let to = if qs.is_empty() { LIST_PATH.to_string() } else { format!("{LIST_PATH}?{qs}") };
            navigate(
                &to,
                leptos_router::NavigateOptions { replace: true, scroll: false, ..Default::default() },
            );
        }
        qs
    });
    let page = Resource::new(move || params.get(), move |p| super::api::list_calls(org_id, p));
    let agents = Resource::new(|| (), move |_| super::api::voice_agents(org_id));
    // Live: a call on this page that changes is updated in place; a new
    // call (or one entering the filter) shows as "new calls — refresh".
    let live = RwSignal::new(Vec::<CallUpdate>::new());
    super::follow_calls(org_id, move |u| live.update(|l| l.push(u)), || {});
    let set = move |f: fn(&mut CallParams, String), v: String| {
        params.update(|p| {
            f(p, v);
            p.page = None;
        })
    };
    let sort_by = move |s: CallSort| {
        params.update(|p| {
            let same = p.sort == s.as_str() || (p.sort.is_empty() && s == CallSort::CreatedAt);
            let desc = p.order != "asc";
            p.sort = s.as_str().to_string();
            p.order = if same && desc { "asc".into() } else { "desc".into() };
            p.page = None;
        })
    };
    let export_href = move || {
        let mut p = params.get();
        p.page = None;
        p.sort.clear();
        p.order.clear();
        format!("/api/v1/orgs/{org_id}/calls/export.csv?{}", query_string(&p))
    };
    view! {
        <div class="space-y-4">
            <div class="flex flex-wrap items-end justify-between gap-3">
                <div>
                    <h1 class="text-2xl font-bold">{t!(i18n, calls.title)}</h1>
                    <p class="text-sm text-slate-500">{t!(i18n, calls.intro)}</p>
                </div>
                <a href=export_href download class="rounded-md px-3 py-2 text-sm font-medium text-indigo-700 ring-1 ring-indigo-200 hover:bg-indigo-50 dark:text-indigo-300 dark:ring-indigo-800" data-testid="calls-export">{t!(i18n, calls.export)}</a>
            </div>
            <Card>
                <div class="grid gap-3 sm:grid-cols-3 lg:grid-cols-6" data-testid="calls-filters">
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, calls.col_status)}</span>
                        <select class=CONTROL data-testid="filter-status" on:change=move |ev| set(|p, v| p.status = v, event_target_value(&ev))>
                            <option value="" selected=move || params.with(|p| p.status.is_empty())>{t!(i18n, calls.any)}</option>
                            {CallStatus::ALL.into_iter().map(|s| view! {
                                <option value=s.as_str() selected=move || params.with(|p| p.status == s.as_str())>{move || status_label(i18n, s)}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, calls.col_outcome)}</span>
                        <select class=CONTROL data-testid="filter-outcome" on:change=move |ev| set(|p, v| p.outcome = v, event_target_value(&ev))>
                            <option value="" selected=move || params.with(|p| p.outcome.is_empty())>{t!(i18n, calls.any)}</option>
                            {CallOutcome::ALL.into_iter().map(|o| view! {
                                <option value=o.as_str() selected=move || params.with(|p| p.outcome == o.as_str())>{move || outcome_label(i18n, o)}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, calls.col_agent)}</span>
                        <select class=CONTROL data-testid="filter-agent" on:change=move |ev| set(|p, v| p.agent_id = v, event_target_value(&ev))>
                            <option value="">{t!(i18n, calls.any)}</option>
                            <Suspense fallback=|| ()>
                                {move || agents.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|(id, name)| {
                                    let v = id.to_string();
                                    let sel = params.with_untracked(|p| p.agent_id == v);
                                    view! { <option value=v selected=sel>{name}</option> }
                                }).collect_view()}
                            </Suspense>
                        </select>
                    </label>
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, calls.col_direction)}</span>
                        <select class=CONTROL data-testid="filter-direction" on:change=move |ev| set(|p, v| p.direction = v, event_target_value(&ev))>
                            <option value="" selected=move || params.with(|p| p.direction.is_empty())>{t!(i18n, calls.any)}</option>
                            <option value="outbound" selected=move || params.with(|p| p.direction == "outbound")>{t!(i18n, calls.outbound)}</option>
                            <option value="inbound" selected=move || params.with(|p| p.direction == "inbound")>{t!(i18n, calls.inbound)}</option>
                        </select>
                    </label>
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, calls.from)}</span>
                        <input type="date" class=CONTROL data-testid="filter-from" prop:value=move || params.with(|p| p.from.clone())
                            on:change=move |ev| set(|p, v| p.from = v, event_target_value(&ev))/>
                    </label>
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, calls.until)}</span>
                        <input type="date" class=CONTROL data-testid="filter-until" prop:value=move || params.with(|p| p.until.clone())
                            on:change=move |ev| set(|p, v| p.until = v, event_target_value(&ev))/>
                    </label>
                </div>
            </Card>
            <Transition fallback=|| view! { <Skeleton lines=6/> }>
                {move || page.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(p) if p.rows.is_empty() => view! {
                        <EmptyState title=Signal::derive(move || t_string!(i18n, calls.empty_title).to_string())
                            body=Signal::derive(move || t_string!(i18n, calls.empty_body).to_string())/>
                    }.into_any(),
                    Ok(p) => view! { <CallsTable page=p params live sort_by=Callback::new(sort_by)/> }.into_any(),
                })}
            </Transition>
        </div>
    }
    .into_any()
}

#[component]
fn CallsTable(
    page: CallPage,
    params: RwSignal<CallParams>,
    live: RwSignal<Vec<CallUpdate>>,
    sort_by: Callback<CallSort>,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let ids: Vec<Uuid> = page.rows.iter().map(|c| c.id).collect();
    let loaded_at = live.with_untracked(|l| l.len());
    // Changes since this page loaded: rows update in place; others count as new.
    let fresh = Memo::new(move |_| live.with(|l| l.iter().skip(loaded_at).cloned().collect::<Vec<_>>()));
    let unseen = {
        let ids = ids.clone();
        Memo::new(move |_| {
            let mut other: Vec<Uuid> =
                fresh.get().iter().map(|u| u.call.id).filter(|id| !ids.contains(id)).collect();
            other.sort();
            other.dedup();
            other.len()
        })
    };
    let header = move |s: CallSort, label: Signal<String>| {
        let arrow = move || {
            params.with(|p| {
                let current = CallSort::parse(&p.sort).unwrap_or_default();
                if current != s {
                    ""
                } else if p.order == "asc" {
                    " ▲"
                } else {
                    " ▼"
                }
            })
        };
        let aria = move || {
            params.with(|p| {
                let current = CallSort::parse(&p.sort).unwrap_or_default();
                if current != s {
                    "none"
                } else if p.order == "asc" {
                    "ascending"
                } else {
                    "descending"
                }
            })
        };
        view! {
            <th scope="col" class="px-3 py-2 text-left" aria-sort=aria>
                <button type="button" class="font-semibold hover:underline" data-testid=format!("sort-{}", s.as_str())
                    on:click=move |_| sort_by.run(s)>{move || label.get()}{arrow}</button>
            </th>
        }
    };
    let total = page.total;
    let capped = page.total_capped;
    let (pg, per) = (page.page, page.per_page);
    let last = total.div_ceil(per).max(1);
    view! {
        <div class="space-y-3">
            <Show when=move || { unseen.get() > 0 }>
                <button type="button" class="w-full rounded-md bg-indigo-50 px-3 py-2 text-sm text-indigo-800 dark:bg-indigo-950 dark:text-indigo-200" data-testid="calls-new"
                    on:click=move |_| params.update(|p| p.page = None)>
                    {move || t_string!(i18n, calls.new_calls, n = unseen.get()).to_string()}
                </button>
            </Show>
            <div class="overflow-x-auto rounded-lg ring-1 ring-slate-200 dark:ring-slate-700">
                <table class="min-w-full text-sm" data-testid="calls-table">
                    <thead class="bg-slate-50 dark:bg-slate-800">
                        <tr>
                            {header(CallSort::CreatedAt, Signal::derive(move || t_string!(i18n, calls.col_placed).to_string()))}
                            <th scope="col" class="px-3 py-2 text-left font-semibold">{t!(i18n, calls.col_prospect)}</th>
                            {header(CallSort::ToNumber, Signal::derive(move || t_string!(i18n, calls.col_number).to_string()))}
                            <th scope="col" class="px-3 py-2 text-left font-semibold">{t!(i18n, calls.col_agent)}</th>
                            {header(CallSort::Status, Signal::derive(move || t_string!(i18n, calls.col_status).to_string()))}
                            <th scope="col" class="px-3 py-2 text-left font-semibold">{t!(i18n, calls.col_outcome)}</th>
                            {header(CallSort::Duration, Signal::derive(move || t_string!(i18n, calls.col_duration).to_string()))}
                        </tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                        {page.rows.into_iter().map(|first| {
                            let id = first.id;
                            let call = Memo::new(move |_| {
                                fresh.get().into_iter().rev().find(|u| u.call.id == id)
                                    .map(|u| u.call.keep_names(&first))
                                    .unwrap_or_else(|| first.clone())
                            });
                            view! {
                                <tr data-testid="call-row" data-call-id=id.to_string()>
                                    <td class="px-3 py-2 whitespace-nowrap">
                                        <A href=format!("/app/calls/{id}") attr:class="text-indigo-700 hover:underline dark:text-indigo-300">
                                            {move || crate::format::datetime(locale.get(), call.with(|c| c.created_at))}
                                        </A>
                                    </td>
                                    <td class="px-3 py-2">{move || call.with(|c| c.prospect_name.clone().unwrap_or_default())}</td>
                                    <td class="px-3 py-2 font-mono text-xs">{move || call.with(|c| c.to_number.clone())}
                                        <span class="ml-1 text-slate-400">{move || call.with(|c| direction_label(i18n, &c.direction))}</span></td>
                                    <td class="px-3 py-2">{move || call.with(|c| c.agent_name.clone().unwrap_or_default())}</td>
                                    <td class="px-3 py-2" data-testid="call-row-status">
                                        {move || { let s = call.with(|c| c.status); view! { <Badge tone=status_tone(s)>{status_label(i18n, s)}</Badge> } }}
                                    </td>
                                    <td class="px-3 py-2">{move || call.with(|c| c.outcome.map(|o| outcome_label(i18n, o)).unwrap_or_default())}</td>
                                    <td class="px-3 py-2 tabular-nums">{move || call.with(|c| c.talk_ms.map(duration).unwrap_or_default())}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <div class="flex items-center justify-between text-sm">
                <span class="text-slate-500" data-testid="calls-total">
                    {move || {
                        let n = crate::format::integer(locale.get(), total as i64);
                        let n = if capped { format!("{n}+") } else { n };
                        t_string!(i18n, calls.total, n = n).to_string()
                    }}
                </span>
                <div class="flex items-center gap-2">
                    <Button variant=ButtonVariant::Secondary disabled=Signal::stored(pg <= 1) attr:data-testid="calls-prev"
                        on:click=move |_| params.update(|p| p.page = Some(pg - 1))>{t!(i18n, calls.prev)}</Button>
                    <span class="tabular-nums">{format!("{pg} / {last}")}</span>
                    <Button variant=ButtonVariant::Secondary disabled=Signal::stored(pg >= last) attr:data-testid="calls-next"
                        on:click=move |_| params.update(|p| p.page = Some(pg + 1))>{t!(i18n, calls.next)}</Button>
                </div>
            </div>
        </div>
    }
}
