//! A manager on a live call (Admins and Owners): **listen** (a hidden,
//! subscribe-only token), and on a rep's call **whisper** (their
//! microphone reaches the rep only: the page limits its track to the rep,
//! LiveKit enforces it, and the server keeps it from the callee too) or
//! **barge** (into the conversation). The server mints the token for the
//! mode, audits it and tells the rep; the page joins with LiveKit's browser
//! SDK ([`super::room`]). Leaving the page or pressing Stop leaves the room.

use domain::call_views::SuperviseMode;
use leptos::prelude::*;
use uuid::Uuid;

use crate::i18n::{t, t_string, use_i18n};
use crate::ui::{Button, ButtonVariant};

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum State {
    Idle,
    Connecting(SuperviseMode),
    On(SuperviseMode),
    Reconnecting(SuperviseMode),
    Failed(String),
}

impl State {
    fn testid(&self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Connecting(_) => "connecting",
            State::On(SuperviseMode::Listen) => "listening",
            State::On(SuperviseMode::Whisper) => "whispering",
            State::On(SuperviseMode::Barge) => "barging",
            State::Reconnecting(_) => "reconnecting",
            State::Failed(_) => "failed",
        }
    }
}

/// Listen / whisper / barge on call `call_id`; whisper only on a rep's call.
#[component]
pub fn ListenLive(org_id: Uuid, call_id: Uuid, #[prop(optional)] rep_call: bool) -> impl IntoView {
    let i18n = use_i18n();
    #[cfg(not(feature = "hydrate"))]
    let _ = (org_id, call_id);
    let state = RwSignal::new(State::Idle);
    let players = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    let joined = StoredValue::new(None::<send_wrapper::SendWrapper<super::room::Joined>>);
    #[cfg(feature = "hydrate")]
    on_cleanup(move || joined.set_value(None));
    let start = move |mode: SuperviseMode| {
        #[cfg(feature = "hydrate")]
        joined.set_value(None);
        state.set(State::Connecting(mode));
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let s = match super::api::supervise_call(org_id, call_id, mode).await {
                Ok(s) => s,
                Err(e) => return state.set(State::Failed(crate::i18n::describe(i18n, &e))),
            };
            let Some(container) = players.get_untracked() else { return };
            let link = move |l: super::room::Link| match l {
                super::room::Link::Connected => state.set(State::On(mode)),
                super::room::Link::Reconnecting => state.set(State::Reconnecting(mode)),
                super::room::Link::Gone(why) if why.is_empty() => state.set(State::Idle),
                super::room::Link::Gone(why) => state.set(State::Failed(why)),
            };
            let room = match super::room::join(
                &s.access.url,
                &s.access.token,
                container.into(),
                "listen-audio",
                link,
            )
            .await
            {
                Ok(r) => r,
                Err(why) => return state.set(State::Failed(why)),
            };
            if mode != SuperviseMode::Listen {
                // Limited before anything is published: not a word escapes.
                if let (SuperviseMode::Whisper, Some(rep)) = (mode, s.rep_identity.as_deref()) {
                    room.only_for(rep);
                }
                if let Err(why) = room.microphone(true).await {
                    return state.set(State::Failed(why));
                }
            }
            joined.set_value(Some(send_wrapper::SendWrapper::new(room)));
            state.set(State::On(mode));
        });
    };
    let stop = move |_| {
        #[cfg(feature = "hydrate")]
        joined.set_value(None);
        state.set(State::Idle);
    };
    let label = move |m: SuperviseMode| match m {
        SuperviseMode::Listen => t_string!(i18n, calls.listen).to_string(),
        SuperviseMode::Whisper => t_string!(i18n, calls.whisper).to_string(),
        SuperviseMode::Barge => t_string!(i18n, calls.barge).to_string(),
    };
    let modes: Vec<SuperviseMode> =
        SuperviseMode::ALL.into_iter().filter(|m| rep_call || *m != SuperviseMode::Whisper).collect();
    view! {
        <div class="flex flex-wrap items-center gap-2" data-testid="listen-live" data-state=move || state.get().testid()>
            {move || match state.get() {
                State::On(m) | State::Reconnecting(m) => view! {
                    <span class="text-sm text-emerald-700 dark:text-emerald-300" data-testid="supervising">{move || match m {
                        SuperviseMode::Listen => t_string!(i18n, calls.listening).to_string(),
                        SuperviseMode::Whisper => t_string!(i18n, calls.whispering).to_string(),
                        SuperviseMode::Barge => t_string!(i18n, calls.barging).to_string(),
                    }}</span>
                    {(state.get() == State::Reconnecting(m)).then(|| view! { <span class="text-xs text-amber-600">{t!(i18n, calls.reconnecting)}</span> })}
                    <Button variant=ButtonVariant::Secondary attr:data-testid="listen-stop" on:click=stop>{t!(i18n, calls.stop_listening)}</Button>
                }.into_any(),
                s => {
                    let modes = modes.clone();
                    view! {
                        {modes.into_iter().map(|m| view! {
                            <Button variant=ButtonVariant::Secondary busy=Signal::derive(move || state.get() == State::Connecting(m))
                                attr:data-testid=match m {
                                    SuperviseMode::Listen => "listen-start",
                                    SuperviseMode::Whisper => "whisper-start",
                                    SuperviseMode::Barge => "barge-start",
                                }
                                on:click=move |_| start(m)>{move || label(m)}</Button>
                        }).collect_view()}
                        {match s {
                            State::Failed(why) => Some(view! {
                                <span class="text-sm text-rose-600" role="alert" data-testid="listen-error">
                                    {move || t_string!(i18n, calls.listen_failed, detail = why.clone()).to_string()}
                                </span>
                            }),
                            _ => None,
                        }}
                    }.into_any()
                }
            }}
            <div node_ref=players class="hidden"></div>
        </div>
    }
}
