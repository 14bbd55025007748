//! OpenAI speech (`POST {base}/audio/speech`, `response_format: pcm`: 24 kHz).

use async_trait::async_trait;
use serde_json::json;

use super::{body_stream, SpeechAudio, SpeechRequest, TextToSpeech, VoiceInfo};
use crate::error::ProviderResult;
use crate::http::{self, Endpoint};

pub const SAMPLE_RATE: u32 = 24_000;

#[derive(Debug, Clone)]
pub struct OpenAiSpeech {
    http: reqwest::Client,
    endpoint: Endpoint,
}

impl OpenAiSpeech {
    pub fn new(http: reqwest::Client, endpoint: Endpoint) -> Self {
        OpenAiSpeech { http, endpoint }
    }
}

#[async_trait]
impl TextToSpeech for OpenAiSpeech {
    async fn synthesize(&self, req: SpeechRequest) -> ProviderResult<SpeechAudio> {
        let key = self.endpoint.key("OpenAI")?.to_string();
        let body =
            json!({"model": req.model, "input": req.text, "voice": req.voice, "response_format": "pcm"});
        let url = self.endpoint.url(&["audio", "speech"], &[])?;
        let resp = http::send(&self.endpoint, http::error_message, || {
            self.http.post(&url).bearer_auth(&key).json(&body)
        })
        .await?;
        Ok(SpeechAudio { sample_rate: SAMPLE_RATE, audio: body_stream(resp, self.endpoint.idle_timeout) })
    }

    /// OpenAI has a fixed set of voices (no listing endpoint).
    async fn voices(&self) -> ProviderResult<Vec<VoiceInfo>> {
        self.endpoint.key("OpenAI")?;
        let p = domain::catalogue::provider("openai").expect("openai in catalogue");
        Ok(p.voices
            .iter()
            .map(|v| VoiceInfo { id: v.id.into(), name: v.name.into(), language: None })
            .collect())
    }
}
