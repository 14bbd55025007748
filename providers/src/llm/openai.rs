//! OpenAI Chat Completions (`POST {base}/chat/completions`, `stream: true`),
//! which Groq, Ollama, vLLM and most self-hosted servers also speak.

use std::collections::BTreeMap;

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::{json, Value};

use super::{
    ChatEvent, ChatMessage, ChatModel, ChatRequest, ChatStream, FinishReason, ToolCallRequest, Usage,
};
use crate::error::{ProviderError, ProviderResult};
use crate::http::{self, Endpoint};
use crate::sse;

/// OpenAI itself or a compatible server: they differ in small request details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    OpenAi,
    Compatible,
}

#[derive(Debug, Clone)]
pub struct OpenAiChat {
    http: reqwest::Client,
    endpoint: Endpoint,
    flavor: Flavor,
    /// Shown in "no key" errors.
    provider: String,
}

impl OpenAiChat {
    pub fn new(
        http: reqwest::Client,
        endpoint: Endpoint,
        flavor: Flavor,
        provider: impl Into<String>,
    ) -> Self {
        OpenAiChat { http, endpoint, flavor, provider: provider.into() }
    }

    pub fn body(&self, req: &ChatRequest) -> Value {
        let reasoning = is_reasoning_model(&req.model);
        let mut body = json!({
            "model": req.model,
            "messages": req.messages.iter().map(message).collect::<Vec<_>>(),
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        if !req.tools.is_empty() {
            body["tools"] = req
                .tools
                .iter()
                .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
                .collect();
        }
        // Reasoning models refuse any temperature but the default.
        if let (Some(t), false) = (req.temperature, reasoning) {
            body["temperature"] = json!(t);
        }
        if let Some(max) = req.max_tokens {
            let key = if self.flavor == Flavor::OpenAi { "max_completion_tokens" } else { "max_tokens" };
            body[key] = json!(max);
        }
        body
    }
}

fn is_reasoning_model(model: &str) -> bool {
    model.starts_with("gpt-5")
        || model.starts_with("o1")
        || model.starts_with("o3")
        || model.starts_with("o4")
}

fn message(m: &ChatMessage) -> Value {
    match m {
        ChatMessage::System { content } => json!({"role": "system", "content": content}),
        ChatMessage::User { content } => json!({"role": "user", "content": content}),
        ChatMessage::Assistant { content, tool_calls } => {
            let mut v = json!({"role": "assistant", "content": if content.is_empty() { Value::Null } else { json!(content) }});
            if !tool_calls.is_empty() {
                v["tool_calls"] = tool_calls
                    .iter()
                    .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
                    .collect();
            }
            v
        }
        ChatMessage::Tool { call_id, content, .. } => {
            json!({"role": "tool", "tool_call_id": call_id, "content": content})
        }
    }
}

#[async_trait]
impl ChatModel for OpenAiChat {
    async fn stream(&self, request: ChatRequest) -> ProviderResult<ChatStream> {
        let key = match (self.flavor, self.endpoint.api_key.as_deref()) {
            (_, Some(k)) => Some(k.to_string()),
            (Flavor::Compatible, None) => None,
            (Flavor::OpenAi, None) => return Err(ProviderError::NotConfigured(self.provider.clone())),
        };
        let body = self.body(&request);
        let url = self.endpoint.url(&["chat", "completions"], &[])?;
        let resp = http::send(&self.endpoint, http::error_message, || {
            let rb = self.http.post(&url).json(&body);
            match &key {
                Some(k) => rb.bearer_auth(k),
                None => rb,
            }
        })
        .await?;
        let events = sse::events(resp.bytes_stream(), self.endpoint.idle_timeout);
        Ok(Box::pin(decode(events)))
    }
}

/// Turns OpenAI chunks into [`ChatEvent`]s.
pub fn decode(
    events: impl futures::Stream<Item = ProviderResult<sse::SseEvent>> + Send + 'static,
) -> impl futures::Stream<Item = ProviderResult<ChatEvent>> + Send {
    async_stream::try_stream! {
        let mut events = Box::pin(events);
        let mut calls: BTreeMap<u64, ToolCallRequest> = BTreeMap::new();
        let mut finish: Option<FinishReason> = None;
        let mut done = false;
        while let Some(ev) = events.next().await {
            let ev = ev?;
            if ev.data.trim() == "[DONE]" {
                done = true;
                break;
            }
            let chunk: Value = serde_json::from_str(&ev.data)
                .map_err(|e| ProviderError::Malformed(format!("chunk is not JSON: {e}")))?;
            if let Some(err) = chunk.get("error") {
                let message = crate::error::reported(http::error_message(&chunk).unwrap_or_else(|| err.to_string()));
                Err(ProviderError::Upstream { status: 500, message })?;
            }
            if let Some(u) = chunk.get("usage").filter(|u| !u.is_null()) {
                yield ChatEvent::Usage(Usage {
                    input_tokens: u["prompt_tokens"].as_u64().unwrap_or(0) as u32,
                    output_tokens: u["completion_tokens"].as_u64().unwrap_or(0) as u32,
                });
            }
            let Some(choice) = chunk["choices"].as_array().and_then(|c| c.first()) else { continue };
            let delta = &choice["delta"];
            if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
                yield ChatEvent::TextDelta(text.to_string());
            }
            if let Some(parts) = delta["tool_calls"].as_array() {
                for part in parts {
                    let index = part["index"].as_u64()
                        .ok_or_else(|| ProviderError::Malformed("tool call delta without index".into()))?;
                    let call = calls.entry(index).or_insert_with(|| ToolCallRequest {
                        id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    });
                    if let Some(id) = part["id"].as_str() {
                        call.id = id.to_string();
                    }
                    if let Some(name) = part["function"]["name"].as_str() {
                        call.name.push_str(name);
                    }
                    if let Some(args) = part["function"]["arguments"].as_str() {
                        call.arguments.push_str(args);
                    }
                }
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                finish = Some(match reason {
                    "stop" => FinishReason::Stop,
                    "tool_calls" | "function_call" => FinishReason::ToolCalls,
                    "length" => FinishReason::Length,
                    "content_filter" => FinishReason::ContentFilter,
                    _ => FinishReason::Other,
                });
                for call in finish_calls(std::mem::take(&mut calls))? {
                    yield ChatEvent::ToolCall(call);
                }
            }
        }
        for call in finish_calls(std::mem::take(&mut calls))? {
            yield ChatEvent::ToolCall(call);
        }
        // Some compatible servers end without [DONE]; a finish reason is enough.
        match finish {
            Some(reason) => yield ChatEvent::Finished(reason),
            None if done => yield ChatEvent::Finished(FinishReason::Stop),
            None => Err(ProviderError::Malformed("stream ended before the response was complete".into()))?,
        }
    }
}

fn finish_calls(calls: BTreeMap<u64, ToolCallRequest>) -> ProviderResult<Vec<ToolCallRequest>> {
    calls
        .into_iter()
        .map(|(i, mut call)| {
            if call.name.is_empty() {
                return Err(ProviderError::Malformed("tool call without a name".into()));
            }
            if call.id.is_empty() {
                call.id = format!("call_{i}");
            }
            Ok(call)
        })
        .collect()
}
