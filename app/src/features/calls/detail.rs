//! One call: its status (live — every change reaches the open page through
//! the event bus within a second, whichever node received LiveKit's
//! webhook), who and what, hang up and transfer while it is live, the
//! outcome once it ended, its analysis, its timeline, and the prospect's
//! other calls.

use domain::call::CallStatus;
use domain::call_views::{Call, CallDetail, CallTurn, TurnSpeaker};
use domain::copilot::outcome::{CallOutcome, OutcomeReport};
use domain::data_schema::CollectedData;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use super::analysis::AnalysisCard;
use super::api::{Analysed, HangUpCall, SetCallOutcome, TransferCall};
use super::labels::{direction_label, duration, status_label, status_tone};
use crate::features::auth::session::use_current_org;
use crate::features::copilot::labels::outcome_label;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{toast_result, Badge, Button, ButtonVariant, Card, FormError, Skeleton};

use crate::ui::COMPACT_CONTROL as CONTROL;

#[component]
pub fn CallPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let can_listen = org.role.allows(domain::Permission::ListenToCalls);
    let can_correct = org.role.allows(domain::Permission::ManageCampaigns);
    let call_id = move || params.read().get("id").and_then(|s| s.parse::<Uuid>().ok());
    let hang_up = ServerAction::<HangUpCall>::new();
    let transfer = ServerAction::<TransferCall>::new();
    let outcome = ServerAction::<SetCallOutcome>::new();
    toast_result(hang_up, move || None);
    toast_result(transfer, move || Some(t_string!(i18n, calls.transferred).to_string()));
    toast_result(outcome, move || Some(t_string!(i18n, common.saved).to_string()));
    // Bumped by every live change: the page reads the call (and its
    // timeline) again.
    let changed = RwSignal::new(0u32);
    let latest = RwSignal::new(None::<Call>);
    let detail = Resource::new(
        move || (call_id(), changed.get(), outcome.version().get()),
        move |(id, _, _)| async move {
            match id {
                Some(id) => super::api::get_call(org_id, id).await,
                None => Err(crate::AppError::new(domain::ErrorCode::NotFound)),
            }
        },
    );
    crate::live::follow(
        move || call_id().map(|id| format!("/api/v1/orgs/{org_id}/calls/{id}/events")),
        move |u: domain::call_views::CallUpdate| {
            latest.set(Some(u.call));
            changed.update(|n| *n += 1);
        },
        // (Re)connected: read again, so nothing missed while away stays missed.
        move || changed.update(|n| *n += 1),
    );
    view! {
        <div class="space-y-6">
            <A href="/app/calls" attr:class="text-sm text-indigo-700 hover:underline dark:text-indigo-300">{move || format!("← {}", t_string!(i18n, calls.title))}</A>
            <Transition fallback=|| view! { <Skeleton lines=8/> }>
                {move || detail.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(d) => view! { <CallView d org_id can_listen can_correct latest hang_up transfer outcome/> }.into_any(),
                })}
            </Transition>
        </div>
    }
    .into_any()
}

#[component]
fn CallView(
    d: CallDetail,
    org_id: Uuid,
    can_listen: bool,
    can_correct: bool,
    latest: RwSignal<Option<Call>>,
    hang_up: ServerAction<HangUpCall>,
    transfer: ServerAction<TransferCall>,
    outcome: ServerAction<SetCallOutcome>,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let first = d.call.clone();
    // The newest we know: a live update may be ahead of the read it triggered.
    let call = Memo::new(move |_| {
        latest
            .get()
            .filter(|l| l.id == first.id && stage(l.status) > stage(first.status))
            .map(|l| l.keep_names(&first))
            .unwrap_or_else(|| first.clone())
    });
    let id = d.call.id;
    let rep_call = d.call.rep_id.is_some();
    let status = move || call.with(|c| c.status);
    let live = move || !status().is_final();
    let talking = move || matches!(status(), CallStatus::Answered | CallStatus::InProgress);
    let can_log =
        move || call.with(|c| c.outcome.is_none() && (c.status.is_final() || c.status.was_answered()));
    let prospect = d.call.prospect_id;
    let timeline = d.timeline.clone();
    let others = d.other_calls.clone();
    view! {
        <div class="flex flex-wrap items-start justify-between gap-4">
            <div>
                <h1 class="text-2xl font-bold" data-testid="call-title">
                    {d.call.prospect_name.clone().unwrap_or_else(|| d.call.to_number.clone())}
                </h1>
                <p class="text-sm text-slate-500">
                    <span class="font-mono">{d.call.to_number.clone()}</span>
                    {format!(" · {} · ", d.call.from_number.clone().unwrap_or_default())}
                    {move || direction_label(i18n, &call.with(|c| c.direction.clone()))}
                    {d.call.agent_name.clone().map(|a| format!(" · {a}"))}
                    {d.call.campaign_id.map(|c| view! {
                        " · "<A href=format!("/app/campaigns/{c}") attr:class="text-indigo-700 hover:underline dark:text-indigo-300" attr:data-testid="call-campaign">{t!(i18n, calls.campaign)}</A>
                    })}
                    {d.call.script_id.map(|s| {
                        let name = d.call.script_name.clone().unwrap_or_default();
                        let version = d.call.script_version.unwrap_or_default();
                        view! {
                            " · "{t!(i18n, calls.script)}": "
                            <A href=format!("/app/scripts/{s}") attr:class="text-indigo-700 hover:underline dark:text-indigo-300" attr:data-testid="call-script">
                                {t_string!(i18n, calls.script_version, name = name, version = version).to_string()}
                            </A>
                        }
                    })}
                </p>
                <div class="mt-2 flex flex-wrap items-center gap-2">
                    <span data-testid="call-status" data-status=move || status().as_str()>
                        {move || { let s = status(); view! { <Badge tone=status_tone(s)>{status_label(i18n, s)}</Badge> } }}
                    </span>
                    {move || call.with(|c| c.sip_status).map(|s| view! { <span class="text-xs text-slate-500" data-testid="call-sip">{format!("SIP {s}")}</span> })}
                    {move || call.with(|c| c.failure_reason.clone()).map(|r| view! { <span class="text-xs text-rose-600">{describe(i18n, &crate::AppError::new(domain::ErrorCode::parse(&r).unwrap_or(domain::ErrorCode::Internal)))}</span> })}
                    {move || call.with(|c| c.talk_ms).map(|ms| view! { <span class="text-sm tabular-nums" data-testid="call-duration">{duration(ms)}</span> })}
                    {move || call.with(|c| c.outcome).map(|o| view! { <Badge>{outcome_label(i18n, o)}</Badge> })}
                </div>
            </div>
            <div class="flex flex-wrap gap-2">
                {prospect.map(|p| view! {
                    <A href=format!("/app/prospects/{p}") attr:class="rounded-md px-3 py-2 text-sm text-indigo-700 ring-1 ring-indigo-200 hover:bg-indigo-50 dark:text-indigo-300 dark:ring-indigo-800">{t!(i18n, calls.open_prospect)}</A>
                })}
                <Show when=talking>
                    <Button variant=ButtonVariant::Secondary busy=transfer.pending() attr:data-testid="call-transfer"
                        on:click=move |_| { transfer.dispatch(TransferCall { org_id, call_id: id }); }>{t!(i18n, calls.transfer)}</Button>
                </Show>
                <Show when=move || can_listen && live()>
                    <super::listen::ListenLive org_id call_id=id rep_call/>
                </Show>
                <Show when=live>
                    <Button variant=ButtonVariant::Danger busy=hang_up.pending() attr:data-testid="call-hang-up"
                        on:click=move |_| { hang_up.dispatch(HangUpCall { org_id, call_id: id }); }>{t!(i18n, calls.hang_up)}</Button>
                </Show>
            </div>
        </div>
        <div class="grid gap-6 lg:grid-cols-[3fr_2fr]">
            <div class="space-y-6">
                <Show when=can_log>
                    <OutcomeForm org_id call_id=id outcome/>
                </Show>
                <Show when=move || call.with(|c| !c.notes.is_empty())>
                    <Card>
                        <h2 class="mb-2 font-semibold">{t!(i18n, calls.notes)}</h2>
                        <p class="whitespace-pre-wrap text-sm" data-testid="call-notes">{move || call.with(|c| c.notes.clone())}</p>
                    </Card>
                </Show>
                <RecordingCard org_id call=d.call.clone()/>
                <Transcript turns=d.turns.clone()/>
                // Asked for when the call ends: read again then.
                <Show when=move || status().is_final()>
                    <AnalysisCard org_id of=Analysed::Call(id) can_edit=can_correct/>
                </Show>
                <CollectedValues data=d.collected_data.clone()/>
                {d.agent_report.clone().map(|report| view! { <AgentReportCard report/> })}
                <Card>
                    <h2 class="mb-3 font-semibold">{t!(i18n, calls.timeline)}</h2>
                    <ol class="space-y-2 text-sm" data-testid="call-timeline">
                        {timeline.into_iter().map(|e| {
                            let to = CallStatus::parse(&e.to_status);
                            let moved = e.from_status != e.to_status;
                            view! {
                                <li class="flex flex-wrap items-baseline gap-2">
                                    <span class="tabular-nums text-xs text-slate-500">{move || crate::format::datetime(locale.get(), e.at)}</span>
                                    <span class="font-mono text-xs">{e.kind.clone()}</span>
                                    <span class="text-xs text-slate-400">{e.source.clone()}</span>
                                    {to.filter(|_| moved).map(|s| view! { <Badge tone=status_tone(s)>{move || status_label(i18n, s)}</Badge> })}
                                    {e.ignored.clone().map(|why| view! { <span class="text-xs text-slate-400">{format!("({why})")}</span> })}
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                </Card>
            </div>
            <div class="space-y-6">
                <Card>
                    <h2 class="mb-3 font-semibold">{t!(i18n, calls.other_calls)}</h2>
                    {if others.is_empty() {
                        view! { <p class="text-sm text-slate-500">{t!(i18n, calls.no_other_calls)}</p> }.into_any()
                    } else {
                        view! {
                            <ul class="space-y-2 text-sm" data-testid="call-others">
                                {others.into_iter().map(|c| {
                                    let s = c.status;
                                    view! {
                                        <li class="flex items-center justify-between gap-2">
                                            <A href=format!("/app/calls/{}", c.id) attr:class="text-indigo-700 hover:underline dark:text-indigo-300">{move || crate::format::datetime(locale.get(), c.created_at)}</A>
                                            <Badge tone=status_tone(s)>{move || status_label(i18n, s)}</Badge>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </Card>
            </div>
        </div>
    }
}

/// How far along a call is: states only move forward, so the further one
/// is the newer.
fn stage(s: CallStatus) -> u8 {
    match s {
        CallStatus::Initiated => 0,
        CallStatus::Ringing => 1,
        CallStatus::Answered => 2,
        CallStatus::InProgress => 3,
        _ => 4,
    }
}

/// How the call ended: the outcome, a callback date when one is due, notes.
#[component]
fn OutcomeForm(org_id: Uuid, call_id: Uuid, outcome: ServerAction<SetCallOutcome>) -> impl IntoView {
    let i18n = use_i18n();
    let chosen = RwSignal::new(CallOutcome::Interested.as_str().to_string());
    let callback = RwSignal::new(String::new());
    let notes = RwSignal::new(String::new());
    let error = Signal::derive(move || outcome.value().get().and_then(|r| r.err()));
    let submit = move |_| {
        let Some(o) = CallOutcome::parse(&chosen.get_untracked()) else { return };
        // A `datetime-local` value is the browser's local time; without a
        // zone the server reads it as UTC (the page shows times in UTC too).
        let callback_at = chrono::NaiveDateTime::parse_from_str(&callback.get_untracked(), "%Y-%m-%dT%H:%M")
            .ok()
            .map(|t| t.and_utc());
        let report = OutcomeReport { outcome: o, callback_at, notes: notes.get_untracked() };
        outcome.dispatch(SetCallOutcome { org_id, call_id, report });
    };
    view! {
        <Card>
            <h2 class="mb-3 font-semibold">{t!(i18n, calls.log_outcome)}</h2>
            <div class="space-y-3" data-testid="call-outcome-form">
                <select class=CONTROL data-testid="call-outcome" on:change=move |ev| chosen.set(event_target_value(&ev))>
                    {CallOutcome::ALL.into_iter().map(|o| view! {
                        <option value=o.as_str() selected=move || chosen.get() == o.as_str()>{move || outcome_label(i18n, o)}</option>
                    }).collect_view()}
                </select>
                <Show when=move || chosen.get() == CallOutcome::CallbackScheduled.as_str()>
                    <label class="block text-sm">
                        <span class="mb-1 block text-slate-500">{t!(i18n, calls.callback_at)}</span>
                        <input type="datetime-local" class=CONTROL data-testid="call-callback-at"
                            prop:value=move || callback.get() on:input=move |ev| callback.set(event_target_value(&ev))/>
                    </label>
                </Show>
                <textarea class=CONTROL rows=3 data-testid="call-notes-input" aria-label=move || t_string!(i18n, calls.notes).to_string()
                    prop:value=move || notes.get() on:input=move |ev| notes.set(event_target_value(&ev))></textarea>
                <FormError message=Signal::derive(move || error.get().map(|e| describe(i18n, &e)))/>
                <Button busy=outcome.pending() attr:data-testid="call-outcome-save" on:click=submit>{t!(i18n, calls.save_outcome)}</Button>
            </div>
        </Card>
    }
}

/// The call's recording: a player once it is ready (its source a redirect
/// to a short-lived signed address, asked for only when played), else
/// where it stands.
#[component]
fn RecordingCard(org_id: Uuid, call: Call) -> impl IntoView {
    let i18n = use_i18n();
    let body = match call.recording_status.as_deref() {
        Some("ready") => {
            let src = format!("/api/v1/orgs/{org_id}/calls/{}/recording/audio", call.id);
            view! {
                <div class="flex flex-wrap items-center gap-3">
                    <audio controls preload="none" src=src class="w-full max-w-md" data-testid="call-recording"></audio>
                    {call.recording_duration_ms.map(|ms| view! { <span class="text-sm tabular-nums" data-testid="call-recording-duration">{duration(ms)}</span> })}
                </div>
            }
            .into_any()
        }
        Some("recording") => view! {
            <p class="text-sm text-slate-500" data-testid="call-recording-pending">{t!(i18n, calls.recording_in_progress)}</p>
        }
        .into_any(),
        Some(_) => view! {
            <p class="text-sm text-rose-600" data-testid="call-recording-failed">{t!(i18n, calls.recording_failed_text)}</p>
        }
        .into_any(),
        None => view! {
            <p class="text-sm text-slate-500" data-testid="call-not-recorded">{t!(i18n, calls.not_recorded)}</p>
        }
        .into_any(),
    };
    view! {
        <Card>
            <h2 class="mb-2 font-semibold">{t!(i18n, calls.recording)}</h2>
            {body}
        </Card>
    }
}

/// What was said, turn by turn, with when in the call.
#[component]
fn Transcript(turns: Vec<CallTurn>) -> impl IntoView {
    let i18n = use_i18n();
    let empty = turns.is_empty();
    view! {
        <Card>
            <h2 class="mb-2 font-semibold">{t!(i18n, calls.transcript)}</h2>
            <Show when=move || empty>
                <p class="text-sm text-slate-500" data-testid="call-transcript-empty">{t!(i18n, calls.no_transcript)}</p>
            </Show>
            <ol class="space-y-2 text-sm" data-testid="call-transcript">
                {turns.into_iter().map(|turn| {
                    // The AI agent, or the rep on a rep's call: our side of the call.
                    let agent = turn.speaker != TurnSpeaker::Prospect;
                    let who = turn.speaker;
                    let at = duration(turn.start_ms as i64);
                    view! {
                        <li class="flex gap-3" data-testid="call-turn" data-speaker=turn.speaker.as_str()>
                            <span class="w-12 shrink-0 tabular-nums text-xs text-slate-500">{at}</span>
                            <div>
                                <span class=if agent { "text-xs font-semibold text-indigo-700 dark:text-indigo-300" } else { "text-xs font-semibold text-emerald-700 dark:text-emerald-300" }>
                                    {move || match who {
                                        TurnSpeaker::Agent => t_string!(i18n, calls.speaker_agent).to_string(),
                                        TurnSpeaker::Rep => t_string!(i18n, calls.speaker_rep).to_string(),
                                        TurnSpeaker::Prospect => t_string!(i18n, calls.speaker_prospect).to_string(),
                                    }}
                                </span>
                                <p class="whitespace-pre-wrap">{turn.text.clone()}</p>
                                {turn.interrupted.then(|| view! { <span class="text-xs text-slate-400" data-testid="call-turn-interrupted">{t!(i18n, calls.interrupted)}</span> })}
                            </div>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </Card>
    }
}

/// Milliseconds as the panel shows them.
fn ms(v: f64) -> String {
    format!("{:.0} ms", v.max(0.0))
}

/// The voice agent's report: why it ended, what it spent, and where the
/// time went on each reply (end of the caller's speech → each stage), with
/// the call's p50 / p90.
#[component]
fn AgentReportCard(report: domain::agent_report::AgentReport) -> impl IntoView {
    let i18n = use_i18n();
    let end = report.end.key();
    let summary = report.latency_summary();
    let u = report.usage.clone();
    let rows = report.latencies.clone();
    view! {
        <Card>
            <h2 class="mb-2 font-semibold">{t!(i18n, calls.agent_report)}</h2>
            <dl class="mb-3 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm" data-testid="call-agent-report">
                <dt class="text-slate-500">{t!(i18n, calls.agent_end)}</dt>
                <dd data-testid="call-agent-end" data-end=end>{move || match end {
                    "caller" => t_string!(i18n, calls.end_caller).to_string(),
                    "agent" => t_string!(i18n, calls.end_agent).to_string(),
                    "transferred" => t_string!(i18n, calls.end_transferred).to_string(),
                    "silence" => t_string!(i18n, calls.end_silence).to_string(),
                    "max_duration" => t_string!(i18n, calls.end_max_duration).to_string(),
                    "voicemail" => t_string!(i18n, calls.end_voicemail).to_string(),
                    "opt_out" => t_string!(i18n, calls.end_opt_out).to_string(),
                    _ => t_string!(i18n, calls.end_failed).to_string(),
                }}</dd>
                {report.outcome.map(|o| view! {
                    <dt class="text-slate-500">{t!(i18n, calls.agent_outcome)}</dt>
                    <dd data-testid="call-agent-outcome" data-outcome=o.as_str()>
                        {move || crate::features::copilot::labels::outcome_label(i18n, o)}
                    </dd>
                })}
                <dt class="text-slate-500">{t!(i18n, calls.agent_usage)}</dt>
                <dd class="tabular-nums" data-testid="call-agent-usage">
                    {format!("STT {:.1} s · LLM {} / {} tokens · TTS {} chars", u.stt_seconds, u.llm_input_tokens, u.llm_output_tokens, u.tts_characters)}
                </dd>
            </dl>
            <h3 class="mb-1 text-sm font-semibold">{t!(i18n, calls.latency)}</h3>
            <Show when={let empty = rows.is_empty(); move || empty}>
                <p class="text-sm text-slate-500">{t!(i18n, calls.no_latency)}</p>
            </Show>
            <div class="overflow-x-auto">
                <table class="w-full text-right text-xs tabular-nums" data-testid="call-latency">
                    <thead class="text-slate-500">
                        <tr>
                            <th class="text-left font-normal">{t!(i18n, calls.latency_turn)}</th>
                            <th class="font-normal">"STT"</th>
                            <th class="font-normal">"LLM"</th>
                            <th class="font-normal">"TTS"</th>
                            <th class="font-normal">{t!(i18n, calls.latency_first_audio)}</th>
                            <th class="font-normal">{t!(i18n, calls.latency_ours)}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows.into_iter().map(|l| view! {
                            <tr data-testid="call-latency-row">
                                <td class="text-left">{format!("#{}", l.turn)}</td>
                                <td>{ms(l.stt_final_ms)}</td>
                                <td>{ms(l.llm_first_token_ms)}</td>
                                <td>{ms(l.tts_first_byte_ms)}</td>
                                <td class="font-semibold">{ms(l.first_audio_ms)}</td>
                                <td>{ms(l.overhead_ms)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                    {summary.map(|s| view! {
                        <tfoot class="border-t border-slate-200 dark:border-slate-700">
                            {[("p50", s.stt_final.p50, s.llm_first_token.p50, s.tts_first_byte.p50, s.first_audio.p50, s.overhead.p50),
                              ("p90", s.stt_final.p90, s.llm_first_token.p90, s.tts_first_byte.p90, s.first_audio.p90, s.overhead.p90)]
                                .into_iter().map(|(q, a, b, c, d, e)| view! {
                                    <tr data-testid="call-latency-summary" data-q=q>
                                        <td class="text-left font-semibold">{q}</td>
                                        <td>{ms(a)}</td><td>{ms(b)}</td><td>{ms(c)}</td>
                                        <td class="font-semibold">{ms(d)}</td><td>{ms(e)}</td>
                                    </tr>
                                }).collect_view()}
                        </tfoot>
                    })}
                </table>
            </div>
        </Card>
    }
}

/// The values the agent collected, by field.
#[component]
fn CollectedValues(data: CollectedData) -> impl IntoView {
    let i18n = use_i18n();
    (!data.is_empty()).then(|| {
        view! {
            <Card>
                <h2 class="mb-2 font-semibold">{t!(i18n, calls.collected_data)}</h2>
                <dl class="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm" data-testid="call-collected">
                    {data.into_iter().map(|(field, value)| {
                        let shown = match value {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        };
                        view! {
                            <dt class="font-mono text-xs text-slate-500">{field}</dt>
                            <dd data-testid="call-collected-value">{shown}</dd>
                        }
                    }).collect_view()}
                </dl>
            </Card>
        }
    })
}
