//! A call's LiveKit room from the browser, with LiveKit's own browser SDK
//! (npm `livekit-client`, loaded the first time a page needs it) driven
//! from Rust through wasm-bindgen: the rep's softphone, a manager
//! listening, whispering or barging. Every remote audio track plays in an
//! element added to the given container; leaving (dropping the [`Joined`])
//! disconnects. Browser only.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(raw_module = "/livekit-loader.js")]
extern "C" {
    /// `import('/vendor/livekit-client.esm.mjs')`.
    #[wasm_bindgen(js_name = loadLiveKit)]
    fn load_livekit() -> js_sys::Promise;
    /// A soft looping melody as a `MediaStreamTrack` (hold music).
    #[wasm_bindgen(js_name = holdMusicTrack)]
    fn hold_music_track() -> JsValue;
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
    /// Lets audio play (the click that joined is the gesture).
    #[wasm_bindgen(method, js_name = startAudio)]
    fn start_audio(this: &Room) -> js_sys::Promise;
    #[wasm_bindgen(method)]
    fn off(this: &Room, event: &str, listener: &js_sys::Function) -> Room;
    #[wasm_bindgen(method, js_name = removeAllListeners)]
    fn remove_all_listeners(this: &Room) -> Room;
    #[wasm_bindgen(method, js_name = switchActiveDevice)]
    fn switch_active_device(this: &Room, kind: &str, device_id: &str) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = getActiveDevice)]
    fn get_active_device(this: &Room, kind: &str) -> Option<String>;
    #[wasm_bindgen(method, getter, js_name = localParticipant)]
    fn local_participant(this: &Room) -> LocalParticipant;

    type LocalParticipant;
    #[wasm_bindgen(method, js_name = setMicrophoneEnabled)]
    fn set_microphone_enabled(this: &LocalParticipant, on: bool) -> js_sys::Promise;
    /// RFC 4733 tones, which LiveKit's SIP bridge plays to the phone.
    #[wasm_bindgen(method, js_name = publishDtmf)]
    fn publish_dtmf(this: &LocalParticipant, code: u32, digit: &str) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = setTrackSubscriptionPermissions)]
    fn set_track_subscription_permissions(
        this: &LocalParticipant,
        all_allowed: bool,
        permissions: &js_sys::Array,
    );
    #[wasm_bindgen(method, js_name = getTrackPublication)]
    fn get_track_publication(this: &LocalParticipant, source: &str) -> JsValue;

    /// A `RemoteTrack`.
    type Track;
    #[wasm_bindgen(method, getter)]
    fn kind(this: &Track) -> String;
    /// A new `<audio>` element playing the track.
    #[wasm_bindgen(method)]
    fn attach(this: &Track) -> web_sys::HtmlMediaElement;

    /// The microphone's `LocalAudioTrack`.
    type LocalAudioTrack;
    #[wasm_bindgen(method, js_name = replaceTrack)]
    fn replace_track(this: &LocalAudioTrack, track: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(method, getter, js_name = mediaStreamTrack)]
    fn media_stream_track(this: &LocalAudioTrack) -> JsValue;
}

/// Where the connection stands, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Connected,
    /// The network dropped: the SDK is reconnecting on its own.
    Reconnecting,
    /// Gone: empty when we left, else why.
    Gone(String),
}

/// Hears `activeDeviceChanged(kind, device)`.
type DeviceListener = Closure<dyn FnMut(JsValue, JsValue)>;

/// In the room while this lives.
pub struct Joined {
    room: Room,
    _listeners: Vec<Closure<dyn FnMut(JsValue)>>,
    device_listener: std::cell::RefCell<Option<DeviceListener>>,
    /// While hold music plays: the microphone's own track and the music's.
    held_mic: std::cell::RefCell<Option<(JsValue, JsValue)>>,
}

impl Drop for Joined {
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

async fn module() -> Result<JsValue, String> {
    JsFuture::from(load_livekit()).await.map_err(words)
}

/// Joins the room at `url` with `token`. Each remote audio track plays in
/// an element (marked `data-testid=testid`) added to `container`; `link`
/// hears the connection's changes.
pub async fn join(
    url: &str,
    token: &str,
    container: web_sys::Element,
    testid: &'static str,
    link: impl Fn(Link) + Clone + 'static,
) -> Result<Joined, String> {
    let module = module().await?;
    let ctor: js_sys::Function = js_sys::Reflect::get(&module, &"Room".into())
        .map_err(words)?
        .dyn_into()
        .map_err(|_| "livekit-client has no Room".to_string())?;
    let room: Room =
        js_sys::Reflect::construct(&ctor, &js_sys::Array::new()).map_err(words)?.unchecked_into();
    let mut listeners = Vec::new();
    let on_track = Closure::<dyn FnMut(JsValue)>::new(move |track: JsValue| {
        let track: Track = track.unchecked_into();
        if track.kind() == "audio" {
            let el = track.attach();
            let _ = el.set_attribute("data-testid", testid);
            let _ = container.append_child(&el);
        }
    });
    room.on("trackSubscribed", on_track.as_ref().unchecked_ref());
    listeners.push(on_track);
    // A lost signalling connection alone (media still flowing) is
    // `signalReconnecting`, a lost media path `reconnecting`; both end in
    // `reconnected`, and the rep is told either way.
    for (event, state) in [
        ("signalReconnecting", Some(Link::Reconnecting)),
        ("reconnecting", Some(Link::Reconnecting)),
        ("reconnected", Some(Link::Connected)),
        ("disconnected", None),
    ] {
        let link = link.clone();
        let f = Closure::<dyn FnMut(JsValue)>::new(move |reason: JsValue| {
            link(state.clone().unwrap_or_else(|| {
                // `DisconnectReason` 1 is the client's own leaving.
                Link::Gone(if reason.as_f64() == Some(1.0) { String::new() } else { "disconnected".into() })
            }))
        });
        room.on(event, f.as_ref().unchecked_ref());
        listeners.push(f);
    }
    JsFuture::from(room.connect(url, token)).await.map_err(words)?;
    let _ = JsFuture::from(room.start_audio()).await;
    Ok(Joined {
        room,
        _listeners: listeners,
        device_listener: Default::default(),
        held_mic: Default::default(),
    })
}

impl Joined {
    /// Turns the microphone on (publishing it the first time) or mutes it.
    pub async fn microphone(&self, on: bool) -> Result<(), String> {
        JsFuture::from(self.room.local_participant().set_microphone_enabled(on))
            .await
            .map(|_| ())
            .map_err(words)
    }

    /// From now on, only `identity` may receive what this page publishes
    /// (a whisper to the rep): LiveKit's server enforces it.
    pub fn only_for(&self, identity: &str) {
        let allowed = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&allowed, &"participantIdentity".into(), &identity.into());
        let _ = js_sys::Reflect::set(&allowed, &"allowAll".into(), &true.into());
        let list = js_sys::Array::of1(&allowed);
        self.room.local_participant().set_track_subscription_permissions(false, &list);
    }

    /// Sends a keypad key to the phone.
    pub async fn dtmf(&self, key: char) -> Result<(), String> {
        let code = domain::call_views::dtmf_code(key).ok_or_else(|| format!("not a keypad key: {key}"))?;
        let digit = key.to_string();
        JsFuture::from(self.room.local_participant().publish_dtmf(code, &digit))
            .await
            .map(|_| ())
            .map_err(words)
    }

    /// Uses device `id` for `kind` (`audioinput` or `audiooutput`). The SDK
    /// answers `false` when the microphone it restarted is not the one asked
    /// for (the device went away, or the browser picked another): an error.
    pub async fn use_device(&self, kind: &str, id: &str) -> Result<(), String> {
        let switched = JsFuture::from(self.room.switch_active_device(kind, id)).await.map_err(words)?;
        if switched.as_bool() == Some(false) {
            return Err(format!("{kind} {id} is not available"));
        }
        Ok(())
    }

    /// `f(kind, device)` whenever the device in use for a kind changes: a
    /// switch, or the SDK settling on the device a track actually opened —
    /// after a switch resolves, for a microphone. Replaces an earlier `f`.
    pub fn on_device_change(&self, f: impl Fn(String, String) + 'static) {
        let cb = Closure::<dyn FnMut(JsValue, JsValue)>::new(move |kind: JsValue, id: JsValue| {
            if let (Some(kind), Some(id)) = (kind.as_string(), id.as_string()) {
                f(kind, id)
            }
        });
        if let Some(old) = self.device_listener.borrow_mut().replace(cb) {
            self.room.off("activeDeviceChanged", old.as_ref().unchecked_ref());
        }
        if let Some(cb) = self.device_listener.borrow().as_ref() {
            self.room.on("activeDeviceChanged", cb.as_ref().unchecked_ref());
        }
    }

    /// The device the room uses for `kind`, as the SDK knows it (none until
    /// it has opened or been told one).
    pub fn active_device(&self, kind: &str) -> Option<String> {
        self.room.get_active_device(kind)
    }

    fn mic_track(&self) -> Option<LocalAudioTrack> {
        let publication = self.room.local_participant().get_track_publication("microphone");
        let track = js_sys::Reflect::get(&publication, &"track".into()).ok()?;
        (!track.is_undefined() && !track.is_null()).then(|| track.unchecked_into())
    }

    /// Plays hold music to the room instead of the microphone (or gives
    /// the microphone back).
    pub async fn hold_music(&self, on: bool) -> Result<(), String> {
        let Some(track) = self.mic_track() else { return Ok(()) };
        if on {
            if self.held_mic.borrow().is_some() {
                return Ok(());
            }
            let mic = track.media_stream_track();
            let music = hold_music_track();
            JsFuture::from(track.replace_track(&music)).await.map_err(words)?;
            *self.held_mic.borrow_mut() = Some((mic, music));
        } else {
            let held = self.held_mic.borrow_mut().take();
            if let Some((mic, music)) = held {
                JsFuture::from(track.replace_track(&mic)).await.map_err(words)?;
                // Stops the music and frees its audio context.
                if let Ok(stop) = js_sys::Reflect::get(&music, &"stop".into()) {
                    if let Ok(stop) = stop.dyn_into::<js_sys::Function>() {
                        let _ = stop.call0(&music);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The devices of `kind` (`audioinput`, `audiooutput`): `(id, label)`.
pub async fn devices(kind: &str) -> Vec<(String, String)> {
    let Ok(module) = module().await else { return Vec::new() };
    let Ok(room) = js_sys::Reflect::get(&module, &"Room".into()) else { return Vec::new() };
    let Ok(get) = js_sys::Reflect::get(&room, &"getLocalDevices".into()) else { return Vec::new() };
    let Ok(get) = get.dyn_into::<js_sys::Function>() else { return Vec::new() };
    let Ok(promise) = get.call1(&room, &kind.into()) else { return Vec::new() };
    let Ok(list) = JsFuture::from(js_sys::Promise::from(promise)).await else { return Vec::new() };
    js_sys::Array::from(&list)
        .iter()
        .filter_map(|d| {
            let id = js_sys::Reflect::get(&d, &"deviceId".into()).ok()?.as_string()?;
            let label = js_sys::Reflect::get(&d, &"label".into()).ok()?.as_string().unwrap_or_default();
            Some((id.clone(), if label.is_empty() { id } else { label }))
        })
        .collect()
}
