#![recursion_limit = "512"]
//! Time to first token in the playground: what our stack adds between the
//! browser's request and the first token on the wire, compared with asking
//! the (local, mock) LLM directly. Prints p50 / p95 of both and of the
//! difference. Run: `cargo bench -p server --bench playground_ttft`
//! (or `scripts/bench`). Env: `TTFT_RUNS` (default 200).

mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use mock_vendors::MockVendors;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";

async fn first_token(resp: reqwest::Response, needle: &str) -> Duration {
    let started = Instant::now();
    let mut body = resp.bytes_stream();
    let mut seen = String::new();
    while let Some(chunk) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk.expect("body chunk")));
        if seen.contains(needle) {
            return started.elapsed();
        }
    }
    panic!("stream ended without {needle}: {seen}");
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let (p50, p95) = (pct(&v, 0.5), pct(&v, 0.95));
    println!("  {name:<34} p50 {p50:7.3} ms   p95 {p95:7.3} ms   (n={})", v.len());
    (p50, p95)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = std::env::var("TTFT_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let mock = MockVendors::start().await;
    let dir = std::env::temp_dir().join(format!("handoo-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}/bench.db", dir.display());
    let base_url = mock.base_url("openai");
    let vars = [
        ("DATABASE_URL", db),
        ("OPENAI_API_KEY", "sk-bench".to_string()),
        ("OPENAI_BASE_URL", base_url.clone()),
    ];
    let (base, _) = support::serve(&vars).await;
    let (http, csrf) = support::session(&base, std::time::Duration::from_secs(24 * 3600)).await;
    let org = support::owner_org(&http, &base, &csrf, PASSWORD).await;
    let call = |name: &str, form: Vec<(&str, String)>| {
        http.post(format!("{base}/api/{name}"))
            .header("x-csrf-token", &csrf)
            .header("accept", "application/json")
            .form(&form)
            .send()
    };
    let settings = json!({
        "name": "Bench", "description": "", "kind": "chat",
        "system_prompt": "You are a helpful sales agent for {{prospect.company}}.", "first_message": "",
        "language": "en", "llm": {"provider": "openai", "model": "gpt-4.1-mini", "temperature": 0.2, "max_tokens": 200},
        "stt": null, "tts": null, "interruption": "medium", "max_call_seconds": 600, "voicemail": {"action": "hang_up"},
        "transfer_number": null, "tools": ["addNote", "endCall"], "data_schema": {"fields": []}
    });
    let agent: Value = http
        .post(format!("{base}/api/create_agent"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"org_id": org, "folder_id": null, "settings": settings}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let agent_id = agent["id"].as_str().expect("agent created").to_string();

    let direct_body = json!({"model": "gpt-4.1-mini", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "system", "content": "You are a helpful sales agent."}, {"role": "user", "content": "Hello there"}]});
    let mut direct = Vec::with_capacity(runs);
    let mut stack = Vec::with_capacity(runs);
    let mut conv = String::new();
    // The first 10 rounds warm up connections, caches and SQLite pages.
    for i in 0..runs + 10 {
        // A fresh conversation every 20 turns keeps prompts a realistic size.
        if i % 20 == 0 {
            let c: Value =
                call("start_conversation", vec![("org_id", org.clone()), ("agent_id", agent_id.clone())])
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
            conv = c["id"].as_str().unwrap().to_string();
        }
        let t0 = Instant::now();
        let resp = http
            .post(format!("{base_url}/chat/completions"))
            .bearer_auth("sk-bench")
            .json(&direct_body)
            .send()
            .await
            .unwrap();
        let d = t0.elapsed() + first_token(resp, "\"content\":\"You").await;
        let t0 = Instant::now();
        let resp = http
            .post(format!("{base}/api/v1/orgs/{org}/conversations/{conv}/messages"))
            .header("x-csrf-token", &csrf)
            .json(&json!({"text": "Hello there"}))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        let s = t0.elapsed() + first_token(resp, "\"type\":\"token\"").await;
        if i >= 10 {
            direct.push(d.as_secs_f64() * 1000.0);
            stack.push(s.as_secs_f64() * 1000.0);
        }
        // Let the turn finish saving before the next one starts.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!("time to first token, loopback, mock LLM without artificial delay:");
    let (d50, _) = report("LLM directly", direct.clone());
    let (s50, _) = report("through Handoo (HTTP → SSE token)", stack.clone());
    let overhead: Vec<f64> = stack.iter().zip(&direct).map(|(s, d)| s - d).collect();
    let (o50, o95) = report("overhead (paired difference)", overhead);
    println!("  p50 overhead {o50:.3} ms (p95 {o95:.3} ms; {s50:.3} − {d50:.3} at p50) — target < 5 ms");
    std::fs::remove_dir_all(&dir).ok();
}
