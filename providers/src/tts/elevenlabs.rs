//! ElevenLabs streaming (`POST {base}/text-to-speech/{voice}/stream?output_format=pcm_<rate>`).

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{body_stream, primary_language, SpeechAudio, SpeechRequest, TextToSpeech, VoiceInfo};
use crate::error::{ProviderError, ProviderResult};
use crate::http::{self, Endpoint};

/// PCM rates ElevenLabs offers.
const RATES: [u32; 4] = [16_000, 22_050, 24_000, 44_100];

#[derive(Debug, Clone)]
pub struct ElevenLabs {
    http: reqwest::Client,
    endpoint: Endpoint,
}

impl ElevenLabs {
    pub fn new(http: reqwest::Client, endpoint: Endpoint) -> Self {
        ElevenLabs { http, endpoint }
    }
}

/// `{"detail": {"status": …, "message": …}}` or `{"detail": [{"msg": …}]}` (422).
fn message(v: &Value) -> Option<String> {
    let d = v.get("detail")?;
    d.get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| d.as_array()?.first()?.get("msg")?.as_str().map(str::to_string))
        .or_else(|| d.as_str().map(str::to_string))
}

#[async_trait]
impl TextToSpeech for ElevenLabs {
    async fn synthesize(&self, req: SpeechRequest) -> ProviderResult<SpeechAudio> {
        let key = self.endpoint.key("ElevenLabs")?.to_string();
        if req.voice.is_empty() || !req.voice.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ProviderError::BadRequest(format!("invalid voice id {:?}", req.voice)));
        }
        let rate = RATES.into_iter().min_by_key(|r| r.abs_diff(req.sample_rate)).unwrap_or(16_000);
        let url = self.endpoint.url(
            &["text-to-speech", req.voice.as_str(), "stream"],
            &[("output_format", format!("pcm_{rate}").as_str())],
        )?;
        let mut body = json!({"text": req.text, "model_id": req.model});
        if req.model.contains("v2_5") {
            body["language_code"] = json!(primary_language(&req.language));
        }
        let resp = http::send(&self.endpoint, message, || {
            self.http.post(&url).header("xi-api-key", &key).json(&body)
        })
        .await?;
        Ok(SpeechAudio { sample_rate: rate, audio: body_stream(resp, self.endpoint.idle_timeout) })
    }

    async fn voices(&self) -> ProviderResult<Vec<VoiceInfo>> {
        let key = self.endpoint.key("ElevenLabs")?.to_string();
        let url = self.endpoint.url(&["voices"], &[])?;
        let resp =
            http::send(&self.endpoint, message, || self.http.get(&url).header("xi-api-key", &key)).await?;
        let v: Value = resp.json().await.map_err(ProviderError::from_reqwest)?;
        let voices =
            v["voices"].as_array().ok_or_else(|| ProviderError::Malformed("no voices array".into()))?;
        Ok(voices
            .iter()
            .filter_map(|x| {
                Some(VoiceInfo {
                    id: x["voice_id"].as_str()?.to_string(),
                    name: x["name"].as_str().unwrap_or_default().to_string(),
                    language: x["labels"]["language"].as_str().map(str::to_string),
                })
            })
            .collect())
    }
}
