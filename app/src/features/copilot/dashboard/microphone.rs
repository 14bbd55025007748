//! Practice mode's live source: the rep's microphone, streamed to the
//! organisation's speech-to-text through [`crate::browser_audio`].
//!
//! The audio code (capture, the worklet, the socket) is a lazy chunk of the
//! wasm bundle, fetched when the rep first turns the microphone on: most
//! visits to the copilot never do.

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use uuid::Uuid;

use super::Live;
use crate::browser_audio::{BrowserAudio, MicError};
use crate::i18n::{t, t_string, use_i18n};
use crate::ui::{Button, ButtonVariant, Card, FormError, LiveIndicator};

/// Starts capturing and streaming to `path`; `on` turns false when the
/// stream ends by itself.
#[cfg_attr(feature = "split", lazy)]
async fn start_microphone(path: String, on: RwSignal<bool>) -> Result<BrowserAudio, MicError> {
    BrowserAudio::start(&path, move || on.set(false)).await
}

#[component]
pub(super) fn MicControl(org_id: Uuid, session_id: Uuid, live: Live) -> impl IntoView {
    let i18n = use_i18n();
    let running = StoredValue::new(None::<SendWrapper<BrowserAudio>>);
    let on = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let toggle = move |_| {
        if on.get_untracked() {
            running.set_value(None);
            on.set(false);
            return;
        }
        busy.set(true);
        live.source_error.set(None);
        leptos::task::spawn_local(async move {
            let path = format!("/api/v1/orgs/{org_id}/copilot/sessions/{session_id}/audio");
            let r = start_microphone(path, on).await;
            busy.set(false);
            match r {
                Ok(a) => {
                    running.set_value(Some(SendWrapper::new(a)));
                    on.set(true);
                    error.set(None);
                }
                Err(e) => error.set(Some(e.message(i18n))),
            }
        });
    };
    // Ending the session stops listening.
    Effect::new(move |_| {
        if live.ended.get().is_some() {
            running.set_value(None);
            on.set(false);
        }
    });
    on_cleanup(move || running.set_value(None));
    view! {
        <Card>
            <div class="flex flex-wrap items-center gap-3">
                <Button variant=ButtonVariant::Secondary busy attr:data-testid="mic-toggle" attr:aria-pressed=move || on.get().to_string() on:click=toggle>
                    {move || if on.get() { t_string!(i18n, copilot.mic_stop).to_string() } else { t_string!(i18n, copilot.mic_start).to_string() }}
                </Button>
                <Show when=move || on.get()>
                    <LiveIndicator testid="mic-live">{t!(i18n, copilot.mic_listening)}</LiveIndicator>
                </Show>
                <p class="text-xs text-slate-500">{t!(i18n, copilot.mic_hint)}</p>
            </div>
            <FormError message=error/>
            <FormError message=Signal::derive(move || live.source_error.get().map(|c| crate::i18n::error_message(i18n, c)))/>
        </Card>
    }
}
