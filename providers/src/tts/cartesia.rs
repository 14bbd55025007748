//! Cartesia over its websocket (`{base}/tts/websocket`): one JSON request,
//! then `chunk` messages (base64 PCM) until `done`.

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use futures::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::{primary_language, SpeechAudio, SpeechRequest, TextToSpeech, VoiceInfo};
use crate::error::{ProviderError, ProviderResult};
use crate::http::{self, Endpoint};
use crate::ws;

pub const API_VERSION: &str = "2024-11-13";

#[derive(Debug, Clone)]
pub struct Cartesia {
    http: reqwest::Client,
    endpoint: Endpoint,
}

impl Cartesia {
    pub fn new(http: reqwest::Client, endpoint: Endpoint) -> Self {
        Cartesia { http, endpoint }
    }
}

#[async_trait]
impl TextToSpeech for Cartesia {
    async fn synthesize(&self, req: SpeechRequest) -> ProviderResult<SpeechAudio> {
        let key = self.endpoint.key("Cartesia")?.to_string();
        let url = ws::ws_url(&self.endpoint.url(&["tts", "websocket"], &[])?);
        // As Cartesia's own SDK sends it.
        let bearer = format!("Bearer {key}");
        let mut socket = ws::connect(
            &url,
            &[("Authorization", bearer.as_str()), ("Cartesia-Version", API_VERSION)],
            self.endpoint.request_timeout,
            self.endpoint.egress.as_ref(),
        )
        .await?;
        let context = format!("ctx-{}", std::process::id());
        let msg = json!({
            "model_id": req.model,
            "transcript": req.text,
            "voice": {"mode": "id", "id": req.voice},
            "language": primary_language(&req.language),
            "context_id": context,
            "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": req.sample_rate},
            "continue": false,
        });
        socket.send(Message::Text(msg.to_string().into())).await.map_err(ws::error)?;
        let idle = self.endpoint.idle_timeout;
        let audio = async_stream::try_stream! {
            let mut socket = socket;
            loop {
                let Some(incoming) = ws::next_json(&mut socket, idle).await? else {
                    Err(ProviderError::Malformed("connection closed before done".into()))?;
                    break;
                };
                match incoming {
                    ws::Incoming::Json(v) => {
                        match v["type"].as_str() {
                            Some("chunk") => {
                                let data = v["data"].as_str().ok_or_else(|| ProviderError::Malformed("chunk without data".into()))?;
                                let pcm = B64.decode(data).map_err(|_| ProviderError::Malformed("chunk is not base64".into()))?;
                                yield bytes::Bytes::from(pcm);
                            }
                            Some("done") => break,
                            Some("error") => {
                                let status = v["status_code"].as_u64().unwrap_or(500) as u16;
                                let message = crate::error::reported(v["error"].as_str().unwrap_or("error").to_string());
                                Err(ProviderError::from_status(status, message, None))?;
                            }
                            _ => {} // timestamps, flush acknowledgements
                        }
                    }
                    ws::Incoming::Closed(frame) => {
                        Err(ws::close_error(frame))?;
                    }
                }
            }
            let _ = socket.close(None).await;
        };
        Ok(SpeechAudio { sample_rate: req.sample_rate, audio: Box::pin(audio) })
    }

    async fn voices(&self) -> ProviderResult<Vec<VoiceInfo>> {
        let key = self.endpoint.key("Cartesia")?.to_string();
        let url = ws::http_url(&self.endpoint.url(&["voices"], &[])?);
        let resp = http::send(&self.endpoint, http::error_message, || {
            self.http.get(&url).bearer_auth(&key).header("Cartesia-Version", API_VERSION)
        })
        .await?;
        let v: Value = resp.json().await.map_err(ProviderError::from_reqwest)?;
        // Older API: a bare array; newer: `{"data": [...], "has_more": …}`.
        let list = v
            .as_array()
            .or_else(|| v["data"].as_array())
            .ok_or_else(|| ProviderError::Malformed("no voice list".into()))?;
        Ok(list
            .iter()
            .filter_map(|x| {
                Some(VoiceInfo {
                    id: x["id"].as_str()?.to_string(),
                    name: x["name"].as_str().unwrap_or_default().to_string(),
                    language: x["language"].as_str().map(str::to_string),
                })
            })
            .collect())
    }
}
