//! Anthropic Messages, streamed as `message_start … message_stop` events.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::brain::{self, Prompt, Step};
use crate::{http_fault, json_error, sse_response, Fault, Shared, VendorErrors, MISSING_MODEL};

pub fn router() -> Router<Shared> {
    Router::new().route("/messages", post(messages))
}

fn err(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

fn prompt(body: &Value) -> Prompt {
    let msgs = body["messages"].as_array().cloned().unwrap_or_default();
    let text_of = |m: &Value| -> Option<String> {
        match &m["content"] {
            Value::String(s) => Some(s.clone()),
            Value::Array(blocks) => blocks
                .iter()
                .find(|b| b["type"] == "text")
                .and_then(|b| b["text"].as_str())
                .map(str::to_string),
            _ => None,
        }
    };
    let last_tool_result = msgs.last().and_then(|m| {
        m["content"]
            .as_array()?
            .iter()
            .rev()
            .find(|b| b["type"] == "tool_result")
            .map(|b| b["is_error"] == true)
    });
    let tools = body["tools"].as_array().cloned().unwrap_or_default();
    Prompt {
        system: match &body["system"] {
            Value::String(s) => s.clone(),
            Value::Array(blocks) => {
                blocks.iter().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join("\n")
            }
            _ => String::new(),
        },
        last_user: msgs.iter().rev().filter(|m| m["role"] == "user").find_map(text_of),
        last_tool_result,
        tool_names: tools.iter().filter_map(|t| t["name"].as_str().map(str::to_string)).collect(),
        data_fields: tools
            .iter()
            .find(|t| t["name"] == "updateData")
            .and_then(|t| t["input_schema"]["properties"]["field"]["enum"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        transfer_number: tools
            .iter()
            .find(|t| t["name"] == "transferCall")
            .and_then(|t| crate::brain::first_enum(&t["input_schema"], "number")),
    }
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

async fn messages(State(state): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    state.record("anthropic", "/messages".into(), &headers, &body);
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    if key.is_empty() {
        return json_error(
            StatusCode::UNAUTHORIZED,
            err("authentication_error", "x-api-key header is required"),
            None,
        );
    }
    if headers.get("anthropic-version").is_none() {
        return json_error(
            StatusCode::BAD_REQUEST,
            err("invalid_request_error", "anthropic-version: header is required"),
            None,
        );
    }
    let fault = Fault::from_key(&key);
    let errors = VendorErrors {
        auth_status: StatusCode::UNAUTHORIZED,
        auth: err("authentication_error", "invalid x-api-key"),
        rate: err("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
        down_status: StatusCode::from_u16(529).unwrap(),
        down: err("overloaded_error", "Overloaded"),
    };
    if let Some(resp) = http_fault(&state, "anthropic", fault, errors) {
        return resp;
    }
    let model = body["model"].as_str().unwrap_or_default().to_string();
    if model == MISSING_MODEL {
        return json_error(StatusCode::NOT_FOUND, err("not_found_error", &format!("model: {model}")), None);
    }
    if body["max_tokens"].as_u64().is_none() {
        return json_error(
            StatusCode::BAD_REQUEST,
            err("invalid_request_error", "max_tokens: Field required"),
            None,
        );
    }
    if body.get("temperature").and_then(Value::as_f64).is_some_and(|t| !(0.0..=1.0).contains(&t)) {
        return json_error(
            StatusCode::BAD_REQUEST,
            err("invalid_request_error", "temperature: range: 0..1"),
            None,
        );
    }

    let steps = brain::reply(&prompt(&body));
    let input_tokens = body["messages"].to_string().len() / 4;
    let mut frames = vec![
        event(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_mock", "type": "message", "role": "assistant", "content": [],
                "model": model, "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}),
        ),
        event("ping", json!({"type": "ping"})),
    ];
    let mut out_tokens = 1;
    let mut used_tool = false;
    for (index, step) in steps.iter().enumerate() {
        match step {
            Step::Text(t) => {
                frames.push(event("content_block_start", json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})));
                for d in brain::deltas(t) {
                    out_tokens += 1;
                    frames.push(event("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": d}})));
                }
            }
            Step::Tool { name, args } => {
                used_tool = true;
                frames.push(event(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": format!("toolu_mock{index}"), "name": name, "input": {}}}),
                ));
                let args = args.to_string();
                let (a, b) = args.split_at(args.len() / 2);
                for part in [a, b] {
                    frames.push(event("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": part}})));
                }
                out_tokens += 10;
            }
        }
        frames.push(event("content_block_stop", json!({"type": "content_block_stop", "index": index})));
    }
    let stop = if used_tool { "tool_use" } else { "end_turn" };
    frames.push(event("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": out_tokens}})));
    frames.push(event("message_stop", json!({"type": "message_stop"})));
    let error_frame = event("error", err("overloaded_error", "Overloaded"));
    sse_response(state, frames, fault, error_frame, 1)
}
