//! Listening to a live call (Admins and Owners): the server mints a hidden,
//! subscribe-only token for the call's room, and the page joins with
//! LiveKit's own browser SDK (npm `livekit-client`, loaded the first time
//! someone listens) called from Rust through wasm-bindgen. The callee's and
//! the agent's audio tracks play as they are subscribed; leaving the page
//! or pressing Stop leaves the room.

use leptos::prelude::*;
use uuid::Uuid;

use crate::i18n::{t, t_string, use_i18n};
use crate::ui::{Button, ButtonVariant};

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum State {
    Idle,
    Connecting,
    Listening,
    Failed(String),
}

#[component]
pub fn ListenLive(org_id: Uuid, call_id: Uuid) -> impl IntoView {
    let i18n = use_i18n();
    // Listening happens in the browser only.
    #[cfg(not(feature = "hydrate"))]
    let _ = (org_id, call_id);
    let state = RwSignal::new(State::Idle);
    let players = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    let listener = StoredValue::new(None::<send_wrapper::SendWrapper<browser::Listener>>);
    #[cfg(feature = "hydrate")]
    on_cleanup(move || listener.set_value(None));
    let start = move |_| {
        state.set(State::Connecting);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let access = match super::api::listen_call(org_id, call_id).await {
                Ok(a) => a,
                Err(e) => return state.set(State::Failed(crate::i18n::describe(i18n, &e))),
            };
            let Some(container) = players.get_untracked() else { return };
            let ended = move |why: String| {
                if state.get_untracked() == State::Listening {
                    state.set(if why.is_empty() { State::Idle } else { State::Failed(why) });
                }
            };
            match browser::join(&access.url, &access.token, container.into(), ended).await {
                Ok(l) => {
                    listener.set_value(Some(send_wrapper::SendWrapper::new(l)));
                    state.set(State::Listening);
                }
                Err(why) => state.set(State::Failed(why)),
            }
        });
    };
    let stop = move |_| {
        #[cfg(feature = "hydrate")]
        listener.set_value(None);
        state.set(State::Idle);
    };
    view! {
        <div class="flex flex-wrap items-center gap-2" data-testid="listen-live" data-state=move || match state.get() {
            State::Idle => "idle",
            State::Connecting => "connecting",
            State::Listening => "listening",
            State::Failed(_) => "failed",
        }>
            {move || match state.get() {
                State::Listening => view! {
                    <span class="text-sm text-emerald-700 dark:text-emerald-300">{t!(i18n, calls.listening)}</span>
                    <Button variant=ButtonVariant::Secondary attr:data-testid="listen-stop" on:click=stop>{t!(i18n, calls.stop_listening)}</Button>
                }.into_any(),
                s => view! {
                    <Button variant=ButtonVariant::Secondary busy=Signal::derive(move || state.get() == State::Connecting)
                        attr:data-testid="listen-start" on:click=start>{t!(i18n, calls.listen)}</Button>
                    {match s {
                        State::Failed(why) => Some(view! {
                            <span class="text-sm text-rose-600" role="alert" data-testid="listen-error">
                                {move || t_string!(i18n, calls.listen_failed, detail = why.clone()).to_string()}
                            </span>
                        }),
                        _ => None,
                    }}
                }.into_any(),
            }}
            <div node_ref=players class="hidden"></div>
        </div>
    }
}

/// LiveKit's browser SDK, as far as listening needs it.
#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    #[wasm_bindgen(raw_module = "/livekit-loader.js")]
    extern "C" {
        /// `import('/vendor/livekit-client.esm.mjs')`.
        #[wasm_bindgen(js_name = loadLiveKit)]
        fn load_livekit() -> js_sys::Promise;
    }

    #[wasm_bindgen]
    extern "C" {
        /// `livekit-client`'s `Room`.
        type Room;
        #[wasm_bindgen(method)]
        fn connect(this: &Room, url: &str, token: &str) -> js_sys::Promise;
        #[wasm_bindgen(method)]
        fn disconnect(this: &Room) -> js_sys::Promise;
        #[wasm_bindgen(method)]
        fn on(this: &Room, event: &str, listener: &js_sys::Function) -> Room;
        /// Lets audio play (the click that asked to listen is the gesture).
        #[wasm_bindgen(method, js_name = startAudio)]
        fn start_audio(this: &Room) -> js_sys::Promise;
        /// (`Room` is an event emitter.)
        #[wasm_bindgen(method, js_name = removeAllListeners)]
        fn remove_all_listeners(this: &Room) -> Room;

        /// A `RemoteTrack`.
        type Track;
        #[wasm_bindgen(method, getter)]
        fn kind(this: &Track) -> String;
        /// A new `<audio>` element playing the track.
        #[wasm_bindgen(method)]
        fn attach(this: &Track) -> web_sys::HtmlMediaElement;
    }

    /// In the room while this lives.
    pub struct Listener {
        room: Room,
        _on_track: Closure<dyn FnMut(JsValue)>,
        _on_gone: Closure<dyn FnMut(JsValue)>,
    }

    impl Drop for Listener {
        fn drop(&mut self) {
            // Our callbacks go with us: none may run once they are freed.
            self.room.remove_all_listeners();
            let _ = self.room.disconnect();
        }
    }

    fn words(e: JsValue) -> String {
        e.dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| e.as_string())
            .unwrap_or_else(|| "unknown error".into())
    }

    /// Joins the room at `url` with `token`; each audio track subscribed
    /// plays in an element added to `container`. `ended` hears why the room
    /// was left (empty when we left).
    pub async fn join(
        url: &str,
        token: &str,
        container: web_sys::Element,
        ended: impl Fn(String) + 'static,
    ) -> Result<Listener, String> {
        let module = JsFuture::from(load_livekit()).await.map_err(words)?;
        let ctor: js_sys::Function = js_sys::Reflect::get(&module, &"Room".into())
            .map_err(words)?
            .dyn_into()
            .map_err(|_| "livekit-client has no Room".to_string())?;
        let room: Room =
            js_sys::Reflect::construct(&ctor, &js_sys::Array::new()).map_err(words)?.unchecked_into();
        let on_track = Closure::<dyn FnMut(JsValue)>::new(move |track: JsValue| {
            let track: Track = track.unchecked_into();
            if track.kind() == "audio" {
                let el = track.attach();
                let _ = el.set_attribute("data-testid", "listen-audio");
                let _ = container.append_child(&el);
            }
        });
        room.on("trackSubscribed", on_track.as_ref().unchecked_ref());
        let on_gone = Closure::<dyn FnMut(JsValue)>::new(move |reason: JsValue| {
            // `DisconnectReason` 1 is the client's own leaving.
            let ours = reason.as_f64() == Some(1.0);
            ended(if ours { String::new() } else { "disconnected".into() });
        });
        room.on("disconnected", on_gone.as_ref().unchecked_ref());
        JsFuture::from(room.connect(url, token)).await.map_err(words)?;
        let _ = JsFuture::from(room.start_audio()).await;
        Ok(Listener { room, _on_track: on_track, _on_gone: on_gone })
    }
}
