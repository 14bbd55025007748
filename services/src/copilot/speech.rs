//! The organisation's speech-to-text for live copilot sources (practice
//! mode's microphone): a provider with a key (the organisation's own first)
//! that speaks the session's language, preferring real-time streaming
//! vendors (Deepgram, AssemblyAI) over OpenAI's, which only transcribes once
//! the audio ends.

use domain::catalogue::{self, Capability};
use domain::{ErrorCode, Locale};
use providers::stt::{SpeechToText, SttConfig};
use sea_orm::DatabaseConnection;

use crate::credentials::{self, ProviderEnv};
use crate::{OrgCtx, ServiceError, ServiceResult};

/// Sample rate the browser sends (16-bit mono PCM).
pub const SAMPLE_RATE: u32 = 16_000;

pub async fn pick_stt(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &ProviderEnv,
    lang: Locale,
) -> ServiceResult<(Box<dyn SpeechToText>, SttConfig)> {
    let mut usable = credentials::configured(db, ctx, env, Capability::Stt).await?;
    // Stable sort: the organisation's own keys stay first within each group.
    usable.sort_by_key(|p| p.protocol == catalogue::Protocol::OpenAi);
    for p in usable {
        if !p.speaks(lang.as_str()) {
            continue;
        }
        let Some(model) = p.models(Capability::Stt).first() else { continue };
        let endpoint = credentials::endpoint(db, ctx, env, p.id).await?;
        match providers::speech_to_text(env.http.clone(), p.id, endpoint) {
            Ok(stt) => {
                let config = SttConfig {
                    model: model.to_string(),
                    language: lang.as_str().to_string(),
                    sample_rate: SAMPLE_RATE,
                    interim: true,
                };
                return Ok((stt, config));
            }
            Err(e) => tracing::warn!(provider = p.id, error = %e, "configured STT unusable"),
        }
    }
    Err(ServiceError::field(ErrorCode::ProviderNotConfigured, "provider").with_detail("speech-to-text"))
}
