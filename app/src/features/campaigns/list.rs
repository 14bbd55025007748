//! The campaigns list, and a new campaign's settings (Admins and Owners):
//! agent, lines at once, calling hours per weekday and whose clock they
//! read, retries per result, and the dates it runs between.

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use domain::campaign::{CampaignSettings, CampaignZone, RetryPolicy, RetryRule, WeeklyWindows};
use domain::compliance::CallingWindow;
use domain::Permission;
use leptos::prelude::*;
use leptos_router::components::A;

use super::api::CreateCampaign;
use super::labels::{status_label, status_tone};
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{Badge, Button, Card, EmptyState, FormError, Skeleton};

pub(crate) const CONTROL: &str = "block w-full rounded-md border-0 bg-white px-2 py-1.5 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600";

#[component]
pub fn CampaignsPage() -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let can_manage = org.role.allows(Permission::ManageCampaigns);
    let list = Resource::new(|| (), move |_| super::api::list_campaigns(org_id));
    view! {
        <div class="space-y-4">
            <div>
                <h1 class="text-2xl font-bold">{t!(i18n, campaigns.title)}</h1>
                <p class="text-sm text-slate-500">{t!(i18n, campaigns.intro)}</p>
            </div>
            {can_manage.then(|| view! { <NewCampaign org_id/> })}
            <Transition fallback=|| view! { <Skeleton lines=4/> }>
                {move || list.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! {
                        <EmptyState title=Signal::derive(move || t_string!(i18n, campaigns.empty_title).to_string())
                            body=Signal::derive(move || t_string!(i18n, campaigns.empty_body).to_string())/>
                    }.into_any(),
                    Ok(rows) => view! {
                        <div class="overflow-x-auto rounded-lg ring-1 ring-slate-200 dark:ring-slate-700">
                            <table class="min-w-full text-sm" data-testid="campaigns-table">
                                <thead class="bg-slate-50 dark:bg-slate-800">
                                    <tr>
                                        <th scope="col" class="px-3 py-2 text-left font-semibold">{t!(i18n, campaigns.col_name)}</th>
                                        <th scope="col" class="px-3 py-2 text-left font-semibold">{t!(i18n, campaigns.col_status)}</th>
                                        <th scope="col" class="px-3 py-2 text-right font-semibold">{t!(i18n, campaigns.col_prospects)}</th>
                                        <th scope="col" class="px-3 py-2 text-right font-semibold">{t!(i18n, campaigns.col_done)}</th>
                                        <th scope="col" class="px-3 py-2 text-right font-semibold">{t!(i18n, campaigns.col_meetings)}</th>
                                        <th scope="col" class="px-3 py-2 text-left font-semibold">{t!(i18n, campaigns.col_created)}</th>
                                    </tr>
                                </thead>
                                <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                                    {rows.into_iter().map(|c| view! {
                                        <tr data-testid="campaign-row">
                                            <td class="px-3 py-2">
                                                <A href=format!("/app/campaigns/{}", c.id) attr:class="text-indigo-700 hover:underline dark:text-indigo-300">{c.settings.name.clone()}</A>
                                            </td>
                                            <td class="px-3 py-2"><Badge tone=status_tone(c.status)>{status_label(i18n, c.status)}</Badge></td>
                                            <td class="px-3 py-2 text-right tabular-nums">{c.counts.total}</td>
                                            <td class="px-3 py-2 text-right tabular-nums">{c.counts.done}</td>
                                            <td class="px-3 py-2 text-right tabular-nums">{c.counts.meetings_booked}</td>
                                            <td class="px-3 py-2 whitespace-nowrap">{move || crate::format::datetime(locale.get(), c.created_at)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                })}
            </Transition>
        </div>
    }
    .into_any()
}

/// `"09:00-12:00, 14:00-18:00"` → spans (empty text: none).
fn parse_spans(text: &str) -> Option<Vec<CallingWindow>> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-')?;
        let start = domain::compliance::parse_hhmm(a.trim())?;
        let end = domain::compliance::parse_hhmm(b.trim())?;
        out.push(CallingWindow { start_minute: start, end_minute: end });
    }
    Some(out)
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[component]
fn NewCampaign(org_id: uuid::Uuid) -> impl IntoView {
    let i18n = use_i18n();
    let create = ServerAction::<CreateCampaign>::new();
    let agents = Resource::new(|| (), move |_| crate::features::calls::api::voice_agents(org_id));
    let name = RwSignal::new(String::new());
    let agent = RwSignal::new(String::new());
    let concurrency = RwSignal::new("3".to_string());
    let zone_fixed = RwSignal::new(false);
    let zone = RwSignal::new("Europe/Paris".to_string());
    let days: [RwSignal<bool>; 7] = std::array::from_fn(|i| RwSignal::new(i < 5));
    let hours = RwSignal::new("09:00-12:00, 14:00-18:00".to_string());
    let starts = RwSignal::new(String::new());
    let ends = RwSignal::new(String::new());
    let defaults = RetryPolicy::default();
    let retry: [(RwSignal<String>, RwSignal<String>); 4] =
        [defaults.no_answer, defaults.busy, defaults.voicemail, defaults.failed]
            .map(|r| (RwSignal::new(r.max_attempts.to_string()), RwSignal::new(r.delay_minutes.to_string())));
    let local_error = RwSignal::new(None::<String>);
    // Created: to its page.
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(c)) = create.value().get() {
            navigate(&format!("/app/campaigns/{}", c.id), Default::default());
        }
    });
    let submit = move |_| {
        local_error.set(None);
        let Some(spans) = parse_spans(&hours.get_untracked()) else {
            local_error.set(Some(t_string!(i18n, campaigns.bad_hours).to_string()));
            return;
        };
        let mut windows = WeeklyWindows::closed();
        for (i, d) in DAYS.iter().enumerate() {
            if days[i].get_untracked() {
                let slot = match *d {
                    "mon" => &mut windows.mon,
                    "tue" => &mut windows.tue,
                    "wed" => &mut windows.wed,
                    "thu" => &mut windows.thu,
                    "fri" => &mut windows.fri,
                    "sat" => &mut windows.sat,
                    _ => &mut windows.sun,
                };
                *slot = spans.clone();
            }
        }
        let num = |s: RwSignal<String>| s.get_untracked().trim().parse::<u32>().unwrap_or(0);
        let rule = |i: usize| RetryRule { max_attempts: num(retry[i].0), delay_minutes: num(retry[i].1) };
        let date = |s: RwSignal<String>| {
            NaiveDate::parse_from_str(s.get_untracked().trim(), "%Y-%m-%d")
                .ok()
                .map(|d| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)))
        };
        let settings = CampaignSettings {
            name: name.get_untracked(),
            agent_id: agent.get_untracked().parse().unwrap_or_default(),
            script_id: None,
            trunk_id: None,
            from_number: None,
            starts_at: date(starts),
            ends_at: date(ends),
            windows,
            zone: if zone_fixed.get_untracked() {
                CampaignZone::Fixed { zone: zone.get_untracked() }
            } else {
                CampaignZone::Prospect
            },
            concurrency: num(concurrency),
            retry: RetryPolicy { no_answer: rule(0), busy: rule(1), voicemail: rule(2), failed: rule(3) },
        };
        create.dispatch(CreateCampaign { org_id, settings });
    };
    let server_error = move || create.value().get().and_then(|r| r.err()).map(|e| describe(i18n, &e));
    let day_name = move |i: usize| -> String {
        match i {
            0 => t_string!(i18n, campaigns.mon),
            1 => t_string!(i18n, campaigns.tue),
            2 => t_string!(i18n, campaigns.wed),
            3 => t_string!(i18n, campaigns.thu),
            4 => t_string!(i18n, campaigns.fri),
            5 => t_string!(i18n, campaigns.sat),
            _ => t_string!(i18n, campaigns.sun),
        }
        .to_string()
    };
    let result_name = move |i: usize| -> String {
        match i {
            0 => t_string!(i18n, campaigns.r_no_answer),
            1 => t_string!(i18n, campaigns.r_busy),
            2 => t_string!(i18n, campaigns.r_voicemail),
            _ => t_string!(i18n, campaigns.r_failed),
        }
        .to_string()
    };
    view! {
        <Card>
            <details data-testid="new-campaign">
                <summary class="cursor-pointer font-semibold" data-testid="new-campaign-open">{t!(i18n, campaigns.new_campaign)}</summary>
                <div class="mt-4 grid gap-4 sm:grid-cols-2">
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, campaigns.f_name)}</span>
                        <input class=CONTROL data-testid="campaign-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                    </label>
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, campaigns.f_agent)}</span>
                        <select class=CONTROL data-testid="campaign-agent" on:change=move |ev| agent.set(event_target_value(&ev))>
                            <option value="">{t!(i18n, campaigns.choose)}</option>
                            <Suspense fallback=|| ()>
                                {move || agents.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|(id, n)| {
                                    view! { <option value=id.to_string()>{n}</option> }
                                }).collect_view()}
                            </Suspense>
                        </select>
                    </label>
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, campaigns.f_concurrency)}</span>
                        <input type="number" min="1" max="50" class=CONTROL data-testid="campaign-concurrency" prop:value=move || concurrency.get() on:input=move |ev| concurrency.set(event_target_value(&ev))/>
                    </label>
                    <div class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, campaigns.f_zone)}</span>
                        <label class="mr-4"><input type="radio" name="zone" checked=move || !zone_fixed.get() on:change=move |_| zone_fixed.set(false)/>" "{t!(i18n, campaigns.zone_prospect)}</label>
                        <label><input type="radio" name="zone" data-testid="campaign-zone-fixed" checked=move || zone_fixed.get() on:change=move |_| zone_fixed.set(true)/>" "{t!(i18n, campaigns.zone_fixed)}</label>
                        <Show when=move || zone_fixed.get()>
                            <input class=format!("{CONTROL} mt-2") data-testid="campaign-zone" prop:value=move || zone.get() on:input=move |ev| zone.set(event_target_value(&ev))/>
                        </Show>
                    </div>
                    <fieldset class="text-sm sm:col-span-2">
                        <legend class="mb-1 text-slate-500">{t!(i18n, campaigns.f_hours)}</legend>
                        <div class="flex flex-wrap gap-3">
                            {(0..7).map(|i| view! {
                                <label><input type="checkbox" data-testid=format!("campaign-day-{}", DAYS[i]) prop:checked=move || days[i].get()
                                    on:change=move |ev| days[i].set(event_target_checked(&ev))/>" "{move || day_name(i)}</label>
                            }).collect_view()}
                        </div>
                        <input class=format!("{CONTROL} mt-2") data-testid="campaign-hours" aria-label=move || t_string!(i18n, campaigns.f_hours).to_string()
                            prop:value=move || hours.get() on:input=move |ev| hours.set(event_target_value(&ev))/>
                        <p class="mt-1 text-xs text-slate-500">{t!(i18n, campaigns.hours_hint)}</p>
                    </fieldset>
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, campaigns.f_starts)}</span>
                        <input type="date" class=CONTROL prop:value=move || starts.get() on:change=move |ev| starts.set(event_target_value(&ev))/>
                    </label>
                    <label class="text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, campaigns.f_ends)}</span>
                        <input type="date" class=CONTROL prop:value=move || ends.get() on:change=move |ev| ends.set(event_target_value(&ev))/>
                    </label>
                    <table class="text-sm sm:col-span-2">
                        <caption class="text-left text-slate-500">{t!(i18n, campaigns.f_retries)}</caption>
                        <thead><tr>
                            <th scope="col" class="text-left font-medium">{t!(i18n, campaigns.f_result)}</th>
                            <th scope="col" class="text-left font-medium">{t!(i18n, campaigns.f_attempts)}</th>
                            <th scope="col" class="text-left font-medium">{t!(i18n, campaigns.f_delay)}</th>
                        </tr></thead>
                        <tbody>
                            {(0..4).map(|i| view! {
                                <tr>
                                    <td class="pr-2">{move || result_name(i)}</td>
                                    <td class="pr-2 py-1"><input type="number" min="1" max="10" class=CONTROL prop:value=move || retry[i].0.get() on:input=move |ev| retry[i].0.set(event_target_value(&ev))/></td>
                                    <td class="py-1"><input type="number" min="5" class=CONTROL prop:value=move || retry[i].1.get() on:input=move |ev| retry[i].1.set(event_target_value(&ev))/></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <div class="mt-4 flex items-center gap-3">
                    <Button busy=create.pending() attr:data-testid="campaign-create" on:click=submit>{t!(i18n, campaigns.create)}</Button>
                    <FormError message=Signal::derive(move || local_error.get().or_else(server_error))/>
                </div>
            </details>
        </Card>
    }
}
