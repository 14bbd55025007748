//! Streaming speech-to-text: 16-bit little-endian mono PCM goes in through
//! [`SttSession::audio`]; transcript events come out of
//! [`SttSession::events`]. Dropping the audio sender ends the utterance (the
//! client tells the vendor and drains the last finals); dropping the events
//! stream cancels everything.

pub mod assemblyai;
pub mod deepgram;
pub mod openai;

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::error::ProviderResult;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SttConfig {
    pub model: String,
    /// BCP-47.
    pub language: String,
    pub sample_rate: u32,
    /// Ask for partial (interim) results.
    pub interim: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TranscriptEvent {
    /// Words so far; replaced by the next partial or final.
    Partial { text: String },
    /// A settled piece of transcript.
    Final { text: String, confidence: Option<f32> },
    /// The vendor thinks the speaker finished their turn.
    EndOfTurn,
}

pub type TranscriptStream = Pin<Box<dyn Stream<Item = ProviderResult<TranscriptEvent>> + Send>>;

pub struct SttSession {
    pub audio: mpsc::Sender<Bytes>,
    pub events: TranscriptStream,
}

#[async_trait]
pub trait SpeechToText: Send + Sync {
    async fn start(&self, config: SttConfig) -> ProviderResult<SttSession>;
}

/// Sends `pcm` in 20 ms frames, closes the audio side, and collects every
/// event (tests, "test connection").
pub async fn transcribe(
    stt: &dyn SpeechToText,
    config: SttConfig,
    pcm: &[u8],
) -> ProviderResult<Vec<TranscriptEvent>> {
    use futures::StreamExt;
    let frame = (config.sample_rate as usize / 50) * 2;
    let session = stt.start(config).await?;
    let audio = session.audio;
    let chunks: Vec<Bytes> = pcm.chunks(frame.max(2)).map(Bytes::copy_from_slice).collect();
    let feeder = tokio::spawn(async move {
        for c in chunks {
            if audio.send(c).await.is_err() {
                break;
            }
        }
    });
    let mut events = session.events;
    let mut out = Vec::new();
    while let Some(ev) = events.next().await {
        out.push(ev?);
    }
    let _ = feeder.await;
    Ok(out)
}
