//! AssemblyAI Universal Streaming v3 (`{base}/ws` websocket): binary PCM in,
//! `Begin` / `Turn` / `Termination` messages out, `Terminate` to finish.

use async_trait::async_trait;
use serde_json::json;

use super::{SpeechToText, SttConfig, SttSession, TranscriptEvent};
use crate::error::{ProviderError, ProviderResult};
use crate::http::Endpoint;
use crate::ws;

#[derive(Debug, Clone)]
pub struct AssemblyAi {
    endpoint: Endpoint,
}

impl AssemblyAi {
    pub fn new(endpoint: Endpoint) -> Self {
        AssemblyAi { endpoint }
    }
}

#[async_trait]
impl SpeechToText for AssemblyAi {
    async fn start(&self, cfg: SttConfig) -> ProviderResult<SttSession> {
        let key = self.endpoint.key("AssemblyAI")?.to_string();
        let rate = cfg.sample_rate.to_string();
        let url = ws::ws_url(&self.endpoint.url(
            &["ws"],
            &[
                ("sample_rate", rate.as_str()),
                ("encoding", "pcm_s16le"),
                ("format_turns", "true"),
                ("speech_model", cfg.model.as_str()),
            ],
        )?);
        let socket = ws::connect(
            &url,
            &[("Authorization", key.as_str())],
            self.endpoint.request_timeout,
            self.endpoint.egress.as_ref(),
        )
        .await?;
        let (audio_tx, mut source) = ws::split_with_audio_writer(socket, json!({"type": "Terminate"}));
        let idle = self.endpoint.idle_timeout;
        let interim = cfg.interim;
        let events = async_stream::try_stream! {
            loop {
                let Some(incoming) = ws::next_json(&mut source, idle).await? else {
                    Err(ProviderError::Malformed("connection closed before Termination".into()))?;
                    break;
                };
                match incoming {
                    ws::Incoming::Json(v) => {
                        match v["type"].as_str() {
                            Some("Turn") => {
                                let text = v["transcript"].as_str().unwrap_or_default().to_string();
                                let end = v["end_of_turn"].as_bool() == Some(true);
                                // With format_turns, the formatted version of an ended turn is the final one.
                                if end && v["turn_is_formatted"].as_bool() != Some(false) {
                                    if !text.is_empty() {
                                        let confidence = v["end_of_turn_confidence"].as_f64().map(|c| c as f32);
                                        yield TranscriptEvent::Final { text, confidence };
                                    }
                                    yield TranscriptEvent::EndOfTurn;
                                } else if interim && !text.is_empty() && !end {
                                    yield TranscriptEvent::Partial { text };
                                }
                            }
                            Some("Termination") => break,
                            Some("Error") | Some("error") => {
                                let message = crate::error::reported(v["error"].as_str().unwrap_or("error").to_string());
                                Err(ProviderError::Upstream { status: 500, message })?;
                            }
                            _ => {} // Begin
                        }
                    }
                    ws::Incoming::Closed(frame) => {
                        Err(ws::close_error(frame))?;
                    }
                }
            }
        };
        Ok(SttSession { audio: audio_tx, events: Box::pin(events) })
    }
}
