//! The end-of-call form: outcome, callback time, notes.
//!
//! Used once per call, so its code is a lazy chunk of the wasm bundle,
//! fetched the first time a rep ends a call on the page.

use chrono::{DateTime, NaiveDateTime, Utc};
use domain::copilot::outcome::{CallOutcome, OutcomeReport};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use uuid::Uuid;

use super::Live;
use crate::features::copilot::api;
use crate::features::copilot::labels::outcome_label;
use crate::i18n::{describe, t, t_string, use_i18n};
use crate::ui::{Button, ButtonVariant, Dialog, FormError};

/// What ending a call needs from the page.
#[derive(Clone, Copy)]
pub(super) struct Ending {
    pub org_id: Uuid,
    pub session: Uuid,
    /// The dialog's state; the "End call" button opens it.
    pub open: RwSignal<bool>,
    pub live: Live,
    /// Bumped once the outcome is logged: the queue reorders.
    pub refresh_queue: RwSignal<u32>,
}

/// Mounts the form when it is first opened, and keeps it after that (the
/// dialog closes itself).
#[component]
pub(super) fn EndCall(ending: Ending) -> impl IntoView {
    let open = ending.open;
    let wanted = Memo::new(move |was: Option<&bool>| was.copied().unwrap_or(false) || open.get());
    move || {
        wanted.get().then(|| {
            // The loader's future holds browser handles; it only ever runs there.
            Suspend::new(SendWrapper::new(async move { end_dialog(ending).await }))
        })
    }
}

// A lazy chunk only where the bundle is split (`split` feature: release
// builds through cargo-leptos); scripts/dev's bundle keeps it inline.
#[cfg_attr(feature = "split", lazy)]
async fn end_dialog(ending: Ending) -> AnyView {
    view! { <EndDialog ending/> }.into_any()
}

#[component]
fn EndDialog(ending: Ending) -> impl IntoView {
    let Ending { org_id, session, open, live, refresh_queue } = ending;
    let i18n = use_i18n();
    let outcome = RwSignal::new(String::from("interested"));
    let callback = RwSignal::new(String::new());
    let notes = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move || {
        let Some(o) = CallOutcome::parse(&outcome.get_untracked()) else { return };
        // `datetime-local` is the rep's local time; the browser knows the offset.
        let callback_at = parse_local(&callback.get_untracked());
        let report = OutcomeReport { outcome: o, callback_at, notes: notes.get_untracked() };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = api::end_session(org_id, session, report).await;
            busy.set(false);
            match r {
                Ok(s) => {
                    error.set(None);
                    open.set(false);
                    live.ended.set(s.outcome);
                    refresh_queue.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(describe(i18n, &e))),
            }
        });
    };
    view! {
        <Dialog open title=Signal::derive(move || t_string!(i18n, copilot.end_title).to_string())>
            <form class="space-y-3" on:submit=move |ev| { ev.prevent_default(); submit(); } data-testid="end-form">
                <fieldset>
                    <legend class="mb-1 text-sm font-medium">{t!(i18n, copilot.outcome)}</legend>
                    <div class="grid grid-cols-2 gap-1">
                        {CallOutcome::ALL.into_iter().map(|o| view! {
                            <label class="flex items-center gap-2 text-sm">
                                <input type="radio" name="outcome" value=o.as_str() data-testid=format!("outcome-{}", o.as_str())
                                    prop:checked=move || outcome.get() == o.as_str()
                                    on:change=move |_| outcome.set(o.as_str().to_string())/>
                                {move || outcome_label(i18n, o)}
                            </label>
                        }).collect_view()}
                    </div>
                </fieldset>
                <Show when=move || outcome.get() == "callback_scheduled">
                    <label class="block text-sm">
                        <span class="mb-1 block font-medium">{t!(i18n, copilot.callback_at)}</span>
                        <input type="datetime-local" data-testid="callback-at" class="rounded-md px-3 py-2 ring-1 ring-slate-300 dark:bg-slate-800"
                            prop:value=move || callback.get() on:input=move |ev| callback.set(event_target_value(&ev))/>
                    </label>
                </Show>
                <label class="block text-sm">
                    <span class="mb-1 block font-medium">{t!(i18n, copilot.notes)}</span>
                    <textarea rows="3" data-testid="end-notes" class="block w-full rounded-md px-3 py-2 ring-1 ring-slate-300 dark:bg-slate-800"
                        prop:value=move || notes.get() on:input=move |ev| notes.set(event_target_value(&ev))></textarea>
                </label>
                <FormError message=error/>
                <div class="flex justify-end gap-2">
                    <Button variant=ButtonVariant::Secondary on:click=move |_| open.set(false)>{t!(i18n, common.cancel)}</Button>
                    <Button submit=true busy attr:data-testid="end-submit">{t!(i18n, copilot.log_outcome)}</Button>
                </div>
            </form>
        </Dialog>
    }
}

/// A `datetime-local` value in the browser's time zone, as UTC.
fn parse_local(value: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M").ok()?;
    #[cfg(feature = "hydrate")]
    {
        // getTimezoneOffset: minutes to add to local time to get UTC, for that date.
        let js = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(value));
        let offset = js.get_timezone_offset();
        if offset.is_finite() {
            return Some((naive + chrono::Duration::minutes(offset as i64)).and_utc());
        }
    }
    Some(naive.and_utc())
}
