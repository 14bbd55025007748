//! Gemini `streamGenerateContent?alt=sse`: each frame a GenerateContentResponse.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::brain::{self, Prompt, Step};
use crate::{http_fault, json_error, sse_response, Fault, Shared, VendorErrors, MISSING_MODEL};

pub fn router() -> Router<Shared> {
    Router::new().route("/models/{model_action}", post(generate))
}

fn err(code: u16, status: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "status": status}})
}

fn prompt(body: &Value) -> Prompt {
    let contents = body["contents"].as_array().cloned().unwrap_or_default();
    let last_tool_result = contents.last().and_then(|c| {
        c["parts"]
            .as_array()?
            .iter()
            .rev()
            .find_map(|p| p.get("functionResponse"))
            .map(|fr| fr["response"].get("error").is_some())
    });
    let decls: Vec<Value> = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["functionDeclarations"].as_array().cloned().unwrap_or_default())
        .collect();
    Prompt {
        system: body["systemInstruction"]["parts"]
            .as_array()
            .map(|parts| parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join("\n"))
            .unwrap_or_default(),
        last_user: contents
            .iter()
            .rev()
            .filter(|c| c["role"] == "user")
            .find_map(|c| c["parts"].as_array()?.iter().find_map(|p| p["text"].as_str()).map(str::to_string)),
        last_tool_result,
        tool_names: decls.iter().filter_map(|d| d["name"].as_str().map(str::to_string)).collect(),
        data_fields: decls
            .iter()
            .find(|d| d["name"] == "updateData")
            .and_then(|d| d["parameters"]["properties"]["field"]["enum"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        transfer_number: decls
            .iter()
            .find(|d| d["name"] == "transferCall")
            .and_then(|d| crate::brain::first_enum(&d["parameters"], "number")),
    }
}

async fn generate(
    State(state): State<Shared>,
    Path(model_action): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    state.record("gemini", format!("/models/{model_action}"), &headers, &body);
    let key = headers
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| query.get("key").cloned())
        .unwrap_or_default();
    let Some((model, "streamGenerateContent")) = model_action.split_once(':') else {
        return json_error(StatusCode::NOT_FOUND, err(404, "NOT_FOUND", "unknown method"), None);
    };
    if key.is_empty() {
        return json_error(
            StatusCode::FORBIDDEN,
            err(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers."),
            None,
        );
    }
    let fault = Fault::from_key(&key);
    let errors = VendorErrors {
        auth_status: StatusCode::BAD_REQUEST,
        auth: json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}),
        rate: err(
            429,
            "RESOURCE_EXHAUSTED",
            "You exceeded your current quota, please check your plan and billing details.",
        ),
        down_status: StatusCode::SERVICE_UNAVAILABLE,
        down: err(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
    };
    if let Some(resp) = http_fault(&state, "gemini", fault, errors) {
        return resp;
    }
    if model == MISSING_MODEL {
        let msg = format!(
            "models/{model} is not found for API version v1beta, or is not supported for generateContent."
        );
        return json_error(StatusCode::NOT_FOUND, err(404, "NOT_FOUND", &msg), None);
    }
    if query.get("alt").map(String::as_str) != Some("sse") {
        return json_error(
            StatusCode::BAD_REQUEST,
            err(400, "INVALID_ARGUMENT", "this mock only streams with alt=sse"),
            None,
        );
    }
    if !body["contents"].is_array() {
        return json_error(
            StatusCode::BAD_REQUEST,
            err(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified"),
            None,
        );
    }
    // The real API rejects JSON-Schema keywords outside its OpenAPI subset.
    if body["tools"].to_string().contains("additionalProperties") {
        return json_error(
            StatusCode::BAD_REQUEST,
            err(400, "INVALID_ARGUMENT", "Unknown name \"additionalProperties\""),
            None,
        );
    }

    let steps = brain::reply(&prompt(&body));
    let prompt_tokens = body["contents"].to_string().len() / 4;
    let mut parts_frames: Vec<Value> = Vec::new();
    for step in &steps {
        match step {
            Step::Text(t) => parts_frames.extend(brain::deltas(t).into_iter().map(|d| json!({"text": d}))),
            Step::Tool { name, args } => {
                parts_frames.push(json!({"functionCall": {"name": name, "args": args}}))
            }
        }
    }
    let n = parts_frames.len();
    let frames: Vec<String> = parts_frames
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let mut cand = json!({"content": {"parts": [part], "role": "model"}, "index": 0});
            let mut frame = json!({"candidates": [], "modelVersion": model});
            if i + 1 == n {
                cand["finishReason"] = json!("STOP");
                frame["usageMetadata"] = json!({"promptTokenCount": prompt_tokens, "candidatesTokenCount": n, "totalTokenCount": prompt_tokens + n});
            }
            frame["candidates"] = json!([cand]);
            format!("data: {frame}\n\n")
        })
        .collect();
    let error_frame = format!("data: {}\n\n", err(500, "INTERNAL", "An internal error has occurred."));
    sse_response(state, frames, fault, error_frame, 1)
}
