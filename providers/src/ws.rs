//! Websocket plumbing shared by the streaming speech clients: connecting
//! with auth headers and a deadline, and mapping handshake refusals and
//! close frames to [`ProviderError`]s.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use bytes::Bytes;
use futures::stream::SplitStream;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::egress::EgressPolicy;
use crate::error::{ProviderError, ProviderResult};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// `https://` → `wss://`, `http://` → `ws://` (base URLs may be given either way).
pub fn ws_url(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        url.to_string()
    }
}

/// The inverse, for the vendors' REST endpoints next to their sockets.
pub fn http_url(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if let Some(rest) = url.strip_prefix("ws://") {
        format!("http://{rest}")
    } else {
        url.to_string()
    }
}

/// Opens a vendor socket. With an egress policy (a tenant-supplied URL) the
/// host is resolved and checked here and the TCP connection goes to the
/// checked address; without one (the operator's own URL) tungstenite
/// connects by itself. Handshake redirects are never followed either way.
pub async fn connect(
    url: &str,
    headers: &[(&str, &str)],
    deadline: Duration,
    egress: Option<&EgressPolicy>,
) -> ProviderResult<Socket> {
    let mut request =
        url.into_client_request().map_err(|_| ProviderError::BadRequest("invalid socket URL".into()))?;
    for (name, value) in headers {
        let bad = || ProviderError::BadRequest(format!("invalid {name} header"));
        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let v = HeaderValue::from_str(value).map_err(|_| bad())?;
        request.headers_mut().insert(n, v);
    }
    let open = async {
        match egress {
            None => tokio_tungstenite::connect_async(request).await.map_err(error),
            Some(policy) => {
                let parsed = url::Url::parse(url)
                    .map_err(|_| ProviderError::BadRequest("invalid socket URL".into()))?;
                policy.check_url(&parsed)?;
                let host = parsed
                    .host_str()
                    .ok_or_else(|| ProviderError::BadRequest("URL without a host".into()))?;
                let port = parsed
                    .port_or_known_default()
                    .ok_or_else(|| ProviderError::BadRequest("URL without a port".into()))?;
                let addrs = policy.resolve(host, port).await?;
                let stream = TcpStream::connect(&addrs[..]).await.map_err(|e| {
                    tracing::warn!(target: "provider", host, error = %e, "provider socket connect failed");
                    ProviderError::Network("could not connect to the provider".into())
                })?;
                tokio_tungstenite::client_async_tls_with_config(request, stream, None, None)
                    .await
                    .map_err(error)
            }
        }
    };
    match tokio::time::timeout(deadline, open).await {
        Err(_) => Err(ProviderError::Timeout),
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(e)) => Err(e),
    }
}

/// Splits a streaming-STT socket: returns the sender the caller feeds PCM
/// frames into and the socket's read half. A task forwards frames as binary
/// messages and, once the caller drops the sender, sends the vendor's
/// end-of-audio message (`finish`) so the last finals come back.
pub fn split_with_audio_writer(
    socket: Socket,
    finish: serde_json::Value,
) -> (mpsc::Sender<Bytes>, SplitStream<Socket>) {
    let (mut sink, source) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if sink.send(Message::Binary(frame)).await.is_err() {
                return;
            }
        }
        let _ = sink.send(Message::Text(finish.to_string().into())).await;
    });
    (tx, source)
}

/// What a vendor socket says next: a JSON text message, or a close.
pub enum Incoming {
    Json(serde_json::Value),
    Closed(Option<CloseFrame>),
}

/// The next JSON message or close from `source` (binary, ping and pong
/// frames are skipped); `None` when the stream ends. Silence longer than
/// `idle` is a timeout, a text frame that is not JSON is malformed.
pub async fn next_json<S>(source: &mut S, idle: Duration) -> ProviderResult<Option<Incoming>>
where
    S: futures::Stream<Item = Result<Message, WsError>> + Unpin,
{
    loop {
        let next = tokio::time::timeout(idle, source.next()).await.map_err(|_| ProviderError::Timeout)?;
        let Some(msg) = next else { return Ok(None) };
        match msg.map_err(error)? {
            Message::Text(text) => {
                return serde_json::from_str(text.as_str())
                    .map(|v| Some(Incoming::Json(v)))
                    .map_err(|e| ProviderError::Malformed(format!("message is not JSON: {e}")));
            }
            Message::Close(frame) => return Ok(Some(Incoming::Closed(frame))),
            _ => {}
        }
    }
}

/// A refused handshake: the status decides the kind; the body goes to the
/// operator's log, never into the tenant's error message.
pub fn error(e: WsError) -> ProviderError {
    match e {
        WsError::Http(resp) => {
            let status = resp.status().as_u16();
            let body =
                resp.body().as_ref().map(|b| String::from_utf8_lossy(&b[..b.len().min(300)]).to_string());
            tracing::warn!(target: "provider", status, body = body.as_deref().unwrap_or_default(), "provider refused the socket");
            ProviderError::from_status(status, crate::error::safe_status_message(status), None)
        }
        WsError::ConnectionClosed | WsError::AlreadyClosed => {
            ProviderError::Malformed("connection closed".into())
        }
        other => {
            tracing::warn!(target: "provider", error = %other, "provider socket failed");
            ProviderError::Network("the connection to the provider failed".into())
        }
    }
}

/// A close frame before the end: policy violation (1008) and 4001/4003 mean
/// the key was refused; 4029 / 1013 mean slow down; anything else is upstream.
/// The vendor's close reason is logged, not passed on.
pub fn close_error(frame: Option<CloseFrame>) -> ProviderError {
    let (code, reason) =
        frame.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1006, String::new()));
    if !reason.is_empty() {
        tracing::warn!(target: "provider", code, reason, "provider closed the socket");
    }
    let message = format!("the provider closed the connection ({code})");
    match code {
        1008 | 4001 | 4003 => ProviderError::Auth(message),
        4029 | 1013 => ProviderError::RateLimited { retry_after: None, message },
        1000 => ProviderError::Malformed(message),
        _ => ProviderError::Upstream { status: code, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes() {
        assert_eq!(ws_url("https://api.x/v1/listen"), "wss://api.x/v1/listen");
        assert_eq!(ws_url("http://127.0.0.1:1/a"), "ws://127.0.0.1:1/a");
        assert_eq!(ws_url("wss://x"), "wss://x");
        assert_eq!(http_url("wss://api.cartesia.ai/voices"), "https://api.cartesia.ai/voices");
        assert_eq!(http_url("ws://127.0.0.1:1/v"), "http://127.0.0.1:1/v");
    }
}
