//! `/app/analytics`: filters (dates, campaign, agent), headline figures
//! against the previous period, charts each followed by their table, the
//! leaderboards, per-phase scores and voice latency — every table also as
//! CSV. Admins and Owners (`view_analytics`).

use chrono::NaiveDate;
use domain::analytics::{AnalyticsQuery, Dashboard, Leader, Totals};
use domain::Permission;
use leptos::prelude::*;
use uuid::Uuid;

use super::charts::{BarsChart, DayPoint, DaysChart};
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale, Locale};
use crate::ui::{Card, EmptyState, FormError, Skeleton};

use crate::ui::COMPACT_CONTROL as CONTROL;

fn query_string(q: &AnalyticsQuery) -> String {
    let mut out = Vec::new();
    if let Some(f) = q.from {
        out.push(format!("from={f}"));
    }
    if let Some(u) = q.until {
        out.push(format!("until={u}"));
    }
    if let Some(c) = q.campaign_id {
        out.push(format!("campaign_id={c}"));
    }
    if let Some(a) = q.agent_id {
        out.push(format!("agent_id={a}"));
    }
    out.join("&")
}

#[component]
pub fn AnalyticsPage() -> impl IntoView {
    let i18n = use_i18n();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    if !org.role.allows(Permission::ViewAnalytics) {
        return view! {
            <div class="space-y-2">
                <h1 class="text-2xl font-bold">{t!(i18n, analytics.title)}</h1>
                <p class="text-sm text-slate-500" data-testid="analytics-forbidden">{t!(i18n, analytics.admins_only)}</p>
            </div>
        }
        .into_any();
    }
    let query = RwSignal::new(AnalyticsQuery::default());
    let dashboard = Resource::new(move || query.get(), move |q| super::api::analytics_dashboard(org_id, q));
    let agents = Resource::new(|| (), move |_| crate::features::calls::api::voice_agents(org_id));
    let campaigns = Resource::new(|| (), move |_| super::api::analytics_campaigns(org_id));
    let set_date = move |f: fn(&mut AnalyticsQuery, Option<NaiveDate>), v: String| {
        query.update(|q| f(q, NaiveDate::parse_from_str(&v, "%Y-%m-%d").ok()))
    };
    let set_id =
        move |f: fn(&mut AnalyticsQuery, Option<Uuid>), v: String| query.update(|q| f(q, v.parse().ok()));
    view! {
        <div class="space-y-6">
            <div>
                <h1 class="text-2xl font-bold">{t!(i18n, analytics.title)}</h1>
                <p class="text-sm text-slate-500">{t!(i18n, analytics.intro)}</p>
            </div>
            <Card>
                <div class="grid gap-3 sm:grid-cols-4" data-testid="analytics-filters">
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, analytics.from)}</span>
                        <input type="date" class=CONTROL data-testid="analytics-from" on:change=move |ev| set_date(|q, d| q.from = d, event_target_value(&ev))/>
                    </label>
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, analytics.until)}</span>
                        <input type="date" class=CONTROL data-testid="analytics-until" on:change=move |ev| set_date(|q, d| q.until = d, event_target_value(&ev))/>
                    </label>
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, analytics.campaign)}</span>
                        <select class=CONTROL data-testid="analytics-campaign" on:change=move |ev| set_id(|q, v| q.campaign_id = v, event_target_value(&ev))>
                            <option value="">{t!(i18n, analytics.all)}</option>
                            <Suspense fallback=|| ()>
                                {move || campaigns.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|(id, n)| view! { <option value=id.to_string()>{n}</option> }).collect_view()}
                            </Suspense>
                        </select>
                    </label>
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, analytics.agent)}</span>
                        <select class=CONTROL data-testid="analytics-agent" on:change=move |ev| set_id(|q, v| q.agent_id = v, event_target_value(&ev))>
                            <option value="">{t!(i18n, analytics.all)}</option>
                            <Suspense fallback=|| ()>
                                {move || agents.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|(id, n)| view! { <option value=id.to_string()>{n}</option> }).collect_view()}
                            </Suspense>
                        </select>
                    </label>
                </div>
            </Card>
            <Transition fallback=|| view! { <Skeleton lines=10/> }>
                {move || dashboard.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(d) if d.totals.calls == 0 && d.previous.calls == 0 => view! {
                        <EmptyState title=Signal::derive(move || t_string!(i18n, analytics.empty_title).to_string())
                            body=Signal::derive(move || t_string!(i18n, analytics.empty_body).to_string())/>
                    }.into_any(),
                    Ok(d) => view! { <DashboardView d org_id csv_query=query_string(&query.get_untracked())/> }.into_any(),
                })}
            </Transition>
        </div>
    }
    .into_any()
}

fn pct(v: Option<f64>) -> String {
    v.map(|r| format!("{:.0} %", r * 100.0)).unwrap_or_else(|| "—".into())
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}")).unwrap_or_else(|| "—".into())
}

/// "+12 %" against the previous period (nothing when there was nothing).
fn delta(now: f64, before: f64) -> Option<String> {
    (before > 0.0).then(|| {
        let d = (now - before) / before * 100.0;
        format!("{}{:.0} %", if d >= 0.0 { "+" } else { "" }, d)
    })
}

#[component]
fn Headline(key: &'static str, label: String, value: String, change: Option<String>) -> impl IntoView {
    view! {
        <div class="rounded-lg bg-white p-3 ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-700">
            <div class="text-xs text-slate-500">{label}</div>
            <div class="text-2xl font-semibold tabular-nums" data-testid=format!("kpi-{key}")>{value}</div>
            {change.map(|c| view! { <div class="text-xs text-slate-500" data-testid=format!("kpi-{key}-change")>{c}</div> })}
        </div>
    }
}

#[component]
fn Csv(org_id: Uuid, table: &'static str, query: String) -> impl IntoView {
    let i18n = use_i18n();
    let sep = if query.is_empty() { "" } else { "&" };
    let href = format!("/api/v1/orgs/{org_id}/analytics/export.csv?table={table}{sep}{query}");
    view! {
        <a href=href download class="text-sm text-indigo-700 hover:underline dark:text-indigo-300" data-testid=format!("csv-{table}")>{t!(i18n, analytics.csv)}</a>
    }
}

fn headlines(
    i18n: leptos_i18n::I18nContext<Locale>,
    locale: domain::Locale,
    t: &Totals,
    p: &Totals,
) -> Vec<AnyView> {
    let int = |n: u64| crate::format::integer(locale, n as i64);
    vec![
        view! { <Headline key="calls" label=t_string!(i18n, analytics.calls).to_string() value=int(t.calls) change=delta(t.calls as f64, p.calls as f64)/> }.into_any(),
        view! { <Headline key="connect_rate" label=t_string!(i18n, analytics.connect_rate).to_string() value=pct(t.connect_rate) change=None/> }.into_any(),
        view! { <Headline key="answer_rate" label=t_string!(i18n, analytics.answer_rate).to_string() value=pct(t.answer_rate) change=None/> }.into_any(),
        view! { <Headline key="meetings" label=t_string!(i18n, analytics.meetings).to_string() value=int(t.meetings) change=delta(t.meetings as f64, p.meetings as f64)/> }.into_any(),
        view! { <Headline key="duration" label=t_string!(i18n, analytics.avg_duration).to_string() value=t.avg_duration_s.map(|s| crate::features::calls::labels::duration((s * 1000.0) as i64)).unwrap_or_else(|| "—".into()) change=None/> }.into_any(),
        view! { <Headline key="sentiment" label=t_string!(i18n, analytics.sentiment).to_string() value=num(t.avg_sentiment, 2) change=None/> }.into_any(),
        view! { <Headline key="cost" label=t_string!(i18n, analytics.cost_per_meeting).to_string() value=num(t.cost_per_meeting, 2) change=None/> }.into_any(),
    ]
}

#[component]
fn DashboardView(d: Dashboard, org_id: Uuid, csv_query: String) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let days: Vec<DayPoint> = d
        .days
        .iter()
        .filter_map(|r| {
            let day = r.day.and_hms_opt(0, 0, 0)?.and_utc();
            Some(DayPoint { day, values: vec![r.calls as f64, r.connected as f64, r.meetings as f64] })
        })
        .collect();
    let sentiment: Vec<DayPoint> = d
        .days
        .iter()
        .filter_map(|r| {
            Some(DayPoint {
                day: r.day.and_hms_opt(0, 0, 0)?.and_utc(),
                values: vec![r.avg_sentiment.unwrap_or(f64::NAN)],
            })
        })
        .collect();
    let funnel_labels: Vec<String> = d.funnel.iter().map(|s| stage_label(i18n, &s.stage)).collect();
    let funnel_values: Vec<f64> = d.funnel.iter().map(|s| s.count as f64).collect();
    let phase_labels: Vec<String> =
        d.phases.iter().map(|p| crate::features::copilot::labels::phase_label(i18n, p.phase)).collect();
    let phase_values: Vec<f64> = d.phases.iter().map(|p| p.average.unwrap_or(0.0)).collect();
    let q = csv_query;
    let (q_days, q_funnel, q_phases, q_latency, q_agents) =
        (q.clone(), q.clone(), q.clone(), q.clone(), q.clone());
    let (totals, previous) = (d.totals.clone(), d.previous.clone());
    let period = t_string!(
        i18n,
        analytics.period,
        from = d.from.to_string(),
        until = d.until.to_string(),
        previous = d.previous.calls
    )
    .to_string();
    view! {
        <section class="space-y-6" data-testid="analytics-dashboard">
            <div class="grid grid-cols-2 gap-3 sm:grid-cols-4 lg:grid-cols-7">
                {move || headlines(i18n, locale.get(), &totals, &previous)}
            </div>
            <p class="text-xs text-slate-500" data-testid="analytics-period">
                {period}
            </p>
            <Card>
                <div class="flex items-center justify-between"><h2 class="font-semibold">{t!(i18n, analytics.per_day)}</h2><Csv org_id table="days" query=q_days/></div>
                <DaysChart data=Signal::stored(days) names=vec![t_string!(i18n, analytics.calls).to_string(), t_string!(i18n, analytics.connected).to_string(), t_string!(i18n, analytics.meetings).to_string()]/>
                <details class="mt-2 text-sm">
                    <summary class="cursor-pointer">{t!(i18n, analytics.as_table)}</summary>
                    <table class="mt-2 min-w-full text-sm" data-testid="table-days">
                        <thead><tr>
                            <th scope="col" class="text-left">{t!(i18n, analytics.day)}</th>
                            <th scope="col" class="text-right">{t!(i18n, analytics.calls)}</th>
                            <th scope="col" class="text-right">{t!(i18n, analytics.connected)}</th>
                            <th scope="col" class="text-right">{t!(i18n, analytics.meetings)}</th>
                            <th scope="col" class="text-right">{t!(i18n, analytics.sentiment)}</th>
                        </tr></thead>
                        <tbody>{d.days.iter().map(|r| view! {
                            <tr><td>{r.day.to_string()}</td><td class="text-right">{r.calls}</td><td class="text-right">{r.connected}</td><td class="text-right">{r.meetings}</td><td class="text-right">{num(r.avg_sentiment, 2)}</td></tr>
                        }).collect_view()}</tbody>
                    </table>
                </details>
            </Card>
            <div class="grid gap-6 lg:grid-cols-2">
                <Card>
                    <div class="flex items-center justify-between"><h2 class="font-semibold">{t!(i18n, analytics.funnel)}</h2><Csv org_id table="funnel" query=q_funnel/></div>
                    <BarsChart labels=funnel_labels.clone() values=Signal::stored(funnel_values) name=t_string!(i18n, analytics.calls).to_string()/>
                    <table class="mt-2 min-w-full text-sm" data-testid="table-funnel">
                        <caption class="sr-only">{t!(i18n, analytics.funnel)}</caption>
                        <tbody>{d.funnel.iter().zip(funnel_labels).map(|(s, l)| view! { <tr><th scope="row" class="text-left font-normal">{l}</th><td class="text-right tabular-nums">{s.count}</td></tr> }).collect_view()}</tbody>
                    </table>
                </Card>
                <Card>
                    <div class="flex items-center justify-between"><h2 class="font-semibold">{t!(i18n, analytics.sentiment_trend)}</h2></div>
                    <DaysChart data=Signal::stored(sentiment) names=vec![t_string!(i18n, analytics.sentiment).to_string()] min_y=-1.0/>
                    <p class="text-xs text-slate-500">{t!(i18n, analytics.sentiment_hint)}</p>
                </Card>
                <Card>
                    <div class="flex items-center justify-between"><h2 class="font-semibold">{t!(i18n, analytics.phases)}</h2><Csv org_id table="phases" query=q_phases/></div>
                    <BarsChart labels=phase_labels.clone() values=Signal::stored(phase_values) name=t_string!(i18n, analytics.score).to_string()/>
                    <table class="mt-2 min-w-full text-sm" data-testid="table-phases">
                        <caption class="sr-only">{t!(i18n, analytics.phases)}</caption>
                        <tbody>{d.phases.iter().zip(phase_labels).map(|(p, l)| view! { <tr><th scope="row" class="text-left font-normal">{l}</th><td class="text-right tabular-nums">{num(p.average, 1)}</td><td class="text-right text-slate-500">{p.scored}</td></tr> }).collect_view()}</tbody>
                    </table>
                </Card>
                <Card>
                    <div class="flex items-center justify-between"><h2 class="font-semibold">{t!(i18n, analytics.latency)}</h2><Csv org_id table="latency" query=q_latency/></div>
                    <table class="mt-2 min-w-full text-sm" data-testid="table-latency">
                        <thead><tr>
                            <th scope="col" class="text-left">{t!(i18n, analytics.agent)}</th>
                            <th scope="col" class="text-right">"p50"</th><th scope="col" class="text-right">"p90"</th>
                            <th scope="col" class="text-right">{t!(i18n, analytics.replies)}</th>
                        </tr></thead>
                        <tbody>{d.latency.iter().map(|l| view! {
                            <tr><td>{l.name.clone()}</td><td class="text-right tabular-nums">{num(l.p50_ms, 0)}" ms"</td><td class="text-right tabular-nums">{num(l.p90_ms, 0)}" ms"</td><td class="text-right">{l.replies}</td></tr>
                        }).collect_view()}</tbody>
                    </table>
                </Card>
            </div>
            <div class="grid gap-6 lg:grid-cols-2">
                <Board title=Signal::derive(move || t_string!(i18n, analytics.agents).to_string()) rows=d.agents.clone() org_id table="agents" query=q_agents/>
                <Board title=Signal::derive(move || t_string!(i18n, analytics.reps).to_string()) rows=d.reps.clone() org_id table="reps" query=q/>
            </div>
        </section>
    }
}

#[component]
fn Board(
    title: Signal<String>,
    rows: Vec<Leader>,
    org_id: Uuid,
    table: &'static str,
    query: String,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Card>
            <div class="flex items-center justify-between"><h2 class="font-semibold">{move || title.get()}</h2><Csv org_id table query/></div>
            <table class="mt-2 min-w-full text-sm" data-testid=format!("table-{table}")>
                <thead><tr>
                    <th scope="col" class="text-left">{t!(i18n, analytics.name)}</th>
                    <th scope="col" class="text-right">{t!(i18n, analytics.calls)}</th>
                    <th scope="col" class="text-right">{t!(i18n, analytics.connected)}</th>
                    <th scope="col" class="text-right">{t!(i18n, analytics.meetings)}</th>
                    <th scope="col" class="text-right">{t!(i18n, analytics.meeting_rate)}</th>
                    <th scope="col" class="text-right">{t!(i18n, analytics.score)}</th>
                </tr></thead>
                <tbody>{rows.into_iter().map(|r| view! {
                    <tr><td>{r.name}</td><td class="text-right tabular-nums">{r.calls}</td><td class="text-right tabular-nums">{r.connected}</td>
                        <td class="text-right tabular-nums">{r.meetings}</td><td class="text-right tabular-nums">{pct(r.meeting_rate)}</td><td class="text-right tabular-nums">{num(r.avg_score, 1)}</td></tr>
                }).collect_view()}</tbody>
            </table>
        </Card>
    }
}

fn stage_label(i18n: leptos_i18n::I18nContext<Locale>, stage: &str) -> String {
    match stage {
        "dialled" => t_string!(i18n, analytics.s_dialled),
        "connected" => t_string!(i18n, analytics.s_connected),
        "conversation" => t_string!(i18n, analytics.s_conversation),
        "interested" => t_string!(i18n, analytics.s_interested),
        _ => t_string!(i18n, analytics.s_meeting),
    }
    .to_string()
}
