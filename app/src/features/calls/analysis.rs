//! A finished call's post-call analysis — a phone call's or a rep's copilot
//! call's: where it stands (analysing, failed and why, no model, nothing
//! said), then the summary, key points, sentiment, suggested outcome, the
//! agent's data fields and a score per script phase with the words that
//! back it. Admins and Owners correct it in place; the edit is audited and
//! a later model answer never overwrites it.

use domain::analysis::{AnalysisState, AnalysisView, CallAnalysis, PhaseScore, Sentiment};
use domain::copilot::outcome::CallOutcome;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use uuid::Uuid;

use super::api::{Analysed, EditAnalysis};
use crate::features::copilot::labels::{outcome_label, phase_label};
use crate::i18n::{describe, t, t_string, use_i18n, use_locale, Locale};
use crate::ui::{toast_result, Badge, Button, ButtonVariant, Card, FormError, Skeleton, Tone};

use crate::ui::COMPACT_CONTROL as CONTROL;

/// How often a pending analysis is asked about again.
#[cfg(feature = "hydrate")]
const POLL: std::time::Duration = std::time::Duration::from_secs(3);

pub fn sentiment_label(i18n: I18nContext<Locale>, s: Sentiment) -> String {
    match s {
        Sentiment::Positive => t_string!(i18n, calls.sentiment_positive),
        Sentiment::Neutral => t_string!(i18n, calls.sentiment_neutral),
        Sentiment::Negative => t_string!(i18n, calls.sentiment_negative),
    }
    .to_string()
}

fn sentiment_tone(s: Sentiment) -> Tone {
    match s {
        Sentiment::Positive => Tone::Success,
        Sentiment::Neutral => Tone::Neutral,
        Sentiment::Negative => Tone::Danger,
    }
}

/// The analysis card. `can_edit`: the viewer may correct it
/// (`manage_campaigns`).
#[component]
pub fn AnalysisCard(org_id: Uuid, of: Analysed, can_edit: bool) -> impl IntoView {
    let i18n = use_i18n();
    let edit = ServerAction::<EditAnalysis>::new();
    toast_result(edit, move || Some(t_string!(i18n, common.saved).to_string()));
    let tick = RwSignal::new(0u32);
    let view_of = Resource::new(
        move || (tick.get(), edit.version().get()),
        move |_| super::api::get_analysis(org_id, of),
    );
    // While it is being written, ask again every few seconds (in the
    // browser only; the server renders what it has).
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| {
            let pending = view_of.get().is_some_and(|r| r.is_ok_and(|v| v.state == AnalysisState::Pending));
            if pending {
                set_timeout(move || tick.update(|n| *n += 1), POLL);
            }
        });
    }
    let editing = RwSignal::new(false);
    // A saved edit closes the form.
    Effect::new(move |_| {
        if matches!(edit.value().get(), Some(Ok(_))) {
            editing.set(false);
        }
    });
    view! {
        <Card>
            <div class="mb-2 flex items-center justify-between gap-2">
                <h2 class="font-semibold">{t!(i18n, calls.analysis)}</h2>
                <Show when=move || can_edit && !editing.get() && view_of.get().is_some_and(|r| r.is_ok_and(|v| v.state != AnalysisState::Pending))>
                    <Button variant=ButtonVariant::Secondary attr:data-testid="analysis-edit"
                        on:click=move |_| editing.set(true)>{t!(i18n, calls.analysis_correct)}</Button>
                </Show>
            </div>
            <div data-testid="call-analysis">
                <Transition fallback=|| view! { <Skeleton lines=3/> }>
                    {move || view_of.get().map(|r| match r {
                        // Asked for when the call ends: none yet is not an error.
                        Err(e) if e.code == domain::ErrorCode::NotFound => view! {
                            <p class="text-sm text-slate-500" data-testid="analysis-state" data-state="none">{t!(i18n, calls.analysis_none)}</p>
                        }.into_any(),
                        Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                        Ok(v) if editing.get() => view! { <AnalysisForm org_id of v edit editing/> }.into_any(),
                        Ok(v) => view! { <AnalysisBody v/> }.into_any(),
                    })}
                </Transition>
            </div>
        </Card>
    }
}

#[component]
fn AnalysisBody(v: AnalysisView) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let state = v.state.as_str();
    let note = match v.state {
        AnalysisState::Pending => Some(
            view! {
                <p class="text-sm text-slate-500">{t!(i18n, calls.analysis_pending)}</p>
            }
            .into_any(),
        ),
        AnalysisState::NoModel => Some(
            view! {
                <p class="text-sm text-slate-500">{t!(i18n, calls.analysis_no_model)}</p>
            }
            .into_any(),
        ),
        AnalysisState::NoTranscript => Some(
            view! {
                <p class="text-sm text-slate-500">{t!(i18n, calls.analysis_no_transcript)}</p>
            }
            .into_any(),
        ),
        AnalysisState::Failed => {
            let why = v.error.clone().unwrap_or_default();
            let attempts = v.attempts;
            Some(
                view! {
                    <p class="text-sm text-rose-600" data-testid="analysis-error">
                        {move || t_string!(i18n, calls.analysis_failed, attempts = attempts).to_string()}
                        <span class="block text-xs text-slate-500">{why.clone()}</span>
                    </p>
                }
                .into_any(),
            )
        }
        AnalysisState::Done => None,
    };
    let edited = v.edited_at;
    let model = v.model.clone();
    view! {
        <div class="space-y-3 text-sm" data-testid="analysis-state" data-state=state>
            {note}
            {v.analysis.map(|a| {
                let sentiment = a.sentiment;
                let score = a.sentiment_score;
                view! {
                    <p class="whitespace-pre-wrap" data-testid="analysis-summary">{a.summary.clone()}</p>
                    <div class="flex flex-wrap items-center gap-2">
                        <span data-testid="analysis-sentiment" data-sentiment=sentiment.as_str()>
                            <Badge tone=sentiment_tone(sentiment)>{move || format!("{} {score:+.1}", sentiment_label(i18n, sentiment))}</Badge>
                        </span>
                        {a.suggested_outcome.map(|o| view! {
                            <span class="text-slate-500" data-testid="analysis-outcome" data-outcome=o.as_str()>
                                {move || t_string!(i18n, calls.analysis_suggests, outcome = outcome_label(i18n, o)).to_string()}
                            </span>
                        })}
                    </div>
                    {(!a.key_points.is_empty()).then(|| view! {
                        <ul class="list-disc space-y-1 pl-5" data-testid="analysis-points">
                            {a.key_points.iter().map(|p| view! { <li>{p.clone()}</li> }).collect_view()}
                        </ul>
                    })}
                    {(!a.extracted.is_empty()).then(|| view! {
                        <dl class="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1" data-testid="analysis-extracted">
                            {a.extracted.iter().map(|(field, value)| {
                                let shown = match value {
                                    serde_json::Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                };
                                view! { <dt class="font-mono text-xs text-slate-500">{field.clone()}</dt><dd>{shown}</dd> }
                            }).collect_view()}
                        </dl>
                    })}
                    <table class="w-full text-left text-sm" data-testid="analysis-phases">
                        <caption class="sr-only">{t!(i18n, calls.analysis_phases)}</caption>
                        <thead class="text-xs text-slate-500">
                            <tr>
                                <th class="font-normal">{t!(i18n, calls.analysis_phase)}</th>
                                <th class="font-normal">{t!(i18n, calls.analysis_score)}</th>
                                <th class="font-normal">{t!(i18n, calls.analysis_evidence)}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {a.phases.into_iter().map(|p| {
                                let phase = p.phase;
                                view! {
                                    <tr data-testid="analysis-phase" data-phase=phase.as_str() class="align-top">
                                        <td class="pr-3">{move || phase_label(i18n, phase)}</td>
                                        <td class="pr-3 tabular-nums">{p.score.map(|s| format!("{s}/10")).unwrap_or_else(|| "—".into())}</td>
                                        <td class="italic text-slate-600 dark:text-slate-400">{(!p.evidence.is_empty()).then(|| format!("“{}”", p.evidence))}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }
            })}
            <p class="text-xs text-slate-400">
                {model.map(|m| format!("{m} · "))}
                {move || edited.map(|at| t_string!(i18n, calls.analysis_edited, at = crate::format::datetime(locale.get(), at)).to_string())}
            </p>
        </div>
    }
}

/// The correction form: every part of the analysis, the phases in script
/// order. An analysis that failed (or never ran) starts from a blank one.
#[component]
fn AnalysisForm(
    org_id: Uuid,
    of: Analysed,
    v: AnalysisView,
    edit: ServerAction<EditAnalysis>,
    editing: RwSignal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let a = v.analysis.unwrap_or_else(blank);
    let summary = RwSignal::new(a.summary.clone());
    let points = RwSignal::new(a.key_points.join("\n"));
    let sentiment = RwSignal::new(a.sentiment.as_str().to_string());
    let score = RwSignal::new(format!("{:.1}", a.sentiment_score));
    let outcome = RwSignal::new(a.suggested_outcome.map(|o| o.as_str().to_string()).unwrap_or_default());
    let phases: Vec<(PhaseScore, RwSignal<String>, RwSignal<String>)> = a
        .phases
        .iter()
        .map(|p| {
            (
                p.clone(),
                RwSignal::new(p.score.map(|s| s.to_string()).unwrap_or_default()),
                RwSignal::new(p.evidence.clone()),
            )
        })
        .collect();
    let extracted = a.extracted.clone();
    let local_error = RwSignal::new(None::<String>);
    let server_error =
        Signal::derive(move || edit.value().get().and_then(|r| r.err()).map(|e| describe(i18n, &e)));
    let fields = phases.clone();
    let save = move |_| {
        let Ok(sentiment_score) = score.get_untracked().trim().replace(',', ".").parse::<f32>() else {
            local_error.set(Some(t_string!(i18n, calls.analysis_bad_score).to_string()));
            return;
        };
        let mut scored = Vec::new();
        for (p, s, e) in &fields {
            let s = s.get_untracked();
            let score = match s.trim() {
                "" => None,
                n => match n.parse::<u8>() {
                    Ok(n) if n <= 10 => Some(n),
                    _ => {
                        local_error.set(Some(t_string!(i18n, calls.analysis_bad_phase_score).to_string()));
                        return;
                    }
                },
            };
            scored.push(PhaseScore { phase: p.phase, score, evidence: e.get_untracked().trim().to_string() });
        }
        local_error.set(None);
        let analysis = CallAnalysis {
            summary: summary.get_untracked(),
            key_points: points
                .get_untracked()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
            sentiment: Sentiment::parse(&sentiment.get_untracked()).unwrap_or(Sentiment::Neutral),
            sentiment_score,
            suggested_outcome: CallOutcome::parse(&outcome.get_untracked()),
            extracted: extracted.clone(),
            phases: scored,
        };
        edit.dispatch(EditAnalysis { org_id, of, analysis });
    };
    view! {
        <div class="space-y-3 text-sm" data-testid="analysis-form">
            <label class="block">
                <span class="mb-1 block text-slate-500">{t!(i18n, calls.analysis_summary)}</span>
                <textarea class=CONTROL rows=3 data-testid="analysis-summary-input"
                    prop:value=move || summary.get() on:input=move |ev| summary.set(event_target_value(&ev))></textarea>
            </label>
            <label class="block">
                <span class="mb-1 block text-slate-500">{t!(i18n, calls.analysis_points)}</span>
                <textarea class=CONTROL rows=3 data-testid="analysis-points-input"
                    prop:value=move || points.get() on:input=move |ev| points.set(event_target_value(&ev))></textarea>
            </label>
            <div class="grid gap-3 sm:grid-cols-3">
                <label class="block">
                    <span class="mb-1 block text-slate-500">{t!(i18n, calls.analysis_sentiment)}</span>
                    <select class=CONTROL data-testid="analysis-sentiment-input" on:change=move |ev| sentiment.set(event_target_value(&ev))>
                        {[Sentiment::Positive, Sentiment::Neutral, Sentiment::Negative].into_iter().map(|s| view! {
                            <option value=s.as_str() selected=move || sentiment.get() == s.as_str()>{move || sentiment_label(i18n, s)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="block">
                    <span class="mb-1 block text-slate-500">{t!(i18n, calls.analysis_sentiment_score)}</span>
                    <input type="number" min="-1" max="1" step="0.1" class=CONTROL data-testid="analysis-score-input"
                        prop:value=move || score.get() on:input=move |ev| score.set(event_target_value(&ev))/>
                </label>
                <label class="block">
                    <span class="mb-1 block text-slate-500">{t!(i18n, calls.analysis_outcome)}</span>
                    <select class=CONTROL data-testid="analysis-outcome-input" on:change=move |ev| outcome.set(event_target_value(&ev))>
                        <option value="" selected=move || outcome.get().is_empty()>"—"</option>
                        {CallOutcome::ALL.into_iter().map(|o| view! {
                            <option value=o.as_str() selected=move || outcome.get() == o.as_str()>{move || outcome_label(i18n, o)}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <fieldset class="space-y-2">
                <legend class="mb-1 text-slate-500">{t!(i18n, calls.analysis_phases)}</legend>
                {phases.into_iter().map(|(p, s, e)| {
                    let phase = p.phase;
                    view! {
                        <div class="grid grid-cols-[8rem_4rem_1fr] items-center gap-2" data-testid="analysis-phase-input" data-phase=phase.as_str()>
                            <span>{move || phase_label(i18n, phase)}</span>
                            <input type="number" min="0" max="10" class=CONTROL aria-label=move || format!("{} — {}", phase_label(i18n, phase), t_string!(i18n, calls.analysis_score))
                                prop:value=move || s.get() on:input=move |ev| s.set(event_target_value(&ev))/>
                            <input type="text" class=CONTROL aria-label=move || format!("{} — {}", phase_label(i18n, phase), t_string!(i18n, calls.analysis_evidence))
                                prop:value=move || e.get() on:input=move |ev| e.set(event_target_value(&ev))/>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <FormError message=Signal::derive(move || local_error.get().or_else(|| server_error.get()))/>
            <div class="flex gap-2">
                <Button busy=edit.pending() attr:data-testid="analysis-save" on:click=save>{t!(i18n, common.save)}</Button>
                <Button variant=ButtonVariant::Secondary on:click=move |_| editing.set(false)>{t!(i18n, common.cancel)}</Button>
            </div>
        </div>
    }
}

/// A neutral analysis with every phase unscored: what a manager fills in
/// when the model could not.
fn blank() -> CallAnalysis {
    CallAnalysis {
        summary: String::new(),
        key_points: Vec::new(),
        sentiment: Sentiment::Neutral,
        sentiment_score: 0.0,
        suggested_outcome: None,
        extracted: Default::default(),
        phases: domain::copilot::script::Phase::ALL
            .into_iter()
            .map(|phase| PhaseScore { phase, score: None, evidence: String::new() })
            .collect(),
    }
}
