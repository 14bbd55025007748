//! Each chat client against the mock vendor speaking its real wire format:
//! streamed text, assembled tool calls, usage, and every error kind.

use std::time::Duration;

use domain::data_schema::{DataField, DataSchema, FieldKind};
use domain::tools::{ToolContext, ToolName};
use futures::StreamExt;
use mock_vendors::MockVendors;
use providers::llm::complete;
use providers::{chat_model, ChatEvent, ChatMessage, ChatRequest, Endpoint, FinishReason, ProviderError};

const VENDORS: [(&str, &str, &str); 3] = [
    ("openai", "openai", "gpt-4.1-mini"),
    ("anthropic", "anthropic", "claude-haiku-4-5"),
    ("gemini", "gemini", "gemini-2.5-flash"),
];

fn schema() -> DataSchema {
    DataSchema {
        fields: vec![DataField {
            name: "budget".into(),
            kind: FieldKind::Number,
            description: "budget".into(),
            required: true,
        }],
    }
}

fn request(model: &str, user: &str) -> ChatRequest {
    let schema = schema();
    let tools = ToolContext { enabled: &ToolName::ALL, schema: &schema, transfer_number: None }.specs();
    ChatRequest {
        model: model.into(),
        messages: vec![
            ChatMessage::System { content: "You sell cars.".into() },
            ChatMessage::User { content: user.into() },
        ],
        tools,
        temperature: Some(0.4),
        max_tokens: Some(256),
    }
}

fn endpoint(mock: &MockVendors, vendor: &str, key: &str) -> Endpoint {
    let mut e = Endpoint::new(mock.base_url(vendor), Some(key.into()));
    e.retry.base_delay = Duration::from_millis(10);
    e.idle_timeout = Duration::from_millis(500);
    e
}

fn client(mock: &MockVendors, provider: &str, vendor: &str, key: &str) -> Box<dyn providers::ChatModel> {
    chat_model(reqwest::Client::new(), provider, endpoint(mock, vendor, key)).unwrap()
}

#[tokio::test]
async fn text_streams_in_several_deltas_with_usage() {
    let mock = MockVendors::start().await;
    for (provider, vendor, model) in VENDORS {
        let c = client(&mock, provider, vendor, "sk-test");
        let mut stream = c.stream(request(model, "Hello there, how are you?")).await.unwrap();
        let mut deltas = Vec::new();
        let mut events = Vec::new();
        while let Some(ev) = stream.next().await {
            let ev = ev.unwrap();
            if let ChatEvent::TextDelta(t) = &ev {
                deltas.push(t.clone());
            }
            events.push(ev);
        }
        assert!(deltas.len() > 3, "{provider}: text should arrive in pieces, got {deltas:?}");
        assert_eq!(deltas.concat(), "You said: Hello there, how are you?", "{provider}");
        assert!(
            events
                .iter()
                .any(|e| matches!(e, ChatEvent::Usage(u) if u.input_tokens > 0 && u.output_tokens > 0)),
            "{provider}"
        );
        assert_eq!(events.last(), Some(&ChatEvent::Finished(FinishReason::Stop)), "{provider}");
    }
}

#[tokio::test]
async fn tool_calls_are_assembled_and_round_trip() {
    let mock = MockVendors::start().await;
    for (provider, vendor, model) in VENDORS {
        let c = client(&mock, provider, vendor, "sk-test");
        let done = complete(c.as_ref(), request(model, "My budget is 450")).await.unwrap();
        assert_eq!(done.finish, Some(FinishReason::ToolCalls), "{provider}");
        assert_eq!(done.tool_calls.len(), 1, "{provider}");
        let call = &done.tool_calls[0];
        assert_eq!(call.name, "updateData");
        let args: serde_json::Value = serde_json::from_str(&call.arguments).unwrap();
        assert_eq!(args, serde_json::json!({"field": "budget", "value": "450"}), "{provider}");
        assert!(!call.id.is_empty());

        // Answer the tool call: the model then speaks again.
        let mut req = request(model, "My budget is 450");
        req.messages
            .push(ChatMessage::Assistant { content: done.text.clone(), tool_calls: done.tool_calls.clone() });
        req.messages.push(ChatMessage::Tool {
            call_id: call.id.clone(),
            name: call.name.clone(),
            content: "saved".into(),
            is_error: false,
        });
        let next = complete(c.as_ref(), req).await.unwrap();
        assert_eq!(next.text, "Got it.", "{provider}");
        assert_eq!(next.finish, Some(FinishReason::Stop));
    }
}

#[tokio::test]
async fn requests_follow_each_vendors_wire_format() {
    let mock = MockVendors::start().await;
    for (provider, vendor, model) in VENDORS {
        complete(client(&mock, provider, vendor, "sk-test").as_ref(), request(model, "hi")).await.unwrap();
    }
    let o = &mock.state.requests_for("openai")[0];
    assert_eq!(o.headers["authorization"], "Bearer sk-test");
    assert_eq!(o.body["stream"], true);
    assert_eq!(o.body["max_completion_tokens"], 256);
    assert_eq!(o.body["messages"][0]["role"], "system");
    assert_eq!(o.body["tools"][0]["type"], "function");

    let a = &mock.state.requests_for("anthropic")[0];
    assert_eq!(a.headers["x-api-key"], "sk-test");
    assert_eq!(a.headers["anthropic-version"], "2023-06-01");
    assert_eq!(a.body["system"], "You sell cars.");
    assert_eq!(a.body["max_tokens"], 256);
    assert!(a.body["tools"][0]["input_schema"].is_object());

    let g = &mock.state.requests_for("gemini")[0];
    assert_eq!(g.path, "/models/gemini-2.5-flash:streamGenerateContent");
    assert_eq!(g.headers["x-goog-api-key"], "sk-test");
    assert_eq!(g.body["systemInstruction"]["parts"][0]["text"], "You sell cars.");
    assert_eq!(g.body["generationConfig"]["maxOutputTokens"], 256);
}

#[tokio::test]
async fn http_errors_map_to_typed_errors() {
    let mock = MockVendors::start().await;
    for (provider, vendor, model) in VENDORS {
        let err = |key: &'static str, model: &'static str| {
            let c = client(&mock, provider, vendor, key);
            async move { c.stream(request(model, "hi")).await.err().unwrap() }
        };
        assert!(matches!(err("bad-key", "m").await, ProviderError::Auth(_)), "{provider}");
        match err("rate-limited-long", "m").await {
            ProviderError::RateLimited { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(120)))
            }
            other => panic!("{provider}: {other:?}"),
        }
        assert!(matches!(err("down", "m").await, ProviderError::Upstream { .. }), "{provider}");
        assert!(
            matches!(err("sk-test", mock_vendors::MISSING_MODEL).await, ProviderError::ModelNotFound(_)),
            "{provider}"
        );
        let _ = model;
    }
}

#[tokio::test]
async fn transient_failures_are_retried_before_streaming() {
    let mock = MockVendors::start().await;
    for (provider, vendor, model) in VENDORS {
        // `flaky` fails the first request with 503; the retry succeeds.
        let done =
            complete(client(&mock, provider, vendor, "flaky").as_ref(), request(model, "hi")).await.unwrap();
        assert_eq!(done.text, "You said: hi", "{provider}");
        assert_eq!(mock.state.requests_for(vendor).len(), 2, "{provider}: one retry");
        // A short Retry-After is waited out, up to the attempt limit, then reported.
        let before = mock.state.requests_for(vendor).len();
        let e =
            client(&mock, provider, vendor, "rate-limited").stream(request(model, "hi")).await.err().unwrap();
        assert!(matches!(e, ProviderError::RateLimited { .. }), "{provider}");
        assert_eq!(mock.state.requests_for(vendor).len() - before, 3, "{provider}: three attempts");
    }
}

#[tokio::test]
async fn broken_streams_are_errors_not_silent_endings() {
    let mock = MockVendors::start().await;
    for (provider, vendor, model) in VENDORS {
        let run = |key: &'static str| {
            let c = client(&mock, provider, vendor, key);
            async move { complete(c.as_ref(), request(model, "one two three four five six")).await }
        };
        assert!(matches!(run("malformed").await, Err(ProviderError::Malformed(_))), "{provider}");
        assert!(matches!(run("truncated").await, Err(ProviderError::Malformed(_))), "{provider}");
        assert!(matches!(run("stall").await, Err(ProviderError::Timeout)), "{provider}");
        assert!(
            matches!(
                run("midstream-error").await,
                Err(ProviderError::Upstream { .. } | ProviderError::RateLimited { .. })
            ),
            "{provider}"
        );
    }
}

#[tokio::test]
async fn dropping_the_stream_closes_the_connection() {
    let mock = MockVendors::start().await;
    for (i, (provider, vendor, model)) in VENDORS.into_iter().enumerate() {
        let c = client(&mock, provider, vendor, "slow");
        let mut stream = c.stream(request(model, "a b c d e f g h")).await.unwrap();
        assert!(matches!(stream.next().await, Some(Ok(_))));
        drop(stream);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while mock.state.disconnects() <= i && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(mock.state.disconnects(), i + 1, "{provider}: the server saw the client leave");
    }
}

#[tokio::test]
async fn missing_keys_and_unknown_providers_are_refused_up_front() {
    let e = chat_model(reqwest::Client::new(), "openai", Endpoint::new("http://127.0.0.1:9", None))
        .err()
        .unwrap();
    assert!(matches!(e, ProviderError::NotConfigured(_)));
    let anth =
        chat_model(reqwest::Client::new(), "anthropic", Endpoint::new("http://127.0.0.1:9", None)).unwrap();
    assert!(matches!(anth.stream(request("m", "hi")).await.err().unwrap(), ProviderError::NotConfigured(_)));
    assert!(
        chat_model(reqwest::Client::new(), "deepgram", Endpoint::new("http://x", Some("k".into()))).is_err()
    );
    assert!(chat_model(reqwest::Client::new(), "nope", Endpoint::new("http://x", Some("k".into()))).is_err());
    // Nothing listens on port 9: a network error, after retries.
    let mut ep = Endpoint::new("http://127.0.0.1:9/v1", Some("k".into()));
    ep.retry.base_delay = Duration::from_millis(1);
    let c = chat_model(reqwest::Client::new(), "openai", ep).unwrap();
    assert!(matches!(c.stream(request("m", "hi")).await.err().unwrap(), ProviderError::Network(_)));
}
