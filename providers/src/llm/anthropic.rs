//! Anthropic Messages API (`POST {base}/messages`, `stream: true`).

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

pub const API_VERSION: &str = "2023-06-01";
/// Anthropic requires `max_tokens`; used when the agent sets none.
const DEFAULT_MAX_TOKENS: u32 = 1024;

#[derive(Debug, Clone)]
pub struct AnthropicChat {
    http: reqwest::Client,
    endpoint: Endpoint,
}

impl AnthropicChat {
    pub fn new(http: reqwest::Client, endpoint: Endpoint) -> Self {
        AnthropicChat { http, endpoint }
    }

    pub fn body(&self, req: &ChatRequest) -> Value {
        let system: Vec<&str> = req
            .messages
            .iter()
            .filter_map(|m| match m {
                ChatMessage::System { content } => Some(content.as_str()),
                _ => None,
            })
            .collect();
        let mut body = json!({
            "model": req.model,
            "max_tokens": req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
            "messages": messages(&req.messages),
            "stream": true,
        });
        if !system.is_empty() {
            body["system"] = json!(system.join("\n\n"));
        }
        if let Some(t) = req.temperature {
            // Anthropic's range is 0–1; agents allow up to 2 (OpenAI's).
            body["temperature"] = json!(t.clamp(0.0, 1.0));
        }
        if !req.tools.is_empty() {
            body["tools"] = req
                .tools
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
                .collect();
        }
        body
    }
}

/// Anthropic wants strictly alternating user/assistant turns with content
/// blocks; tool results travel as `tool_result` blocks of a user turn.
/// Consecutive same-role messages are merged.
fn messages(msgs: &[ChatMessage]) -> Vec<Value> {
    let mut out: Vec<(String, Vec<Value>)> = Vec::new();
    let mut push = |role: &str, block: Value| match out.last_mut() {
        Some((r, blocks)) if r == role => blocks.push(block),
        _ => out.push((role.to_string(), vec![block])),
    };
    for m in msgs {
        match m {
            ChatMessage::System { .. } => {}
            ChatMessage::User { content } => push("user", json!({"type": "text", "text": content})),
            ChatMessage::Assistant { content, tool_calls } => {
                if !content.is_empty() {
                    push("assistant", json!({"type": "text", "text": content}));
                }
                for c in tool_calls {
                    let input: Value = serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}));
                    push(
                        "assistant",
                        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}),
                    );
                }
            }
            ChatMessage::Tool { call_id, content, is_error, .. } => push(
                "user",
                json!({"type": "tool_result", "tool_use_id": call_id, "content": content, "is_error": is_error}),
            ),
        }
    }
    out.into_iter().map(|(role, content)| json!({"role": role, "content": content})).collect()
}

#[async_trait]
impl ChatModel for AnthropicChat {
    async fn stream(&self, request: ChatRequest) -> ProviderResult<ChatStream> {
        let key = self.endpoint.key("anthropic")?.to_string();
        let body = self.body(&request);
        let url = self.endpoint.url(&["messages"], &[])?;
        let resp = http::send(&self.endpoint, http::error_message, || {
            self.http
                .post(&url)
                .header("x-api-key", &key)
                .header("anthropic-version", API_VERSION)
                .json(&body)
        })
        .await?;
        Ok(Box::pin(decode(sse::events(resp.bytes_stream(), self.endpoint.idle_timeout))))
    }
}

struct Block {
    tool: Option<ToolCallRequest>,
}

pub fn decode(
    events: impl futures::Stream<Item = ProviderResult<sse::SseEvent>> + Send + 'static,
) -> impl futures::Stream<Item = ProviderResult<ChatEvent>> + Send {
    async_stream::try_stream! {
        let mut events = Box::pin(events);
        let mut blocks: BTreeMap<u64, Block> = BTreeMap::new();
        let mut usage = Usage::default();
        let mut finish: Option<FinishReason> = None;
        let mut stopped = false;
        while let Some(ev) = events.next().await {
            let ev = ev?;
            let data: Value = serde_json::from_str(&ev.data)
                .map_err(|e| ProviderError::Malformed(format!("event is not JSON: {e}")))?;
            let kind = ev.event.clone().or_else(|| data["type"].as_str().map(str::to_string)).unwrap_or_default();
            match kind.as_str() {
                "message_start" => {
                    let u = &data["message"]["usage"];
                    usage.input_tokens = u["input_tokens"].as_u64().unwrap_or(0) as u32;
                    usage.output_tokens = u["output_tokens"].as_u64().unwrap_or(0) as u32;
                }
                "content_block_start" => {
                    let index = index(&data)?;
                    let cb = &data["content_block"];
                    let tool = (cb["type"] == "tool_use").then(|| ToolCallRequest {
                        id: cb["id"].as_str().unwrap_or_default().to_string(),
                        name: cb["name"].as_str().unwrap_or_default().to_string(),
                        arguments: String::new(),
                    });
                    if let Some(text) = cb["text"].as_str().filter(|t| !t.is_empty()) {
                        yield ChatEvent::TextDelta(text.to_string());
                    }
                    blocks.insert(index, Block { tool });
                }
                "content_block_delta" => {
                    let index = index(&data)?;
                    let delta = &data["delta"];
                    match delta["type"].as_str() {
                        Some("text_delta") => {
                            if let Some(t) = delta["text"].as_str().filter(|t| !t.is_empty()) {
                                yield ChatEvent::TextDelta(t.to_string());
                            }
                        }
                        Some("input_json_delta") => {
                            let block = blocks.get_mut(&index)
                                .and_then(|b| b.tool.as_mut())
                                .ok_or_else(|| ProviderError::Malformed("input delta for a non-tool block".into()))?;
                            block.arguments.push_str(delta["partial_json"].as_str().unwrap_or_default());
                        }
                        _ => {} // thinking, signature, citations: not used here
                    }
                }
                "content_block_stop" => {
                    let index = index(&data)?;
                    if let Some(Block { tool: Some(mut call) }) = blocks.remove(&index) {
                        if call.name.is_empty() {
                            Err(ProviderError::Malformed("tool_use block without a name".into()))?;
                        }
                        if call.arguments.trim().is_empty() {
                            call.arguments = "{}".into();
                        }
                        yield ChatEvent::ToolCall(call);
                    }
                }
                "message_delta" => {
                    if let Some(out) = data["usage"]["output_tokens"].as_u64() {
                        usage.output_tokens = out as u32;
                    }
                    if let Some(reason) = data["delta"]["stop_reason"].as_str() {
                        finish = Some(match reason {
                            "end_turn" | "stop_sequence" => FinishReason::Stop,
                            "tool_use" => FinishReason::ToolCalls,
                            "max_tokens" => FinishReason::Length,
                            "refusal" => FinishReason::ContentFilter,
                            _ => FinishReason::Other,
                        });
                    }
                }
                "message_stop" => {
                    stopped = true;
                    break;
                }
                "error" => {
                    let message = crate::error::reported(http::error_message(&data).unwrap_or_else(|| data.to_string()));
                    let status = match data["error"]["type"].as_str() {
                        Some("overloaded_error") => 529,
                        _ => 500,
                    };
                    if data["error"]["type"] == "rate_limit_error" {
                        Err(ProviderError::RateLimited { retry_after: None, message })?;
                    } else {
                        Err(ProviderError::Upstream { status, message })?;
                    }
                }
                _ => {} // ping and future event types
            }
        }
        if !stopped {
            Err(ProviderError::Malformed("stream ended before message_stop".into()))?;
        }
        yield ChatEvent::Usage(usage);
        yield ChatEvent::Finished(finish.unwrap_or(FinishReason::Stop));
    }
}

fn index(data: &Value) -> ProviderResult<u64> {
    data["index"].as_u64().ok_or_else(|| ProviderError::Malformed("content block event without index".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_results_merge_into_alternating_turns() {
        let msgs = vec![
            ChatMessage::System { content: "be brief".into() },
            ChatMessage::User { content: "hi".into() },
            ChatMessage::Assistant {
                content: String::new(),
                tool_calls: vec![
                    ToolCallRequest {
                        id: "t1".into(),
                        name: "addNote".into(),
                        arguments: r#"{"text":"a"}"#.into(),
                    },
                    ToolCallRequest { id: "t2".into(), name: "endCall".into(), arguments: "not json".into() },
                ],
            },
            ChatMessage::Tool {
                call_id: "t1".into(),
                name: "addNote".into(),
                content: "ok".into(),
                is_error: false,
            },
            ChatMessage::Tool {
                call_id: "t2".into(),
                name: "endCall".into(),
                content: "bad".into(),
                is_error: true,
            },
        ];
        let v = messages(&msgs);
        assert_eq!(v.len(), 3);
        assert_eq!(v[1]["role"], "assistant");
        assert_eq!(v[1]["content"][0]["input"], json!({"text": "a"}));
        assert_eq!(v[1]["content"][1]["input"], json!({}));
        assert_eq!(v[2]["role"], "user");
        assert_eq!(v[2]["content"].as_array().unwrap().len(), 2);
        assert_eq!(v[2]["content"][1]["is_error"], true);
    }
}
