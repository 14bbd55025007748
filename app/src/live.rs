//! The browser end of a server-sent event stream (a copilot session's
//! events, an import's progress): an `EventSource` on the URL, each message
//! one JSON value. EventSource reconnects by itself after a network blip;
//! pages re-read what they show when the stream reopens, so nothing is missed.

use serde::de::DeserializeOwned;

/// A running subscription; dropping it closes the stream.
pub struct LiveStream {
    #[cfg(feature = "hydrate")]
    source: web_sys::EventSource,
    #[cfg(feature = "hydrate")]
    _on_message: wasm_bindgen::closure::Closure<dyn FnMut(web_sys::MessageEvent)>,
    #[cfg(feature = "hydrate")]
    _on_open: wasm_bindgen::closure::Closure<dyn FnMut(web_sys::Event)>,
}

impl LiveStream {
    /// Opens `url`; `on_event` gets every event, `on_open` every (re)connection.
    #[cfg(feature = "hydrate")]
    pub fn open<T: DeserializeOwned + 'static>(
        url: &str,
        mut on_event: impl FnMut(T) + 'static,
        mut on_open: impl FnMut() + 'static,
    ) -> Option<LiveStream> {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let source = web_sys::EventSource::new(url).ok()?;
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                if let Some(text) = ev.data().as_string() {
                    if let Ok(event) = serde_json::from_str::<T>(&text) {
                        on_event(event);
                    }
                }
            });
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let on_open_cb = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| on_open());
        source.set_onopen(Some(on_open_cb.as_ref().unchecked_ref()));
        Some(LiveStream { source, _on_message: on_message, _on_open: on_open_cb })
    }

    /// On the server there is no live stream.
    #[cfg(not(feature = "hydrate"))]
    pub fn open<T: DeserializeOwned + 'static>(
        _: &str,
        _: impl FnMut(T) + 'static,
        _: impl FnMut() + 'static,
    ) -> Option<LiveStream> {
        None
    }
}

/// Follows the stream at `url()` while the calling component lives: opened
/// when the page hydrates, reopened when `url()` changes, closed on `None`.
/// `on_event` gets every event, `on_open` every (re)connection — where a
/// page re-reads what it shows, so nothing sent while away is missed.
///
/// In the browser only: a stream is not `Send`, and one a server render
/// held would be dropped on another thread.
pub fn follow<T: DeserializeOwned + 'static>(
    url: impl Fn() -> Option<String> + 'static,
    on_event: impl Fn(T) + Clone + 'static,
    on_open: impl Fn() + Clone + 'static,
) {
    #[cfg(feature = "hydrate")]
    {
        // The stored value belongs to the calling component's owner: it (and
        // the connection) goes when the component does.
        use leptos::prelude::{Effect, SetValue, StoredValue};
        use send_wrapper::SendWrapper;
        let stream = StoredValue::new(None::<SendWrapper<LiveStream>>);
        Effect::new(move |_| {
            stream.set_value(None);
            let Some(url) = url() else { return };
            let (event, open) = (on_event.clone(), on_open.clone());
            let s = LiveStream::open::<T>(&url, event, open);
            stream.set_value(s.map(SendWrapper::new));
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, on_event, on_open);
}

impl LiveStream {
    /// Stops the stream (and its reconnections) now; safe from inside its
    /// own callback, where dropping it is not.
    pub fn close(&self) {
        #[cfg(feature = "hydrate")]
        self.source.close();
    }
}

#[cfg(feature = "hydrate")]
impl Drop for LiveStream {
    fn drop(&mut self) {
        self.source.close();
    }
}
