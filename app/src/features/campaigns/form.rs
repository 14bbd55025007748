//! A campaign's settings as a form, for a new campaign and for changing
//! one that is not over: name, voice agent, the script it follows, the
//! line it calls from, calling hours per weekday and whose clock they
//! read, dates, calls at once and retries per result. What can be checked
//! here is, before anything is sent; the server checks the rest (a script
//! in another language than the agent's, a line that cannot dial).

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use domain::campaign::{CampaignSettings, CampaignZone, RetryPolicy, RetryRule, WeeklyWindows};
use domain::compliance::{hhmm, CallingWindow};
use domain::telephony::TrunkDirection;
use leptos::prelude::*;
use uuid::Uuid;

use crate::i18n::{t, t_string, use_i18n};
use crate::ui::{Button, ButtonVariant, FormError};

pub(crate) use crate::ui::COMPACT_CONTROL as CONTROL;

pub(crate) const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// `"09:00-12:00, 14:00-18:00"` → spans (empty text: none).
pub(crate) fn parse_spans(text: &str) -> Option<Vec<CallingWindow>> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-')?;
        let start = domain::compliance::parse_hhmm(a.trim())?;
        let end = domain::compliance::parse_hhmm(b.trim())?;
        out.push(CallingWindow { start_minute: start, end_minute: end });
    }
    Some(out)
}

/// Spans back to the text the form shows.
pub(crate) fn spans_text(spans: &[CallingWindow]) -> String {
    spans
        .iter()
        .map(|w| format!("{}-{}", hhmm(w.start_minute), hhmm(w.end_minute)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The line select's value: `trunk|number`, `trunk|` (its first number),
/// or empty (the organisation's default).
fn line_value(trunk: Option<Uuid>, number: Option<&str>) -> String {
    trunk.map(|t| format!("{t}|{}", number.unwrap_or_default())).unwrap_or_default()
}

fn parse_line(v: &str) -> (Option<Uuid>, Option<String>) {
    match v.split_once('|') {
        Some((t, n)) => (t.parse().ok(), Some(n.to_string()).filter(|n| !n.is_empty())),
        None => (None, None),
    }
}

fn date_text(d: Option<DateTime<Utc>>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

/// A new campaign's starting point: weekdays 9–12 and 14–18 on each
/// prospect's clock, three lines, the default retries.
pub(crate) fn blank() -> CampaignSettings {
    let spans = parse_spans("09:00-12:00, 14:00-18:00").unwrap_or_default();
    let mut windows = WeeklyWindows::closed();
    for (_, d) in &DAYS[..5] {
        *windows.day_mut(*d) = spans.clone();
    }
    CampaignSettings {
        name: String::new(),
        agent_id: Uuid::nil(),
        script_id: None,
        trunk_id: None,
        from_number: None,
        starts_at: None,
        ends_at: None,
        windows,
        zone: CampaignZone::Prospect,
        concurrency: 3,
        retry: RetryPolicy::default(),
    }
}

#[component]
pub(crate) fn CampaignForm(
    org_id: Uuid,
    initial: CampaignSettings,
    /// Sends the settings; the caller owns the request.
    on_save: Callback<CampaignSettings>,
    #[prop(into)] busy: Signal<bool>,
    #[prop(into)] server_error: Signal<Option<String>>,
    #[prop(into)] save_label: Signal<String>,
    /// The save button's test id.
    save_id: &'static str,
    #[prop(optional)] on_cancel: Option<Callback<()>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let agents = Resource::new(|| (), move |_| crate::features::calls::api::voice_agents(org_id));
    let scripts = Resource::new(|| (), move |_| crate::features::copilot::api::list_scripts(org_id));
    let trunks = Resource::new(|| (), move |_| crate::features::telephony::api::list_trunks(org_id));
    let name = RwSignal::new(initial.name.clone());
    let agent =
        RwSignal::new(if initial.agent_id.is_nil() { String::new() } else { initial.agent_id.to_string() });
    let script = RwSignal::new(initial.script_id.map(|s| s.to_string()).unwrap_or_default());
    let line = RwSignal::new(line_value(initial.trunk_id, initial.from_number.as_deref()));
    let concurrency = RwSignal::new(initial.concurrency.to_string());
    let (zone_fixed, zone) = match &initial.zone {
        CampaignZone::Prospect => (RwSignal::new(false), RwSignal::new("Europe/Paris".to_string())),
        CampaignZone::Fixed { zone } => (RwSignal::new(true), RwSignal::new(zone.clone())),
    };
    let days: [RwSignal<bool>; 7] =
        std::array::from_fn(|i| RwSignal::new(!initial.windows.day(DAYS[i].1).is_empty()));
    // Each day keeps its own spans; the "every day" field sets them all.
    let first_open =
        DAYS.iter().map(|(_, d)| initial.windows.day(*d)).find(|s| !s.is_empty()).unwrap_or_default();
    let hours_all = RwSignal::new(spans_text(first_open));
    let day_hours: [RwSignal<String>; 7] = std::array::from_fn(|i| {
        let own = initial.windows.day(DAYS[i].1);
        RwSignal::new(spans_text(if own.is_empty() { first_open } else { own }))
    });
    let starts = RwSignal::new(date_text(initial.starts_at));
    let ends = RwSignal::new(date_text(initial.ends_at));
    let r = &initial.retry;
    let retry: [(RwSignal<String>, RwSignal<String>); 4] = [r.no_answer, r.busy, r.voicemail, r.failed]
        .map(|r| (RwSignal::new(r.max_attempts.to_string()), RwSignal::new(r.delay_minutes.to_string())));
    let local_error = RwSignal::new(None::<String>);
    let kept_script = initial.script_id;

    let submit = move |_| {
        local_error.set(None);
        let mut windows = WeeklyWindows::closed();
        for (i, (_, d)) in DAYS.iter().enumerate() {
            if !days[i].get_untracked() {
                continue;
            }
            let Some(spans) = parse_spans(&day_hours[i].get_untracked()) else {
                local_error.set(Some(t_string!(i18n, campaigns.bad_hours).to_string()));
                return;
            };
            *windows.day_mut(*d) = spans;
        }
        let num = |s: RwSignal<String>| s.get_untracked().trim().parse::<u32>().unwrap_or(0);
        let rule = |i: usize| RetryRule { max_attempts: num(retry[i].0), delay_minutes: num(retry[i].1) };
        let date = |s: RwSignal<String>| {
            NaiveDate::parse_from_str(s.get_untracked().trim(), "%Y-%m-%d")
                .ok()
                .map(|d| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)))
        };
        let (trunk_id, from_number) = parse_line(&line.get_untracked());
        on_save.run(CampaignSettings {
            name: name.get_untracked(),
            agent_id: agent.get_untracked().parse().unwrap_or_default(),
            script_id: script.get_untracked().parse().ok(),
            trunk_id,
            from_number,
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
        });
    };
    let day_name = move |i: usize| super::labels::day_label(i18n, DAYS[i].1);
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
        <div class="grid gap-4 sm:grid-cols-2">
            <label class="text-sm">
                <span class="mb-1 block text-slate-500">{t!(i18n, campaigns.f_name)}</span>
                <input class=CONTROL data-testid="campaign-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            </label>
            <label class="text-sm">
                <span class="mb-1 block text-slate-500">{t!(i18n, campaigns.f_agent)}</span>
                <select class=CONTROL data-testid="campaign-agent" prop:value=move || agent.get() on:change=move |ev| agent.set(event_target_value(&ev))>
                    <option value="">{t!(i18n, campaigns.choose)}</option>
                    <Suspense fallback=|| ()>
                        {move || agents.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|(id, n)| {
                            let value = id.to_string();
                            let selected = value == agent.get_untracked();
                            view! { <option value=value selected=selected>{n}</option> }
                        }).collect_view()}
                    </Suspense>
                </select>
            </label>
            <label class="text-sm">
                <span class="mb-1 block text-slate-500">{t!(i18n, campaigns.f_script)}</span>
                <select class=CONTROL data-testid="campaign-script" prop:value=move || script.get() on:change=move |ev| script.set(event_target_value(&ev))>
                    <option value="">{t!(i18n, campaigns.no_script)}</option>
                    <Suspense fallback=|| ()>
                        {move || scripts.get().and_then(|r| r.ok()).map(|list| {
                            let archived = kept_script.filter(|k| !list.iter().any(|s| s.id == *k));
                            view! {
                                {list.into_iter().map(|s| {
                                    let value = s.id.to_string();
                                    let selected = value == script.get_untracked();
                                    view! { <option value=value selected=selected>{format!("{} ({})", s.name, s.language.as_str().to_uppercase())}</option> }
                                }).collect_view()}
                                {archived.map(|k| view! { <option value=k.to_string() selected=true>{t!(i18n, campaigns.script_archived)}</option> })}
                            }
                        })}
                    </Suspense>
                </select>
                <span class="mt-1 block text-xs text-slate-500">{t!(i18n, campaigns.script_hint)}</span>
            </label>
            <label class="text-sm">
                <span class="mb-1 block text-slate-500">{t!(i18n, campaigns.f_line)}</span>
                <select class=CONTROL data-testid="campaign-line" prop:value=move || line.get() on:change=move |ev| line.set(event_target_value(&ev))>
                    <option value="">{t!(i18n, campaigns.default_line)}</option>
                    <Suspense fallback=|| ()>
                        {move || trunks.get().and_then(|r| r.ok()).unwrap_or_default().into_iter()
                            .filter(|t| t.direction == TrunkDirection::Outbound)
                            .map(|t| {
                                let any = line_value(Some(t.id), None);
                                let trunk = t.name.clone();
                                let numbers = t.numbers.iter().map(|n| {
                                    let value = line_value(Some(t.id), Some(n));
                                    let selected = value == line.get_untracked();
                                    view! { <option value=value selected=selected>{format!("{} · {n}", t.name)}</option> }
                                }).collect_view();
                                view! {
                                    <option value=any.clone() selected=any == line.get_untracked()>{t_string!(i18n, campaigns.trunk_any, trunk = trunk).to_string()}</option>
                                    {numbers}
                                }
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
                <label class="block">
                    <span class="mb-1 block text-xs text-slate-500">{t!(i18n, campaigns.hours_all)}</span>
                    <input class=CONTROL data-testid="campaign-hours" prop:value=move || hours_all.get()
                        on:input=move |ev| {
                            let v = event_target_value(&ev);
                            for h in day_hours { h.set(v.clone()); }
                            hours_all.set(v);
                        }/>
                </label>
                <div class="mt-2 grid gap-2 sm:grid-cols-2">
                    {(0..7).map(|i| view! {
                        <div class="flex items-center gap-2">
                            <label class="w-16 shrink-0"><input type="checkbox" data-testid=format!("campaign-day-{}", DAYS[i].0) prop:checked=move || days[i].get()
                                on:change=move |ev| days[i].set(event_target_checked(&ev))/>" "{move || day_name(i)}</label>
                            <input class=CONTROL data-testid=format!("campaign-hours-{}", DAYS[i].0) aria-label=move || format!("{} {}", t_string!(i18n, campaigns.f_hours), day_name(i))
                                prop:disabled=move || !days[i].get()
                                prop:value=move || day_hours[i].get() on:input=move |ev| day_hours[i].set(event_target_value(&ev))/>
                        </div>
                    }).collect_view()}
                </div>
                <p class="mt-1 text-xs text-slate-500">{t!(i18n, campaigns.hours_hint)}</p>
            </fieldset>
            <label class="text-sm">
                <span class="mb-1 block text-slate-500">{t!(i18n, campaigns.f_starts)}</span>
                <input type="date" class=CONTROL data-testid="campaign-starts" prop:value=move || starts.get() on:change=move |ev| starts.set(event_target_value(&ev))/>
            </label>
            <label class="text-sm">
                <span class="mb-1 block text-slate-500">{t!(i18n, campaigns.f_ends)}</span>
                <input type="date" class=CONTROL data-testid="campaign-ends" prop:value=move || ends.get() on:change=move |ev| ends.set(event_target_value(&ev))/>
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
                            <td class="pr-2 py-1"><input type="number" min="1" max="10" class=CONTROL aria-label=move || format!("{} {}", result_name(i), t_string!(i18n, campaigns.f_attempts)) prop:value=move || retry[i].0.get() on:input=move |ev| retry[i].0.set(event_target_value(&ev))/></td>
                            <td class="py-1"><input type="number" min="5" class=CONTROL aria-label=move || format!("{} {}", result_name(i), t_string!(i18n, campaigns.f_delay)) prop:value=move || retry[i].1.get() on:input=move |ev| retry[i].1.set(event_target_value(&ev))/></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <div class="mt-4 flex items-center gap-3">
            <Button busy attr:data-testid=save_id on:click=submit>{move || save_label.get()}</Button>
            {on_cancel.map(|c| view! {
                <Button variant=ButtonVariant::Secondary attr:data-testid="campaign-edit-cancel" on:click=move |_| c.run(())>{t!(i18n, campaigns.cancel)}</Button>
            })}
            <FormError message=Signal::derive(move || local_error.get().or_else(move || server_error.get()))/>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_go_to_text_and_back() {
        let spans = parse_spans(" 09:00-12:00 ,14:00-18:30").unwrap();
        assert_eq!(spans_text(&spans), "09:00-12:00, 14:00-18:30");
        assert_eq!(parse_spans(""), Some(vec![]));
        assert_eq!(parse_spans("9h-12h"), None);
    }

    #[test]
    fn a_line_is_a_trunk_and_maybe_one_of_its_numbers() {
        let t = Uuid::from_u128(7);
        assert_eq!(
            parse_line(&line_value(Some(t), Some("+33187654321"))),
            (Some(t), Some("+33187654321".into()))
        );
        assert_eq!(parse_line(&line_value(Some(t), None)), (Some(t), None));
        assert_eq!(parse_line(&line_value(None, None)), (None, None));
    }

    #[test]
    fn a_new_campaign_calls_weekdays_on_the_prospects_clock() {
        let b = blank();
        assert_eq!(spans_text(b.windows.day(Weekday::Fri)), "09:00-12:00, 14:00-18:00");
        assert!(b.windows.day(Weekday::Sat).is_empty());
        assert_eq!(b.zone, CampaignZone::Prospect);
    }
}
