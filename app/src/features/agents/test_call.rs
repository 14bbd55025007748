//! The agent editor's **Test call**: talk to a saved voice agent from the
//! microphone and hear it answer through the speakers — the same voice
//! pipeline as a phone call (VAD, the agent's own STT, LLM and TTS,
//! barge-in), over the browser-audio socket instead of a LiveKit room.
//! The live transcript and the values the agent collects show as they come.
//! Nothing is stored.
//!
//! The audio code is a lazy chunk of the wasm bundle, fetched on the first call.

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use serde_json::Value;
use uuid::Uuid;

use crate::browser_audio::{BrowserAudio, MicError};
use crate::i18n::{t, t_string, use_i18n};
use crate::ui::{Button, ButtonVariant, Card, FormError, LiveIndicator};

/// One line of the live transcript.
#[derive(Clone, PartialEq)]
struct Line {
    index: u64,
    agent: bool,
    text: String,
    interrupted: bool,
}

/// What the screen keeps of the call.
#[derive(Clone, Copy)]
struct Screen {
    lines: RwSignal<Vec<Line>>,
    partial: RwSignal<String>,
    data: RwSignal<Vec<(String, String)>>,
    ended: RwSignal<Option<String>>,
    heard_ms: RwSignal<f64>,
    loud_ms: RwSignal<f64>,
    events: RwSignal<u64>,
}

impl Screen {
    fn new() -> Screen {
        Screen {
            lines: RwSignal::new(Vec::new()),
            partial: RwSignal::new(String::new()),
            data: RwSignal::new(Vec::new()),
            ended: RwSignal::new(None),
            heard_ms: RwSignal::new(0.0),
            loud_ms: RwSignal::new(0.0),
            events: RwSignal::new(0),
        }
    }

    fn reset(&self) {
        self.lines.set(Vec::new());
        self.partial.set(String::new());
        self.data.set(Vec::new());
        self.ended.set(None);
        self.heard_ms.set(0.0);
        self.loud_ms.set(0.0);
        self.events.set(0);
    }

    /// One of the socket's text frames (`voice::call::LiveEvent`, `clear`, `hangup`).
    fn event(&self, text: &str) {
        let Ok(v) = serde_json::from_str::<Value>(text) else { return };
        self.events.update(|n| *n += 1);
        match v["type"].as_str() {
            Some("partial") => self.partial.set(v["text"].as_str().unwrap_or_default().to_string()),
            Some("turn") => {
                let t = &v["turn"];
                let line = Line {
                    index: t["index"].as_u64().unwrap_or(0),
                    agent: t["speaker"] == "agent",
                    text: t["text"].as_str().unwrap_or_default().to_string(),
                    interrupted: t["interrupted"].as_bool().unwrap_or(false),
                };
                if !line.agent {
                    self.partial.set(String::new());
                }
                self.lines.update(|l| l.push(line));
            }
            Some("data") => {
                let field = v["field"].as_str().unwrap_or_default().to_string();
                let shown = match &v["value"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                self.data.update(|d| match d.iter_mut().find(|(f, _)| *f == field) {
                    Some(slot) => slot.1 = shown,
                    None => d.push((field, shown)),
                });
            }
            Some("ended") => {
                let by = v["report"]["end"]["by"].as_str().unwrap_or("caller").to_string();
                self.ended.set(Some(by));
            }
            _ => {}
        }
    }
}

#[cfg_attr(feature = "split", lazy)]
async fn start_call(path: String, screen: Screen, on: RwSignal<bool>) -> Result<BrowserAudio, MicError> {
    BrowserAudio::start_call(
        &path,
        move |text| screen.event(&text),
        move |played, loud| {
            screen.heard_ms.set(played);
            screen.loud_ms.set(loud);
        },
        move || on.set(false),
    )
    .await
}

#[component]
pub fn TestCall(org_id: Uuid, agent_id: Uuid) -> impl IntoView {
    let i18n = use_i18n();
    let running = StoredValue::new(None::<SendWrapper<BrowserAudio>>);
    let on = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let screen = Screen::new();
    // The server refused before the call began (no key for a provider, an
    // inactive agent, no voice pipeline): the socket closes with nothing said.
    Effect::new(move |was_on: Option<bool>| {
        let now = on.get();
        if was_on == Some(true) && !now {
            running.set_value(None);
            if screen.events.get_untracked() == 0 {
                error.set(Some(t_string!(i18n, agents.test_call_refused).to_string()));
            }
        }
        now
    });
    let toggle = move |_| {
        if on.get_untracked() {
            running.set_value(None);
            on.set(false);
            return;
        }
        busy.set(true);
        error.set(None);
        screen.reset();
        leptos::task::spawn_local(async move {
            let path = format!("/api/v1/orgs/{org_id}/agents/{agent_id}/test-call");
            let r = start_call(path, screen, on).await;
            busy.set(false);
            match r {
                Ok(a) => {
                    running.set_value(Some(SendWrapper::new(a)));
                    on.set(true);
                }
                Err(e) => error.set(Some(e.message(i18n))),
            }
        });
    };
    on_cleanup(move || running.set_value(None));
    view! {
        <Card>
            <div class="flex flex-wrap items-center gap-3" data-testid="test-call"
                data-heard-ms=move || format!("{:.0}", screen.heard_ms.get())
                data-loud-ms=move || format!("{:.0}", screen.loud_ms.get())>
                <h2 class="font-semibold">{t!(i18n, agents.test_call)}</h2>
                <Button variant=ButtonVariant::Secondary busy
                    attr:data-testid="test-call-toggle" attr:aria-pressed=move || on.get().to_string() on:click=toggle>
                    {move || if on.get() { t_string!(i18n, agents.test_call_hang_up).to_string() } else { t_string!(i18n, agents.test_call_start).to_string() }}
                </Button>
                <Show when=move || on.get()>
                    <LiveIndicator testid="test-call-live">{t!(i18n, agents.test_call_live)}</LiveIndicator>
                </Show>
                <p class="text-xs text-slate-500">{t!(i18n, agents.test_call_hint)}</p>
            </div>
            <FormError message=error/>
            <ol class="mt-3 space-y-1 text-sm" data-testid="test-call-transcript">
                <For each=move || screen.lines.get() key=|l| l.index let:line>
                    <li data-testid="test-call-line" data-speaker=if line.agent { "agent" } else { "prospect" }>
                        <span class=if line.agent { "mr-2 text-xs font-semibold text-indigo-700 dark:text-indigo-300" } else { "mr-2 text-xs font-semibold text-emerald-700 dark:text-emerald-300" }>
                            {move || if line.agent { t_string!(i18n, calls.speaker_agent).to_string() } else { t_string!(i18n, agents.test_call_you).to_string() }}
                        </span>
                        {line.text.clone()}
                        {line.interrupted.then(|| view! { <span class="ml-2 text-xs text-slate-400">{t!(i18n, calls.interrupted)}</span> })}
                    </li>
                </For>
                <Show when=move || !screen.partial.get().is_empty()>
                    <li class="italic text-slate-500" data-testid="test-call-partial">{move || screen.partial.get()}</li>
                </Show>
            </ol>
            <Show when=move || !screen.data.get().is_empty()>
                <dl class="mt-3 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm" data-testid="test-call-data">
                    <For each=move || screen.data.get() key=|(f, v)| format!("{f}={v}") let:item>
                        <dt class="font-mono text-xs text-slate-500">{item.0.clone()}</dt>
                        <dd data-testid="test-call-value" data-field=item.0.clone()>{item.1.clone()}</dd>
                    </For>
                </dl>
            </Show>
            <Show when=move || screen.ended.get().is_some()>
                <p class="mt-2 text-sm text-slate-500" data-testid="test-call-ended">{t!(i18n, agents.test_call_ended)}</p>
            </Show>
        </Card>
    }
}
