//! Provider clients: streaming LLM chat with tool calls (and, next to it,
//! speech-to-text and text-to-speech), each behind a trait, each returning
//! [`ProviderError`]. Production talks to the vendors' real endpoints; the
//! base URL is configuration, which is how tests point clients at
//! `mock-vendors`.

pub mod egress;
pub mod error;
pub mod http;
pub mod llm;
pub mod sse;
pub mod stt;
pub mod tts;
pub mod ws;

use domain::catalogue::{self, Protocol};

pub use egress::EgressPolicy;
pub use error::{ProviderError, ProviderResult};
pub use http::Endpoint;
pub use llm::{
    ChatEvent, ChatMessage, ChatModel, ChatRequest, ChatStream, FinishReason, ToolCallRequest, Usage,
};

/// Builds the chat client for a catalogue provider id.
pub fn chat_model(
    http: reqwest::Client,
    provider: &str,
    endpoint: Endpoint,
) -> ProviderResult<Box<dyn ChatModel>> {
    let p = catalogue::provider(provider)
        .ok_or_else(|| ProviderError::BadRequest(format!("unknown provider {provider}")))?;
    // A tenant's URL is only ever reached through its egress policy's client.
    let http = endpoint.client(http);
    Ok(match p.protocol {
        Protocol::OpenAi => {
            let flavor =
                if p.id == "openai" { llm::openai::Flavor::OpenAi } else { llm::openai::Flavor::Compatible };
            if !p.key_optional && endpoint.api_key.is_none() {
                return Err(ProviderError::NotConfigured(p.name.to_string()));
            }
            Box::new(llm::openai::OpenAiChat::new(http, endpoint, flavor, p.name))
        }
        Protocol::Anthropic => Box::new(llm::anthropic::AnthropicChat::new(http, endpoint)),
        Protocol::Gemini => Box::new(llm::gemini::GeminiChat::new(http, endpoint)),
        _ => return Err(ProviderError::BadRequest(format!("{} is not a chat provider", p.name))),
    })
}

/// Builds the speech-to-text client for a catalogue provider id.
pub fn speech_to_text(
    http: reqwest::Client,
    provider: &str,
    endpoint: Endpoint,
) -> ProviderResult<Box<dyn stt::SpeechToText>> {
    let p = catalogue::provider(provider)
        .ok_or_else(|| ProviderError::BadRequest(format!("unknown provider {provider}")))?;
    // A tenant's URL is only ever reached through its egress policy's client.
    let http = endpoint.client(http);
    Ok(match p.protocol {
        Protocol::Deepgram => Box::new(stt::deepgram::Deepgram::new(endpoint)),
        Protocol::AssemblyAi => Box::new(stt::assemblyai::AssemblyAi::new(endpoint)),
        Protocol::OpenAi if p.supports(domain::catalogue::Capability::Stt) => {
            Box::new(stt::openai::OpenAiTranscription::new(http, endpoint))
        }
        _ => return Err(ProviderError::BadRequest(format!("{} is not a speech-to-text provider", p.name))),
    })
}

/// Builds the text-to-speech client for a catalogue provider id.
pub fn text_to_speech(
    http: reqwest::Client,
    provider: &str,
    endpoint: Endpoint,
) -> ProviderResult<Box<dyn tts::TextToSpeech>> {
    let p = catalogue::provider(provider)
        .ok_or_else(|| ProviderError::BadRequest(format!("unknown provider {provider}")))?;
    // A tenant's URL is only ever reached through its egress policy's client.
    let http = endpoint.client(http);
    Ok(match p.protocol {
        Protocol::Cartesia => Box::new(tts::cartesia::Cartesia::new(http, endpoint)),
        Protocol::ElevenLabs => Box::new(tts::elevenlabs::ElevenLabs::new(http, endpoint)),
        Protocol::OpenAi if p.supports(domain::catalogue::Capability::Tts) => {
            Box::new(tts::openai::OpenAiSpeech::new(http, endpoint))
        }
        _ => return Err(ProviderError::BadRequest(format!("{} is not a text-to-speech provider", p.name))),
    })
}
