//! Browser side of a streamed turn: `fetch` POST, then read the
//! `text/event-stream` body chunk by chunk (EventSource cannot POST or send
//! the CSRF header). Each `data:` frame is one `PlaygroundEvent`.

use domain::playground::PlaygroundEvent;
use domain::ErrorCode;
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Headers, ReadableStreamDefaultReader, Request, RequestCredentials, RequestInit, Response,
    TextDecodeOptions, TextDecoder,
};

use super::sse::drain_frames;
use crate::AppError;

fn js_err(_: JsValue) -> AppError {
    AppError::new(ErrorCode::ProviderUnavailable)
}

/// Posts `body` and calls `on_event` for each event until the stream ends.
/// A refusal before streaming (validation, no key…) is returned as the
/// server's typed error.
pub async fn post_events(
    url: &str,
    body: String,
    mut on_event: impl FnMut(PlaygroundEvent),
) -> Result<(), AppError> {
    let window = web_sys::window().ok_or_else(|| AppError::new(ErrorCode::Internal))?;
    let headers = Headers::new().map_err(js_err)?;
    headers.set("content-type", "application/json").map_err(js_err)?;
    headers.set("accept", "text/event-stream").map_err(js_err)?;
    if let Some(token) = crate::csrf::page_token() {
        headers.set(crate::csrf::HEADER, &token).map_err(js_err)?;
    }
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&body));
    init.set_credentials(RequestCredentials::SameOrigin);
    let request = Request::new_with_str_and_init(url, &init).map_err(js_err)?;
    let resp: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(js_err)?
        .dyn_into()
        .map_err(js_err)?;
    if !resp.ok() {
        let text = JsFuture::from(resp.text().map_err(js_err)?)
            .await
            .map_err(js_err)?
            .as_string()
            .unwrap_or_default();
        return Err(
            serde_json::from_str::<AppError>(&text).unwrap_or_else(|_| AppError::new(ErrorCode::Internal))
        );
    }
    let body = resp.body().ok_or_else(|| AppError::new(ErrorCode::ProviderMalformed))?;
    let reader: ReadableStreamDefaultReader =
        body.get_reader().dyn_into().map_err(|_| AppError::new(ErrorCode::ProviderMalformed))?;
    let decoder = TextDecoder::new().map_err(js_err)?;
    let opts = TextDecodeOptions::new();
    opts.set_stream(true);
    let mut buf = String::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(js_err)?;
        if Reflect::get(&chunk, &"done".into()).ok().and_then(|d| d.as_bool()).unwrap_or(true) {
            break;
        }
        let value: Uint8Array =
            Reflect::get(&chunk, &"value".into()).map_err(js_err)?.dyn_into().map_err(js_err)?;
        let text = decoder.decode_with_buffer_source_and_options(&value, &opts).map_err(js_err)?;
        buf.push_str(&text);
        for data in drain_frames(&mut buf) {
            match serde_json::from_str::<PlaygroundEvent>(&data) {
                Ok(ev) => on_event(ev),
                Err(_) => return Err(AppError::new(ErrorCode::ProviderMalformed)),
            }
        }
    }
    Ok(())
}
