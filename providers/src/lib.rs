//! Provider clients: streaming LLM chat with tool calls (and, next to it,
//! speech-to-text and text-to-speech), each behind a trait, each returning
//! [`ProviderError`]. Production talks to the vendors' real endpoints; the
//! base URL is configuration, which is how tests point clients at
//! `mock-vendors`.

pub mod error;
pub mod http;
pub mod llm;
pub mod sse;

use domain::catalogue::{self, Protocol};

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
