//! The live transcript, and typing a line in practice mode.

use domain::copilot::script::Speaker;
use leptos::prelude::*;
use uuid::Uuid;

use super::Live;
use crate::features::copilot::api;
use crate::features::copilot::labels::speaker_label;
use crate::i18n::{describe, t, t_string, use_i18n};
use crate::ui::{Button, Card, FormError};
#[component]
pub(super) fn TranscriptPanel(org_id: Uuid, session_id: Uuid, live: Live) -> impl IntoView {
    let i18n = use_i18n();
    let text = RwSignal::new(String::new());
    let speaker = RwSignal::new(Speaker::Prospect);
    let error = RwSignal::new(None::<String>);
    let list = NodeRef::<leptos::html::Div>::new();
    // Keep the newest line in view.
    Effect::new(move |_| {
        live.lines.track();
        live.partial.track();
        if let Some(el) = list.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });
    let send = move || {
        let t = text.get_untracked();
        if t.trim().is_empty() {
            return;
        }
        let who = speaker.get_untracked();
        // The box empties as the line leaves, not when the answer comes
        // back: the line may reach the transcript first (live stream), and
        // whatever the rep types next must not be wiped by a late answer.
        text.set(String::new());
        leptos::task::spawn_local(async move {
            match api::say(org_id, session_id, who, t.clone()).await {
                Ok(events) => {
                    error.set(None);
                    for ev in events {
                        live.apply(ev);
                    }
                }
                Err(e) => {
                    // Nothing was said: give the line back, unless the rep
                    // has started another.
                    if text.get_untracked().is_empty() {
                        text.set(t);
                    }
                    error.set(Some(describe(i18n, &e)));
                }
            }
        });
    };
    view! {
        <Card title=Signal::derive(move || t_string!(i18n, copilot.transcript).to_string())>
            <div node_ref=list class="max-h-72 space-y-1 overflow-y-auto text-sm" data-testid="transcript" aria-live="polite">
                <For each=move || live.lines.get() key=|l| l.seq children=move |line| view! {
                    <p data-testid="transcript-line" data-speaker=format!("{:?}", line.speaker).to_lowercase()>
                        <span class="mr-2 font-semibold">{move || speaker_label(i18n, line.speaker)}</span>{line.text.clone()}
                    </p>
                }/>
                {move || live.partial.get().map(|l| view! {
                    <p class="italic text-slate-500" data-testid="transcript-partial">
                        <span class="mr-2 font-semibold">{move || speaker_label(i18n, l.speaker)}</span>{l.text.clone()}
                    </p>
                })}
                <Show when=move || live.lines.get().is_empty() && live.partial.get().is_none()>
                    <p class="text-slate-500">{t!(i18n, copilot.transcript_empty)}</p>
                </Show>
            </div>
            <Show when=move || live.ended.get().is_none()>
                <form class="mt-3 flex gap-2" on:submit=move |ev| { ev.prevent_default(); send(); }>
                    <select class="rounded-md px-2 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800 dark:ring-slate-600" aria-label=move || t_string!(i18n, copilot.speaker).to_string()
                        on:change=move |ev| speaker.set(if event_target_value(&ev) == "rep" { Speaker::Rep } else { Speaker::Prospect })>
                        <option value="prospect">{move || speaker_label(i18n, Speaker::Prospect)}</option>
                        <option value="rep">{move || speaker_label(i18n, Speaker::Rep)}</option>
                    </select>
                    <input class="min-w-0 flex-1 rounded-md px-3 py-2 text-sm ring-1 ring-slate-300 dark:bg-slate-800 dark:ring-slate-600" data-testid="say-input"
                        aria-label=move || t_string!(i18n, copilot.say_label).to_string()
                        placeholder=move || t_string!(i18n, copilot.say_placeholder).to_string()
                        prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))/>
                    <Button submit=true attr:data-testid="say-send">{t!(i18n, copilot.say_send)}</Button>
                </form>
            </Show>
            <FormError message=error/>
        </Card>
    }
}
