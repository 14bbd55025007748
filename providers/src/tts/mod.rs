//! Streaming text-to-speech: text in, 16-bit little-endian mono PCM out, in
//! chunks as the vendor produces them. Dropping the stream cancels.

pub mod cartesia;
pub mod elevenlabs;
pub mod openai;

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use serde::{Deserialize, Serialize};

use crate::error::ProviderResult;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechRequest {
    pub model: String,
    pub voice: String,
    pub text: String,
    /// BCP-47; vendors that take a language get its primary subtag.
    pub language: String,
    /// Wanted sample rate; [`SpeechAudio::sample_rate`] says what came.
    pub sample_rate: u32,
}

pub type AudioStream = Pin<Box<dyn Stream<Item = ProviderResult<Bytes>> + Send>>;

pub struct SpeechAudio {
    pub sample_rate: u32,
    /// PCM s16le mono chunks.
    pub audio: AudioStream,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceInfo {
    pub id: String,
    pub name: String,
    pub language: Option<String>,
}

#[async_trait]
pub trait TextToSpeech: Send + Sync {
    async fn synthesize(&self, request: SpeechRequest) -> ProviderResult<SpeechAudio>;
    /// The voices this key can use (the vendor's live list).
    async fn voices(&self) -> ProviderResult<Vec<VoiceInfo>>;
}

/// Collects a whole synthesis (tests, "test connection").
pub async fn collect(audio: SpeechAudio) -> ProviderResult<Vec<u8>> {
    use futures::StreamExt;
    let mut out = Vec::new();
    let mut s = audio.audio;
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

pub(crate) fn primary_language(tag: &str) -> String {
    tag.split(['-', '_']).next().unwrap_or(tag).to_ascii_lowercase()
}

/// Wraps a response body as an audio stream with the idle timeout.
pub(crate) fn body_stream(resp: reqwest::Response, idle: std::time::Duration) -> AudioStream {
    use futures::StreamExt;
    let mut body = resp.bytes_stream();
    Box::pin(async_stream::try_stream! {
        loop {
            let next = tokio::time::timeout(idle, body.next()).await.map_err(|_| crate::ProviderError::Timeout)?;
            match next {
                Some(chunk) => yield chunk.map_err(crate::ProviderError::from_reqwest)?,
                None => break,
            }
        }
    })
}
