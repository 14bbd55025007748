//! OpenAI transcription (`POST {base}/audio/transcriptions`). It is not a
//! live socket: audio is buffered until the sender is dropped (one
//! utterance, cut by the caller's VAD), uploaded as WAV, and the text
//! streamed back (`stream=true`: `transcript.text.delta` / `.done` events;
//! `whisper-1` answers whole).

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use super::{SpeechToText, SttConfig, SttSession, TranscriptEvent};
use crate::error::{ProviderError, ProviderResult};
use crate::http::{self, Endpoint};
use crate::sse;
use crate::tts::primary_language;

/// 25 MB is OpenAI's upload limit; refuse earlier than the vendor would.
const MAX_AUDIO_BYTES: usize = 24 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct OpenAiTranscription {
    http: reqwest::Client,
    endpoint: Endpoint,
}

impl OpenAiTranscription {
    pub fn new(http: reqwest::Client, endpoint: Endpoint) -> Self {
        OpenAiTranscription { http, endpoint }
    }
}

/// A WAV container around 16-bit mono PCM.
pub fn wav(pcm: &[u8], sample_rate: u32) -> Vec<u8> {
    domain::audio::wav_pcm16_mono(pcm, sample_rate)
}

#[async_trait]
impl SpeechToText for OpenAiTranscription {
    async fn start(&self, cfg: SttConfig) -> ProviderResult<SttSession> {
        let key = self.endpoint.key("OpenAI")?.to_string();
        let (audio_tx, mut audio_rx) = mpsc::channel::<bytes::Bytes>(256);
        let http_client = self.http.clone();
        let endpoint = self.endpoint.clone();
        let events = async_stream::try_stream! {
            let mut pcm = Vec::new();
            while let Some(frame) = audio_rx.recv().await {
                pcm.extend_from_slice(&frame);
                if pcm.len() > MAX_AUDIO_BYTES {
                    Err(ProviderError::BadRequest("utterance too long for one upload".into()))?;
                }
            }
            if pcm.is_empty() {
                return;
            }
            let streaming = cfg.model != "whisper-1";
            let url = endpoint.url(&["audio", "transcriptions"], &[])?;
            let file = wav(&pcm, cfg.sample_rate);
            let language = primary_language(&cfg.language);
            let resp = http::send(&endpoint, http::error_message, || {
                let part = reqwest::multipart::Part::bytes(file.clone()).file_name("audio.wav").mime_str("audio/wav").expect("static mime");
                let mut form = reqwest::multipart::Form::new().part("file", part).text("model", cfg.model.clone()).text("language", language.clone());
                if streaming {
                    form = form.text("stream", "true");
                }
                http_client.post(&url).bearer_auth(&key).multipart(form)
            })
            .await?;
            if streaming {
                let mut events = Box::pin(sse::events(resp.bytes_stream(), endpoint.idle_timeout));
                let mut done = false;
                while let Some(ev) = events.next().await {
                    let v: Value = serde_json::from_str(&ev?.data).map_err(|e| ProviderError::Malformed(e.to_string()))?;
                    match v["type"].as_str() {
                        Some("transcript.text.delta") if cfg.interim => {
                            yield TranscriptEvent::Partial { text: v["delta"].as_str().unwrap_or_default().to_string() };
                        }
                        Some("transcript.text.done") => {
                            yield TranscriptEvent::Final { text: v["text"].as_str().unwrap_or_default().to_string(), confidence: None };
                            yield TranscriptEvent::EndOfTurn;
                            done = true;
                        }
                        _ => {}
                    }
                }
                if !done {
                    Err(ProviderError::Malformed("stream ended before transcript.text.done".into()))?;
                }
            } else {
                let v: Value = resp.json().await.map_err(ProviderError::from_reqwest)?;
                let text = v["text"].as_str().ok_or_else(|| ProviderError::Malformed("no text".into()))?.to_string();
                yield TranscriptEvent::Final { text, confidence: None };
                yield TranscriptEvent::EndOfTurn;
            }
        };
        Ok(SttSession { audio: audio_tx, events: Box::pin(events) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_header() {
        let w = wav(&[1, 0, 2, 0], 16_000);
        assert_eq!(&w[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(w[4..8].try_into().unwrap()), 40);
        assert_eq!(u32::from_le_bytes(w[24..28].try_into().unwrap()), 16_000);
        assert_eq!(&w[36..40], b"data");
        assert_eq!(w.len(), 48);
    }
}
