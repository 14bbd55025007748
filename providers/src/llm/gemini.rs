//! Google Gemini (`POST {base}/models/{model}:streamGenerateContent?alt=sse`).

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::{json, Map, Value};

use super::{
    ChatEvent, ChatMessage, ChatModel, ChatRequest, ChatStream, FinishReason, ToolCallRequest, Usage,
};
use crate::error::{ProviderError, ProviderResult};
use crate::http::{self, Endpoint};
use crate::sse;

#[derive(Debug, Clone)]
pub struct GeminiChat {
    http: reqwest::Client,
    endpoint: Endpoint,
}

impl GeminiChat {
    pub fn new(http: reqwest::Client, endpoint: Endpoint) -> Self {
        GeminiChat { http, endpoint }
    }

    pub fn body(&self, req: &ChatRequest) -> Value {
        let system: Vec<Value> = req
            .messages
            .iter()
            .filter_map(|m| match m {
                ChatMessage::System { content } => Some(json!({"text": content})),
                _ => None,
            })
            .collect();
        let mut body = json!({"contents": contents(&req.messages)});
        if !system.is_empty() {
            body["systemInstruction"] = json!({"parts": system});
        }
        let mut config = Map::new();
        if let Some(t) = req.temperature {
            config.insert("temperature".into(), json!(t));
        }
        if let Some(m) = req.max_tokens {
            config.insert("maxOutputTokens".into(), json!(m));
        }
        if !config.is_empty() {
            body["generationConfig"] = Value::Object(config);
        }
        if !req.tools.is_empty() {
            let decls: Vec<Value> = req
                .tools
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "parameters": openapi_schema(&t.parameters)}))
                .collect();
            body["tools"] = json!([{"functionDeclarations": decls}]);
        }
        body
    }
}

/// Gemini accepts an OpenAPI subset of JSON Schema: no
/// `additionalProperties`, and every property needs a `type`.
pub fn openapi_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                match k.as_str() {
                    "additionalProperties" | "$schema" => {}
                    "properties" => {
                        let props = v
                            .as_object()
                            .map(|p| {
                                p.iter()
                                    .map(|(name, prop)| {
                                        let mut prop = openapi_schema(prop);
                                        if prop.get("type").is_none() {
                                            prop["type"] = json!("string");
                                        }
                                        (name.clone(), prop)
                                    })
                                    .collect::<Map<_, _>>()
                            })
                            .unwrap_or_default();
                        out.insert(k.clone(), Value::Object(props));
                    }
                    _ => {
                        out.insert(k.clone(), openapi_schema(v));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(openapi_schema).collect()),
        other => other.clone(),
    }
}

fn contents(msgs: &[ChatMessage]) -> Vec<Value> {
    let mut out: Vec<(String, Vec<Value>)> = Vec::new();
    let mut push = |role: &str, part: Value| match out.last_mut() {
        Some((r, parts)) if r == role => parts.push(part),
        _ => out.push((role.to_string(), vec![part])),
    };
    for m in msgs {
        match m {
            ChatMessage::System { .. } => {}
            ChatMessage::User { content } => push("user", json!({"text": content})),
            ChatMessage::Assistant { content, tool_calls } => {
                if !content.is_empty() {
                    push("model", json!({"text": content}));
                }
                for c in tool_calls {
                    let args: Value = serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}));
                    push("model", json!({"functionCall": {"name": c.name, "args": args}}));
                }
            }
            ChatMessage::Tool { name, content, is_error, .. } => {
                let key = if *is_error { "error" } else { "result" };
                push("user", json!({"functionResponse": {"name": name, "response": {key: content}}}));
            }
        }
    }
    out.into_iter().map(|(role, parts)| json!({"role": role, "parts": parts})).collect()
}

#[async_trait]
impl ChatModel for GeminiChat {
    async fn stream(&self, request: ChatRequest) -> ProviderResult<ChatStream> {
        let key = self.endpoint.key("gemini")?.to_string();
        let body = self.body(&request);
        let url = self.endpoint.url(
            &["models", format!("{}:streamGenerateContent", request.model).as_str()],
            &[("alt", "sse")],
        )?;
        let resp = http::send(&self.endpoint, http::error_message, || {
            self.http.post(&url).header("x-goog-api-key", &key).json(&body)
        })
        .await?;
        Ok(Box::pin(decode(sse::events(resp.bytes_stream(), self.endpoint.idle_timeout))))
    }
}

pub fn decode(
    events: impl futures::Stream<Item = ProviderResult<sse::SseEvent>> + Send + 'static,
) -> impl futures::Stream<Item = ProviderResult<ChatEvent>> + Send {
    async_stream::try_stream! {
        let mut events = Box::pin(events);
        let mut usage: Option<Usage> = None;
        let mut finish: Option<FinishReason> = None;
        let mut calls = 0usize;
        while let Some(ev) = events.next().await {
            let ev = ev?;
            let chunk: Value = serde_json::from_str(&ev.data)
                .map_err(|e| ProviderError::Malformed(format!("chunk is not JSON: {e}")))?;
            if chunk.get("error").is_some() {
                let message = crate::error::reported(http::error_message(&chunk).unwrap_or_default());
                let status = chunk["error"]["code"].as_u64().unwrap_or(500) as u16;
                Err(ProviderError::from_status(status, message, None))?;
            }
            if let Some(u) = chunk.get("usageMetadata") {
                usage = Some(Usage {
                    input_tokens: u["promptTokenCount"].as_u64().unwrap_or(0) as u32,
                    output_tokens: u["candidatesTokenCount"].as_u64().unwrap_or(0) as u32,
                });
            }
            if let Some(reason) = chunk["promptFeedback"]["blockReason"].as_str() {
                tracing::warn!(reason, "gemini blocked the prompt");
                finish = Some(FinishReason::ContentFilter);
            }
            let Some(cand) = chunk["candidates"].as_array().and_then(|c| c.first()) else { continue };
            for part in cand["content"]["parts"].as_array().into_iter().flatten() {
                if part["thought"].as_bool() == Some(true) {
                    continue;
                }
                if let Some(t) = part["text"].as_str().filter(|t| !t.is_empty()) {
                    yield ChatEvent::TextDelta(t.to_string());
                }
                if let Some(fc) = part.get("functionCall") {
                    let name = fc["name"].as_str()
                        .ok_or_else(|| ProviderError::Malformed("functionCall without a name".into()))?;
                    calls += 1;
                    yield ChatEvent::ToolCall(ToolCallRequest {
                        id: fc["id"].as_str().map(str::to_string).unwrap_or_else(|| format!("call_{calls}")),
                        name: name.to_string(),
                        arguments: fc.get("args").map(Value::to_string).unwrap_or_else(|| "{}".into()),
                    });
                }
            }
            if let Some(reason) = cand["finishReason"].as_str() {
                finish = Some(match reason {
                    "STOP" if calls > 0 => FinishReason::ToolCalls,
                    "STOP" => FinishReason::Stop,
                    "MAX_TOKENS" => FinishReason::Length,
                    "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" => FinishReason::ContentFilter,
                    _ => FinishReason::Other,
                });
            }
        }
        let finish = finish.ok_or_else(|| ProviderError::Malformed("stream ended without a finish reason".into()))?;
        if let Some(u) = usage {
            yield ChatEvent::Usage(u);
        }
        yield ChatEvent::Finished(finish);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_reduced_to_the_openapi_subset() {
        let s = json!({"type": "object", "additionalProperties": false, "required": ["field", "value"],
            "properties": {"field": {"type": "string", "enum": ["a"]}, "value": {"description": "any"}}});
        let out = openapi_schema(&s);
        assert!(out.get("additionalProperties").is_none());
        assert_eq!(out["properties"]["value"], json!({"description": "any", "type": "string"}));
        assert_eq!(out["properties"]["field"]["enum"], json!(["a"]));
    }

    #[test]
    fn tool_round_trip_uses_function_parts() {
        let msgs = vec![
            ChatMessage::User { content: "hi".into() },
            ChatMessage::Assistant {
                content: "ok".into(),
                tool_calls: vec![ToolCallRequest {
                    id: "c".into(),
                    name: "addNote".into(),
                    arguments: r#"{"text":"x"}"#.into(),
                }],
            },
            ChatMessage::Tool {
                call_id: "c".into(),
                name: "addNote".into(),
                content: "saved".into(),
                is_error: false,
            },
        ];
        let v = contents(&msgs);
        assert_eq!(v[1]["role"], "model");
        assert_eq!(v[1]["parts"][1]["functionCall"]["args"], json!({"text": "x"}));
        assert_eq!(v[2]["parts"][0]["functionResponse"]["response"], json!({"result": "saved"}));
    }
}
