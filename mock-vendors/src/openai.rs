//! OpenAI Chat Completions, streamed as `chat.completion.chunk` SSE frames.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::brain::{self, Prompt, Step};
use crate::{http_fault, json_error, sse_response, Fault, Shared, VendorErrors, MISSING_MODEL};

pub fn router() -> Router<Shared> {
    Router::new().route("/chat/completions", post(chat))
}

fn err(message: &str, kind: &str, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

fn prompt(body: &Value) -> Prompt {
    let msgs = body["messages"].as_array().cloned().unwrap_or_default();
    let last = msgs.last();
    let tools = body["tools"].as_array().cloned().unwrap_or_default();
    Prompt {
        system: msgs
            .iter()
            .filter(|m| m["role"] == "system" || m["role"] == "developer")
            .filter_map(|m| m["content"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        last_user: msgs
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .and_then(|m| m["content"].as_str())
            .map(str::to_string),
        last_tool_result: last
            .filter(|m| m["role"] == "tool")
            .map(|m| m["content"].as_str().unwrap_or_default().starts_with("Error")),
        tool_names: tools.iter().filter_map(|t| t["function"]["name"].as_str().map(str::to_string)).collect(),
        data_fields: tools
            .iter()
            .find(|t| t["function"]["name"] == "updateData")
            .and_then(|t| t["function"]["parameters"]["properties"]["field"]["enum"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        transfer_number: tools
            .iter()
            .find(|t| t["function"]["name"] == "transferCall")
            .and_then(|t| crate::brain::first_enum(&t["function"]["parameters"], "number")),
    }
}

async fn chat(State(state): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    state.record("openai", "/chat/completions".into(), &headers, &body);
    let key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    if key.is_empty() {
        return json_error(
            StatusCode::UNAUTHORIZED,
            err("You didn't provide an API key.", "invalid_request_error", None),
            None,
        );
    }
    let fault = Fault::from_key(&key);
    let errors = VendorErrors {
        auth_status: StatusCode::UNAUTHORIZED,
        auth: err("Incorrect API key provided: bad-key.", "invalid_request_error", Some("invalid_api_key")),
        rate: err("Rate limit reached for requests", "requests", Some("rate_limit_exceeded")),
        down_status: StatusCode::SERVICE_UNAVAILABLE,
        down: err("The engine is currently overloaded, please try again later", "server_error", None),
    };
    if let Some(resp) = http_fault(&state, "openai", fault, errors) {
        return resp;
    }
    let model = body["model"].as_str().unwrap_or_default().to_string();
    if model == MISSING_MODEL {
        let msg = format!("The model `{model}` does not exist or you do not have access to it.");
        return json_error(
            StatusCode::NOT_FOUND,
            err(&msg, "invalid_request_error", Some("model_not_found")),
            None,
        );
    }
    if model.is_empty() || !body["messages"].is_array() {
        return json_error(
            StatusCode::BAD_REQUEST,
            err("'model' and 'messages' are required", "invalid_request_error", None),
            None,
        );
    }

    let steps = brain::reply(&prompt(&body));
    let chunk = |delta: Value, finish: Value| {
        let c = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_764_000_000, "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        format!("data: {c}\n\n")
    };
    let mut frames = vec![chunk(json!({"role": "assistant", "content": ""}), Value::Null)];
    let mut tool_index = 0;
    let mut out_tokens = 0;
    for step in &steps {
        match step {
            Step::Text(t) => {
                for d in brain::deltas(t) {
                    out_tokens += 1;
                    frames.push(chunk(json!({"content": d}), Value::Null));
                }
            }
            Step::Tool { name, args } => {
                let args = args.to_string();
                let (a, b) = args.split_at(args.len() / 2);
                let id = format!("call_mock{tool_index}");
                frames.push(chunk(
                    json!({"tool_calls": [{"index": tool_index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
                    Value::Null,
                ));
                frames.push(chunk(
                    json!({"tool_calls": [{"index": tool_index, "function": {"arguments": a}}]}),
                    Value::Null,
                ));
                frames.push(chunk(
                    json!({"tool_calls": [{"index": tool_index, "function": {"arguments": b}}]}),
                    Value::Null,
                ));
                tool_index += 1;
                out_tokens += 10;
            }
        }
    }
    let finish = if tool_index > 0 { "tool_calls" } else { "stop" };
    frames.push(chunk(json!({}), json!(finish)));
    if body["stream_options"]["include_usage"] == true {
        let prompt_tokens = body["messages"].to_string().len() / 4;
        let usage = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_764_000_000, "model": model, "choices": [],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": out_tokens, "total_tokens": prompt_tokens + out_tokens}});
        frames.push(format!("data: {usage}\n\n"));
    }
    frames.push("data: [DONE]\n\n".into());
    let error_frame = format!(
        "data: {}\n\n",
        err("The server had an error while processing your request.", "server_error", None)
    );
    let tail = if body["stream_options"]["include_usage"] == true { 3 } else { 2 };
    sse_response(state, frames, fault, error_frame, tail)
}
