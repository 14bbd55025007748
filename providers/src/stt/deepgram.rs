//! Deepgram live transcription (`{base}/listen` websocket, `Token` auth):
//! binary PCM frames in, `Results` messages out, `CloseStream` to finish.

use async_trait::async_trait;
use serde_json::json;

use super::{SpeechToText, SttConfig, SttSession, TranscriptEvent};
use crate::error::{ProviderError, ProviderResult};
use crate::http::Endpoint;
use crate::tts::primary_language;
use crate::ws;

#[derive(Debug, Clone)]
pub struct Deepgram {
    endpoint: Endpoint,
}

impl Deepgram {
    pub fn new(endpoint: Endpoint) -> Self {
        Deepgram { endpoint }
    }
}

#[async_trait]
impl SpeechToText for Deepgram {
    async fn start(&self, cfg: SttConfig) -> ProviderResult<SttSession> {
        let key = self.endpoint.key("Deepgram")?.to_string();
        let rate = cfg.sample_rate.to_string();
        let interim = cfg.interim.to_string();
        let language = primary_language(&cfg.language);
        let url = ws::ws_url(&self.endpoint.url(
            &["listen"],
            &[
                ("model", cfg.model.as_str()),
                ("language", language.as_str()),
                ("encoding", "linear16"),
                ("sample_rate", rate.as_str()),
                ("channels", "1"),
                ("interim_results", interim.as_str()),
                ("punctuate", "true"),
                ("smart_format", "true"),
                ("endpointing", "300"),
            ],
        )?);
        let auth = format!("Token {key}");
        let socket = ws::connect(
            &url,
            &[("Authorization", auth.as_str())],
            self.endpoint.request_timeout,
            self.endpoint.egress.as_ref(),
        )
        .await?;
        let (audio_tx, mut source) = ws::split_with_audio_writer(socket, json!({"type": "CloseStream"}));
        let idle = self.endpoint.idle_timeout;
        let events = async_stream::try_stream! {
            loop {
                let Some(incoming) = ws::next_json(&mut source, idle).await? else { break };
                match incoming {
                    ws::Incoming::Json(v) => {
                        match v["type"].as_str() {
                            Some("Results") => {
                                let alt = &v["channel"]["alternatives"][0];
                                let text = alt["transcript"].as_str().unwrap_or_default().to_string();
                                if v["is_final"].as_bool() == Some(true) {
                                    if !text.is_empty() {
                                        yield TranscriptEvent::Final { text, confidence: alt["confidence"].as_f64().map(|c| c as f32) };
                                    }
                                    if v["speech_final"].as_bool() == Some(true) {
                                        yield TranscriptEvent::EndOfTurn;
                                    }
                                } else if !text.is_empty() {
                                    yield TranscriptEvent::Partial { text };
                                }
                            }
                            Some("UtteranceEnd") => yield TranscriptEvent::EndOfTurn,
                            Some("Error") => {
                                let message = crate::error::reported(v["description"].as_str().or(v["message"].as_str()).unwrap_or("error").to_string());
                                Err(ProviderError::Upstream { status: 500, message })?;
                            }
                            _ => {} // Metadata, SpeechStarted
                        }
                    }
                    ws::Incoming::Closed(frame) => {
                        // A normal close after CloseStream ends the session.
                        if frame.as_ref().is_some_and(|f| u16::from(f.code) != 1000) {
                            Err(ws::close_error(frame))?;
                        }
                        break;
                    }
                }
            }
        };
        Ok(SttSession { audio: audio_tx, events: Box::pin(events) })
    }
}
