//! Streaming chat completion with tool calls, one trait over OpenAI (and
//! every OpenAI-compatible server), Anthropic Messages and Google Gemini.
//!
//! Clients assemble tool-call argument fragments themselves and emit each
//! call once, complete; callers never see vendor deltas.

pub mod anthropic;
pub mod gemini;
pub mod openai;

use std::pin::Pin;

use async_trait::async_trait;
use domain::tools::ToolSpec;
use futures::Stream;
use serde::{Deserialize, Serialize};

use crate::error::ProviderResult;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallRequest {
    /// The provider's id for the call (synthesised where the vendor has none).
    pub id: String,
    pub name: String,
    /// The arguments as JSON text, exactly as the model produced them.
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum ChatMessage {
    System {
        content: String,
    },
    User {
        content: String,
    },
    Assistant {
        content: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCallRequest>,
    },
    /// The result of one tool call, answered in the next request.
    Tool {
        call_id: String,
        name: String,
        content: String,
        is_error: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub tools: Vec<ToolSpec>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u32,
    pub output_tokens: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Stop,
    ToolCalls,
    Length,
    ContentFilter,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    TextDelta(String),
    ToolCall(ToolCallRequest),
    Usage(Usage),
    /// Always the last event of a successful stream.
    Finished(FinishReason),
}

pub type ChatStream = Pin<Box<dyn Stream<Item = ProviderResult<ChatEvent>> + Send>>;

/// A chat model. Dropping the returned stream cancels the request (the
/// connection is closed); a stream that ends without [`ChatEvent::Finished`]
/// is reported as an error by the client, never silently.
#[async_trait]
pub trait ChatModel: Send + Sync {
    async fn stream(&self, request: ChatRequest) -> ProviderResult<ChatStream>;
}

/// Collects a whole stream: used by "test connection" and non-interactive callers.
pub async fn complete(model: &dyn ChatModel, request: ChatRequest) -> ProviderResult<Completion> {
    use futures::StreamExt;
    let mut stream = model.stream(request).await?;
    let mut out = Completion::default();
    while let Some(ev) = stream.next().await {
        match ev? {
            ChatEvent::TextDelta(t) => out.text.push_str(&t),
            ChatEvent::ToolCall(c) => out.tool_calls.push(c),
            ChatEvent::Usage(u) => out.usage = u,
            ChatEvent::Finished(r) => out.finish = Some(r),
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    pub tool_calls: Vec<ToolCallRequest>,
    pub usage: Usage,
    pub finish: Option<FinishReason>,
}
