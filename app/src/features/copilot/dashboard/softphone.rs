//! The rep's softphone: the phone call the session follows, from the
//! browser. The page joins the call's LiveKit room with the rep's token
//! (LiveKit's browser SDK, `calls::room`) and publishes the microphone;
//! the prospect's voice (and a manager's whisper or voice) plays as it is
//! subscribed. Mute, hold (music or silence — enforced by the server),
//! hang up, a DTMF keypad, microphone and speaker choice, a call timer,
//! and the call's state from its lifecycle (its event stream: ringing,
//! answered, ended). The SDK reconnects by itself when the network drops
//! for a few seconds; the page says so meanwhile. When the call ends the
//! outcome dialog opens.

use domain::call_views::{Call, CallUpdate, SuperviseMode, KEYPAD};
use leptos::prelude::*;
use uuid::Uuid;

use super::Live;
use crate::features::calls::api as calls_api;
use crate::features::calls::labels::{duration, status_label, status_tone};
#[cfg(feature = "hydrate")]
use crate::i18n::describe;
use crate::i18n::{t, t_string, use_i18n};
use crate::ui::{Badge, Button, ButtonVariant, Card, FormError};

/// How the page is connected to the call's room.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Link {
    Connecting,
    Connected,
    Reconnecting,
    /// Not in the room: the call ended, or it is not this rep's to join.
    Off,
    Failed(String),
}

#[component]
pub(super) fn Softphone(org_id: Uuid, call_id: Uuid, live: Live, end_open: RwSignal<bool>) -> impl IntoView {
    let i18n = use_i18n();
    let call = RwSignal::new(None::<Call>);
    let link = RwSignal::new(Link::Connecting);
    let muted = RwSignal::new(false);
    let held = RwSignal::new(false);
    let music = RwSignal::new(true);
    let keypad = RwSignal::new(false);
    let dialled = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let inputs = RwSignal::new(Vec::<(String, String)>::new());
    let outputs = RwSignal::new(Vec::<(String, String)>::new());
    // The devices in use as the SDK reports them (not merely as chosen): a
    // switch that failed shows the device still in use.
    let active_input = RwSignal::new(None::<String>);
    let active_output = RwSignal::new(None::<String>);
    let now = RwSignal::new(chrono::Utc::now());
    let players = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    // Shared (`Rc`): a control's task holds it while the page may leave.
    let joined = StoredValue::new(
        None::<send_wrapper::SendWrapper<std::rc::Rc<crate::features::calls::room::Joined>>>,
    );
    #[cfg(feature = "hydrate")]
    on_cleanup(move || joined.set_value(None));

    // The call as it is, then as it changes.
    let first = Resource::new(move || call_id, move |id| calls_api::get_call(org_id, id));
    Effect::new(move |_| {
        if let Some(Ok(d)) = first.get() {
            call.update(|c| {
                if c.as_ref().is_none_or(|c| c.status.is_final() <= d.call.status.is_final()) {
                    *c = Some(d.call.clone());
                }
            });
        }
    });
    crate::live::follow(
        move || Some(format!("/api/v1/orgs/{org_id}/calls/{call_id}/events")),
        // Live updates carry no names: the read's are kept.
        move |u: CallUpdate| {
            call.update(|c| {
                let new = match c.as_ref() {
                    Some(k) if k.id == u.call.id => u.call.keep_names(k),
                    _ => u.call,
                };
                *c = Some(new);
            })
        },
        move || first.refetch(),
    );
    #[cfg(feature = "hydrate")]
    {
        use send_wrapper::SendWrapper;
        let tick =
            set_interval_with_handle(move || now.set(chrono::Utc::now()), std::time::Duration::from_secs(1));
        if let Ok(tick) = tick {
            on_cleanup(move || tick.clear());
        }
        // Into the room: a fresh token for the rep's live call.
        leptos::task::spawn_local(async move {
            let current = match calls_api::rep_current_call(org_id).await {
                Ok(Some(c)) if c.call.id == call_id => c,
                Ok(_) => return link.set(Link::Off),
                Err(e) => return link.set(Link::Failed(describe(i18n, &e))),
            };
            // On hold when the page (re)opened: it holds as it was (the server
            // keeps the hold for the new participant).
            if let Some(h) = current.hold {
                music.set(h.music);
                held.set(true);
            }
            let Some(container) = players.get_untracked() else { return };
            let on_link = move |l: crate::features::calls::room::Link| {
                use crate::features::calls::room::Link as L;
                link.set(match l {
                    L::Connected => Link::Connected,
                    L::Reconnecting => Link::Reconnecting,
                    L::Gone(why) if why.is_empty() => Link::Off,
                    L::Gone(why) => Link::Failed(why),
                })
            };
            let url = &current.access.url;
            let room = match crate::features::calls::room::join(
                url,
                &current.access.token,
                container.into(),
                "softphone-audio",
                on_link,
            )
            .await
            {
                Ok(r) => r,
                Err(why) => return link.set(Link::Failed(why)),
            };
            room.on_device_change(move |kind, id| match kind.as_str() {
                "audioinput" => active_input.set(Some(id)),
                "audiooutput" => active_output.set(Some(id)),
                _ => {}
            });
            if let Err(why) = room.microphone(true).await {
                error.set(Some(t_string!(i18n, copilot.phone_no_microphone, detail = why).to_string()));
            } else if current.hold.is_some_and(|h| h.music) {
                if let Err(why) = room.hold_music(true).await {
                    error.set(Some(why));
                }
            }
            joined.set_value(Some(SendWrapper::new(std::rc::Rc::new(room))));
            link.set(Link::Connected);
            // Labels are readable once the microphone is allowed.
            inputs.set(crate::features::calls::room::devices("audioinput").await);
            outputs.set(crate::features::calls::room::devices("audiooutput").await);
            // Until the SDK names one, the browser's default is in use.
            if let Some(j) = joined.get_value() {
                for (kind, active) in [("audioinput", active_input), ("audiooutput", active_output)] {
                    if active.with_untracked(Option::is_none) {
                        active.set(j.active_device(kind).or_else(|| Some("default".into())));
                    }
                }
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = players;

    let status = move || call.with(|c| c.as_ref().map(|c| c.status));
    // The call ended: leave the room, and ask how it went (once).
    Effect::new(move |asked: Option<bool>| {
        let over = status().is_some_and(|s| s.is_final());
        if over {
            #[cfg(feature = "hydrate")]
            joined.set_value(None);
            link.set(Link::Off);
            if asked != Some(true) && live.ended.get_untracked().is_none() {
                end_open.set(true);
            }
        }
        over || asked == Some(true)
    });

    let act = move |what: &'static str| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let r: Result<(), String> = match what {
                "mute" => {
                    let on = muted.get_untracked();
                    let done = match joined.get_value() {
                        Some(j) => j.microphone(on).await,
                        None => Ok(()),
                    };
                    done.map(|_| muted.set(!on))
                }
                "hold" => {
                    let on = !held.get_untracked();
                    let with_music = music.get_untracked();
                    match calls_api::rep_hold(org_id, call_id, on, on && with_music).await {
                        Ok(()) => {
                            let played = match joined.get_value() {
                                Some(j) => j.hold_music(on && with_music).await,
                                None => Ok(()),
                            };
                            held.set(on);
                            played
                        }
                        Err(e) => Err(describe(i18n, &e)),
                    }
                }
                "hang_up" => calls_api::hang_up_call(org_id, call_id)
                    .await
                    .map(|d| call.set(Some(d.call)))
                    .map_err(|e| describe(i18n, &e)),
                _ => Ok(()),
            };
            error.set(r.err());
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = what;
    };
    let press = move |key: char| {
        dialled.update(|d| d.push(key));
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Some(j) = joined.get_value() {
                if let Err(why) = j.dtmf(key).await {
                    error.set(Some(why));
                }
            }
        });
    };
    let choose = move |kind: &'static str, id: String| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let Some(j) = joined.get_value() else { return };
            let active = if kind == "audioinput" { active_input } else { active_output };
            match j.use_device(kind, &id).await {
                Ok(()) => error.set(None),
                Err(why) => {
                    error.set(Some(t_string!(i18n, copilot.phone_device_failed, detail = why).to_string()))
                }
            }
            // Set even when unchanged: the list goes back to the device in use.
            active.set(j.active_device(kind).or_else(|| active.get_untracked()));
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (kind, id);
    };
    let in_call = move || link.get() == Link::Connected || link.get() == Link::Reconnecting;
    let talking = move || status().is_some_and(|s| s.was_answered() && !s.is_final());
    let timer = move || {
        call.with(|c| c.as_ref().and_then(|c| c.answered_at.map(|a| (a, c.ended_at))))
            .map(|(a, end)| duration((end.unwrap_or_else(|| now.get()) - a).num_milliseconds().max(0)))
            .unwrap_or_else(|| "0:00".into())
    };
    let supervisor_text = move |name: String, m: SuperviseMode| match m {
        SuperviseMode::Listen => t_string!(i18n, copilot.sup_listening, name = name).to_string(),
        SuperviseMode::Whisper => t_string!(i18n, copilot.sup_whispering, name = name).to_string(),
        SuperviseMode::Barge => t_string!(i18n, copilot.sup_barging, name = name).to_string(),
    };
    view! {
        <Card>
            <div class="space-y-3" data-testid="softphone" data-link=move || match link.get() {
                Link::Connecting => "connecting",
                Link::Connected => "connected",
                Link::Reconnecting => "reconnecting",
                Link::Off => "off",
                Link::Failed(_) => "failed",
            } data-status=move || status().map(|s| s.as_str()).unwrap_or("")>
                <div class="flex flex-wrap items-center justify-between gap-2">
                    <div class="flex items-center gap-2">
                        {move || status().map(|s| view! {
                            <span data-testid="phone-status"><Badge tone=status_tone(s)>{status_label(i18n, s)}</Badge></span>
                        })}
                        <span class="font-mono text-lg tabular-nums" data-testid="phone-timer">{timer}</span>
                        {move || (link.get() == Link::Reconnecting).then(|| view! {
                            <span class="text-sm text-amber-600" role="status" data-testid="phone-reconnecting">{t!(i18n, copilot.phone_reconnecting)}</span>
                        })}
                    </div>
                    <span class="text-sm text-slate-500">{move || call.with(|c| c.as_ref().map(|c| c.to_number.clone()).unwrap_or_default())}</span>
                </div>
                {move || {
                    let list = live.supervisors.get();
                    (!list.is_empty()).then(|| view! {
                        <ul class="space-y-1 rounded-md bg-amber-50 p-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-200" data-testid="phone-supervisors" role="status">
                            {list.into_iter().map(|(n, m)| view! { <li data-mode=m.as_str()>{supervisor_text(n, m)}</li> }).collect_view()}
                        </ul>
                    })
                }}
                <Show when=move || status().is_some_and(|s| !s.is_final())>
                    <div class="flex flex-wrap gap-2">
                        <Button variant=ButtonVariant::Secondary attr:data-testid="phone-mute" attr:aria-pressed=move || muted.get().to_string()
                            disabled=Signal::derive(move || !in_call()) on:click=move |_| act("mute")>
                            {move || if muted.get() { t_string!(i18n, copilot.phone_unmute).to_string() } else { t_string!(i18n, copilot.phone_mute).to_string() }}
                        </Button>
                        <Button variant=ButtonVariant::Secondary attr:data-testid="phone-hold" attr:aria-pressed=move || held.get().to_string()
                            disabled=Signal::derive(move || !talking()) on:click=move |_| act("hold")>
                            {move || if held.get() { t_string!(i18n, copilot.phone_resume).to_string() } else { t_string!(i18n, copilot.phone_hold).to_string() }}
                        </Button>
                        <label class="flex items-center gap-1 text-sm">
                            <input type="checkbox" data-testid="phone-hold-music" prop:checked=music disabled=held
                                on:change=move |ev| music.set(event_target_checked(&ev))/>
                            {t!(i18n, copilot.phone_hold_music)}
                        </label>
                        <Button variant=ButtonVariant::Secondary attr:data-testid="phone-keypad" attr:aria-expanded=move || keypad.get().to_string()
                            on:click=move |_| keypad.update(|k| *k = !*k)>{t!(i18n, copilot.phone_keypad)}</Button>
                        <Button variant=ButtonVariant::Danger attr:data-testid="phone-hang-up" on:click=move |_| act("hang_up")>{t!(i18n, copilot.phone_hang_up)}</Button>
                    </div>
                </Show>
                <Show when=move || keypad.get() && talking()>
                    <div class="space-y-2" data-testid="phone-keypad-keys">
                        <div class="grid w-48 grid-cols-3 gap-1">
                            {KEYPAD.into_iter().map(|k| view! {
                                <button type="button" class="rounded-md bg-slate-100 py-2 font-mono text-lg hover:bg-slate-200 dark:bg-slate-800"
                                    data-testid=format!("key-{k}") on:click=move |_| press(k)>{k.to_string()}</button>
                            }).collect_view()}
                        </div>
                        <p class="font-mono text-sm" data-testid="phone-dialled">{move || dialled.get()}</p>
                    </div>
                </Show>
                <div class="grid gap-2 sm:grid-cols-2">
                    <label class="text-sm">
                        <span class="mb-1 block text-xs text-slate-500">{t!(i18n, copilot.phone_microphone)}</span>
                        // Switching restarts the microphone's track, which would put the
                        // microphone back in the hold music's place: not while on hold.
                        <select class=crate::ui::COMPACT_CONTROL data-testid="phone-input" disabled=held
                            data-active=move || active_input.get()
                            on:change=move |ev| choose("audioinput", event_target_value(&ev))>
                            {move || inputs.get().into_iter().map(|(id, label)| device_option(id, label, active_input)).collect_view()}
                        </select>
                    </label>
                    <label class="text-sm">
                        <span class="mb-1 block text-xs text-slate-500">{t!(i18n, copilot.phone_speaker)}</span>
                        <select class=crate::ui::COMPACT_CONTROL data-testid="phone-output"
                            data-active=move || active_output.get()
                            on:change=move |ev| choose("audiooutput", event_target_value(&ev))>
                            {move || outputs.get().into_iter().map(|(id, label)| device_option(id, label, active_output)).collect_view()}
                        </select>
                    </label>
                </div>
                {move || match link.get() {
                    Link::Failed(why) => Some(view! { <p class="text-sm text-rose-600" role="alert" data-testid="phone-error">{t_string!(i18n, copilot.phone_failed, detail = why).to_string()}</p> }),
                    _ => None,
                }}
                <FormError message=error/>
                <div node_ref=players class="hidden"></div>
            </div>
        </Card>
    }
}

/// A device in a softphone list, selected while it is the one in use.
fn device_option(id: String, label: String, active: RwSignal<Option<String>>) -> impl IntoView {
    let this = id.clone();
    view! { <option value=id prop:selected=move || active.with(|a| a.as_deref() == Some(this.as_str()))>{label}</option> }
}
