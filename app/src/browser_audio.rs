//! The browser-audio transport: the microphone, as 16 kHz 16-bit mono PCM,
//! streamed over a WebSocket. Reusable by any page that talks to a live
//! audio endpoint (the copilot's practice mode; the voice agent's in-browser
//! test call).
//!
//! getUserMedia → AudioContext → AudioWorklet (`/pcm-capture.js`, which
//! downsamples to 16 kHz and cuts 20 ms frames) → WebSocket binary frames.
//! The worklet runs off the main thread, so a busy UI does not drop audio.

/// Why the microphone could not start (shown to the user, translated by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MicError {
    /// No `getUserMedia` / AudioWorklet (old browser, insecure origin).
    Unsupported,
    /// The user (or policy) refused the microphone.
    Denied,
    /// The socket could not be opened.
    Network,
}

impl MicError {
    /// What the user is told, in their language.
    pub fn message(self, i18n: leptos_i18n::I18nContext<crate::i18n::Locale>) -> String {
        use crate::i18n::t_string;
        match self {
            MicError::Denied => t_string!(i18n, copilot.mic_denied).to_string(),
            MicError::Unsupported => t_string!(i18n, copilot.mic_unsupported).to_string(),
            MicError::Network => t_string!(i18n, copilot.mic_network).to_string(),
        }
    }
}

/// A running capture; [`BrowserAudio::stop`] (or dropping it) ends it.
pub struct BrowserAudio {
    #[cfg(feature = "hydrate")]
    inner: hydrate::Running,
}

impl BrowserAudio {
    /// Starts capturing and streaming to `ws_path` (a same-origin path).
    /// `on_close` runs when the server closes the socket.
    pub async fn start(ws_path: &str, on_close: impl FnMut() + 'static) -> Result<BrowserAudio, MicError> {
        #[cfg(feature = "hydrate")]
        {
            Ok(BrowserAudio { inner: hydrate::start_with(ws_path, on_close, None).await? })
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (ws_path, on_close);
            Err(MicError::Unsupported)
        }
    }

    /// A two-way call on `ws_path`: the microphone goes out as above; the
    /// server's binary frames (24 kHz PCM) play through the speakers
    /// (`/pcm-playback.js`), its text frames go to `on_event`, except
    /// `{"type":"clear"}`, which empties the playback queue (barge-in).
    /// `on_played` gets the milliseconds played and heard loud so far.
    pub async fn start_call(
        ws_path: &str,
        on_event: impl FnMut(String) + 'static,
        on_played: impl FnMut(f64, f64) + 'static,
        on_close: impl FnMut() + 'static,
    ) -> Result<BrowserAudio, MicError> {
        #[cfg(feature = "hydrate")]
        {
            let duplex = hydrate::Duplex { on_event: Box::new(on_event), on_played: Box::new(on_played) };
            Ok(BrowserAudio { inner: hydrate::start_with(ws_path, on_close, Some(duplex)).await? })
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (ws_path, on_event, on_played, on_close);
            Err(MicError::Unsupported)
        }
    }

    /// Ends the audio: the server still delivers the last transcript.
    pub fn stop(self) {}
}

#[cfg(feature = "hydrate")]
impl Drop for BrowserAudio {
    fn drop(&mut self) {
        self.inner.stop();
    }
}

#[cfg(feature = "hydrate")]
mod hydrate {
    use js_sys::{Object, Reflect};
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{
        AudioContext, AudioWorkletNode, BinaryType, MediaStream, MediaStreamConstraints, MessageEvent,
        WebSocket,
    };

    use super::MicError;

    pub struct Running {
        ctx: AudioContext,
        stream: MediaStream,
        socket: WebSocket,
        _node: AudioWorkletNode,
        _on_frame: Closure<dyn FnMut(MessageEvent)>,
        _on_close: Closure<dyn FnMut(web_sys::CloseEvent)>,
        /// A call's way back: the playback node and its handlers.
        _playback: Option<Playback>,
    }

    /// The playback node and the socket's and its own message handlers.
    type Playback = (AudioWorkletNode, Closure<dyn FnMut(MessageEvent)>, Closure<dyn FnMut(MessageEvent)>);

    /// What a two-way call does with what comes back.
    pub struct Duplex {
        pub on_event: Box<dyn FnMut(String)>,
        pub on_played: Box<dyn FnMut(f64, f64)>,
    }

    impl Running {
        pub fn stop(&self) {
            if self.socket.ready_state() == WebSocket::OPEN {
                let _ = self.socket.send_with_str(r#"{"type":"stop"}"#);
            }
            for track in self.stream.get_tracks().iter() {
                if let Ok(t) = track.dyn_into::<web_sys::MediaStreamTrack>() {
                    t.stop();
                }
            }
            let _ = self.ctx.close();
        }
    }

    fn ws_url(path: &str) -> Option<String> {
        let loc = web_sys::window()?.location();
        let scheme = if loc.protocol().ok()? == "https:" { "wss" } else { "ws" };
        Some(format!("{scheme}://{}{path}", loc.host().ok()?))
    }

    pub async fn start_with(
        path: &str,
        mut on_close: impl FnMut() + 'static,
        duplex: Option<Duplex>,
    ) -> Result<Running, MicError> {
        let window = web_sys::window().ok_or(MicError::Unsupported)?;
        let devices = window.navigator().media_devices().map_err(|_| MicError::Unsupported)?;
        let audio = Object::new();
        for (k, v) in [
            ("channelCount", JsValue::from(1)),
            ("echoCancellation", JsValue::TRUE),
            ("noiseSuppression", JsValue::TRUE),
        ] {
            let _ = Reflect::set(&audio, &k.into(), &v);
        }
        let constraints = MediaStreamConstraints::new();
        constraints.set_audio(&audio);
        let promise =
            devices.get_user_media_with_constraints(&constraints).map_err(|_| MicError::Unsupported)?;
        let stream: MediaStream = JsFuture::from(promise)
            .await
            .map_err(|_| MicError::Denied)?
            .dyn_into()
            .map_err(|_| MicError::Denied)?;

        let ctx = AudioContext::new().map_err(|_| MicError::Unsupported)?;
        let worklet = ctx.audio_worklet().map_err(|_| MicError::Unsupported)?;
        JsFuture::from(worklet.add_module("/pcm-capture.js").map_err(|_| MicError::Unsupported)?)
            .await
            .map_err(|_| MicError::Unsupported)?;
        let source = ctx.create_media_stream_source(&stream).map_err(|_| MicError::Unsupported)?;
        let node = AudioWorkletNode::new(&ctx, "pcm-capture").map_err(|_| MicError::Unsupported)?;
        source.connect_with_audio_node(&node).map_err(|_| MicError::Unsupported)?;
        // A silent path to the output keeps the graph (and the worklet) running everywhere.
        let mute = ctx.create_gain().map_err(|_| MicError::Unsupported)?;
        mute.gain().set_value(0.0);
        node.connect_with_audio_node(&mute).map_err(|_| MicError::Unsupported)?;
        mute.connect_with_audio_node(&ctx.destination()).map_err(|_| MicError::Unsupported)?;

        let url = ws_url(path).ok_or(MicError::Network)?;
        let socket = WebSocket::new(&url).map_err(|_| MicError::Network)?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let sender = socket.clone();
        let on_frame = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            // Frames captured before the socket opened are dropped: a fraction
            // of a second at most, and never stale audio later.
            if sender.ready_state() == WebSocket::OPEN {
                if let Ok(buf) = ev.data().dyn_into::<js_sys::ArrayBuffer>() {
                    let _ = sender.send_with_array_buffer(&buf);
                }
            }
        });
        node.port()
            .map_err(|_| MicError::Unsupported)?
            .set_onmessage(Some(on_frame.as_ref().unchecked_ref()));
        let on_close_cb = Closure::<dyn FnMut(web_sys::CloseEvent)>::new(move |_| on_close());
        socket.set_onclose(Some(on_close_cb.as_ref().unchecked_ref()));
        let playback = match duplex {
            Some(d) => Some(playback(&ctx, &socket, d).await?),
            None => None,
        };
        Ok(Running {
            ctx,
            stream,
            socket,
            _node: node,
            _on_frame: on_frame,
            _on_close: on_close_cb,
            _playback: playback,
        })
    }

    /// The speakers' side of a call: binary frames to the playback worklet,
    /// text frames to the page.
    async fn playback(ctx: &AudioContext, socket: &WebSocket, d: Duplex) -> Result<Playback, MicError> {
        let worklet = ctx.audio_worklet().map_err(|_| MicError::Unsupported)?;
        JsFuture::from(worklet.add_module("/pcm-playback.js").map_err(|_| MicError::Unsupported)?)
            .await
            .map_err(|_| MicError::Unsupported)?;
        let node = AudioWorkletNode::new(ctx, "pcm-playback").map_err(|_| MicError::Unsupported)?;
        node.connect_with_audio_node(&ctx.destination()).map_err(|_| MicError::Unsupported)?;
        let port = node.port().map_err(|_| MicError::Unsupported)?;
        let Duplex { mut on_event, mut on_played } = d;
        let to_speakers = port.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let data = ev.data();
            if data.is_instance_of::<js_sys::ArrayBuffer>() {
                let _ = to_speakers.post_message(&data);
            } else if let Some(text) = data.as_string() {
                if text.contains(r#""type":"clear""#) {
                    let _ = to_speakers.post_message(&JsValue::from_str("clear"));
                }
                on_event(text);
            }
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let on_stats = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let get =
                |k: &str| Reflect::get(&ev.data(), &k.into()).ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
            on_played(get("playedMs"), get("loudMs"));
        });
        port.set_onmessage(Some(on_stats.as_ref().unchecked_ref()));
        Ok((node, on_message, on_stats))
    }
}
