//! `/app/usage`: what the organisation used per day (charts, each with
//! its table), per agent and per API key, the current period against the
//! plan, and the days as CSV. Admins and Owners.

use chrono::NaiveDate;
use domain::billing::views::{UsageBy, UsageQuery, UsageReport};
use domain::Permission;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::features::analytics::charts::{DayPoint, DaysChart};
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{Card, FormError, Skeleton};

use crate::ui::COMPACT_CONTROL as CONTROL;

#[component]
pub fn UsagePage() -> impl IntoView {
    let i18n = use_i18n();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    if !org.role.allows(Permission::ViewAnalytics) {
        return view! {
            <div class="space-y-2">
                <h1 class="text-2xl font-bold">{t!(i18n, billing.usage_title)}</h1>
                <p class="text-sm text-slate-500" data-testid="usage-forbidden">{t!(i18n, billing.admins_only)}</p>
            </div>
        }
        .into_any();
    }
    let query = RwSignal::new(UsageQuery::default());
    let report = Resource::new(move || query.get(), move |q| super::api::get_usage(org_id, q));
    let set_date = move |from: bool, v: String| {
        let d = NaiveDate::parse_from_str(&v, "%Y-%m-%d").ok();
        query.update(|q| if from { q.from = d } else { q.until = d });
    };
    view! {
        <div class="space-y-6">
            <div class="flex flex-wrap items-end justify-between gap-3">
                <div>
                    <h1 class="text-2xl font-bold">{t!(i18n, billing.usage_title)}</h1>
                    <p class="text-sm text-slate-500">{t!(i18n, billing.usage_intro)}</p>
                </div>
                <A href="/app/billing" attr:class="text-sm text-indigo-700 hover:underline dark:text-indigo-300">{t!(i18n, billing.title)}</A>
            </div>
            <Card>
                <div class="grid gap-3 sm:grid-cols-3">
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, analytics.from)}</span>
                        <input type="date" class=CONTROL data-testid="usage-from" on:change=move |ev| set_date(true, event_target_value(&ev))/>
                    </label>
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, analytics.until)}</span>
                        <input type="date" class=CONTROL data-testid="usage-until" on:change=move |ev| set_date(false, event_target_value(&ev))/>
                    </label>
                </div>
            </Card>
            <Transition fallback=|| view! { <Skeleton lines=10/> }>
                {move || report.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(r) => view! { <Report r org_id/> }.into_any(),
                })}
            </Transition>
        </div>
    }
    .into_any()
}

fn minutes(s: i64) -> f64 {
    s as f64 / 60.0
}

#[component]
fn Report(r: UsageReport, org_id: uuid::Uuid) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let points = |f: fn(&domain::billing::Usage) -> Vec<f64>| {
        r.days
            .iter()
            .map(|d| DayPoint {
                day: d.day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default(),
                values: f(&d.usage),
            })
            .collect::<Vec<_>>()
    };
    let speech = points(|u| vec![minutes(u.call_seconds), minutes(u.stt_seconds)]);
    let tokens = points(|u| vec![u.llm_input_tokens as f64, u.llm_output_tokens as f64]);
    let chars = points(|u| vec![u.tts_characters as f64]);
    let csv = format!("/api/v1/orgs/{org_id}/usage/export.csv?from={}&until={}", r.from, r.until);
    let meters = super::page::meters(i18n, &r.overview.limits, &r.overview.used);
    let n = move |v: i64| crate::format::integer(locale.get(), v);
    let days = r.days.clone();
    view! {
        <Card>
            <h2 class="font-semibold">{move || t_string!(i18n, billing.this_period, from = crate::format::date(locale.get(), r.overview.period_start), until = crate::format::date(locale.get(), r.overview.period_end)).to_string()}</h2>
            <div class="mt-2 grid gap-3 sm:grid-cols-2" data-testid="usage-period">
                {meters.into_iter().map(|(key, label, used, limit)| view! { <super::page::Meter key label used limit/> }).collect_view()}
            </div>
            {r.overview.estimate.clone().map(|m| view! { <super::page::Estimate m/> })}
        </Card>
        <Card>
            <div class="mb-2 flex items-center justify-between">
                <h2 class="font-semibold">{t!(i18n, billing.per_day)}</h2>
                <a href=csv class="text-sm text-indigo-700 hover:underline dark:text-indigo-300" data-testid="usage-csv" download>{t!(i18n, billing.export)}</a>
            </div>
            <h3 class="text-sm text-slate-500">{t!(i18n, billing.minutes_chart)}</h3>
            <DaysChart data=Signal::derive(move || speech.clone()) names=vec![t_string!(i18n, billing.call_minutes).to_string(), t_string!(i18n, billing.stt_minutes).to_string()]/>
            <h3 class="mt-4 text-sm text-slate-500">{t!(i18n, billing.tokens_chart)}</h3>
            <DaysChart data=Signal::derive(move || tokens.clone()) names=vec![t_string!(i18n, billing.input_tokens).to_string(), t_string!(i18n, billing.output_tokens).to_string()]/>
            <h3 class="mt-4 text-sm text-slate-500">{t!(i18n, billing.tts_characters)}</h3>
            <DaysChart data=Signal::derive(move || chars.clone()) names=vec![t_string!(i18n, billing.tts_characters).to_string()]/>
            <div class="mt-4 overflow-x-auto">
                <table class="min-w-full text-sm" data-testid="usage-days">
                    <caption class="sr-only">{t!(i18n, billing.per_day)}</caption>
                    <thead><tr>
                        <th scope="col" class="px-2 py-1 text-left">{t!(i18n, billing.day)}</th>
                        <th scope="col" class="px-2 py-1 text-right">{t!(i18n, billing.call_minutes)}</th>
                        <th scope="col" class="px-2 py-1 text-right">{t!(i18n, billing.input_tokens)}</th>
                        <th scope="col" class="px-2 py-1 text-right">{t!(i18n, billing.output_tokens)}</th>
                        <th scope="col" class="px-2 py-1 text-right">{t!(i18n, billing.stt_minutes)}</th>
                        <th scope="col" class="px-2 py-1 text-right">{t!(i18n, billing.tts_characters)}</th>
                    </tr></thead>
                    <tbody>
                        {days.into_iter().filter(|d| !d.usage.is_empty()).map(|d| {
                            let u = d.usage;
                            view! {
                                <tr>
                                    <td class="px-2 py-1 whitespace-nowrap">{move || crate::format::date(locale.get(), d.day.and_hms_opt(12, 0, 0).map(|t| t.and_utc()).unwrap_or_default())}</td>
                                    <td class="px-2 py-1 text-right tabular-nums">{move || crate::format::minutes(locale.get(), u.call_seconds)}</td>
                                    <td class="px-2 py-1 text-right tabular-nums">{move || n(u.llm_input_tokens)}</td>
                                    <td class="px-2 py-1 text-right tabular-nums">{move || n(u.llm_output_tokens)}</td>
                                    <td class="px-2 py-1 text-right tabular-nums">{move || crate::format::minutes(locale.get(), u.stt_seconds)}</td>
                                    <td class="px-2 py-1 text-right tabular-nums">{move || n(u.tts_characters)}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </Card>
        <ByTable title=Signal::derive(move || t_string!(i18n, billing.by_agent).to_string()) rows=r.by_agent testid="usage-agents"/>
        <ByTable title=Signal::derive(move || t_string!(i18n, billing.by_key).to_string()) rows=r.by_api_key testid="usage-keys"/>
    }
}

#[component]
fn ByTable(title: Signal<String>, rows: Vec<UsageBy>, testid: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let n = move |v: i64| crate::format::integer(locale.get(), v);
    view! {
        <Card>
            <h2 class="mb-2 font-semibold">{move || title.get()}</h2>
            <div class="overflow-x-auto">
                <table class="min-w-full text-sm" data-testid=testid>
                    <thead><tr>
                        <th scope="col" class="px-2 py-1 text-left">{t!(i18n, billing.name)}</th>
                        <th scope="col" class="px-2 py-1 text-right">{t!(i18n, billing.events)}</th>
                        <th scope="col" class="px-2 py-1 text-right">{t!(i18n, billing.call_minutes)}</th>
                        <th scope="col" class="px-2 py-1 text-right">{t!(i18n, billing.llm_tokens)}</th>
                        <th scope="col" class="px-2 py-1 text-right">{t!(i18n, billing.stt_minutes)}</th>
                        <th scope="col" class="px-2 py-1 text-right">{t!(i18n, billing.tts_characters)}</th>
                    </tr></thead>
                    <tbody>
                        {rows.into_iter().map(|b| {
                            let u = b.usage;
                            let name = if b.name.is_empty() { t_string!(i18n, billing.none).to_string() } else { b.name.clone() };
                            view! {
                                <tr>
                                    <td class="px-2 py-1">{name}</td>
                                    <td class="px-2 py-1 text-right tabular-nums">{move || n(b.events as i64)}</td>
                                    <td class="px-2 py-1 text-right tabular-nums">{move || crate::format::minutes(locale.get(), u.call_seconds)}</td>
                                    <td class="px-2 py-1 text-right tabular-nums">{move || n(u.llm_input_tokens.saturating_add(u.llm_output_tokens))}</td>
                                    <td class="px-2 py-1 text-right tabular-nums">{move || crate::format::minutes(locale.get(), u.stt_seconds)}</td>
                                    <td class="px-2 py-1 text-right tabular-nums">{move || n(u.tts_characters)}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </Card>
    }
}
