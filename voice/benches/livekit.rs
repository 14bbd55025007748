//! The voice pipeline through LiveKit's own server on loopback, to compare
//! with benches/pipeline.rs (the same conversation over an in-memory
//! transport). Our worker registers with `livekit-server`, each call is a
//! real dispatch, the agent joins through `liblivekit_ffi.so`, and the caller
//! is another participant through the same library (Opus, WebRTC, the SFU
//! both ways). Mock providers answer at once; the VAD is the real Silero.
//!
//! Printed per phase (calls at once):
//! - the agent's own overhead per reply, as the WebSocket figures count it
//!   (end of speech → first frame sent, minus the configured silence and
//!   the providers' waits);
//! - at the caller's ear: end of its speech → the agent's first audible
//!   audio, and that minus the silence and the providers' waits (our
//!   overhead plus LiveKit's media path in and out);
//! - barge-in at the caller's ear: its first voiced sample sent → the
//!   agent's audio silent where it listens (both media legs and VAD onset
//!   included), beside the agent's own figure.
//!
//! `cargo bench -p voice --bench livekit` (after `source scripts/setup.sh`,
//! `scripts/livekit-build` and `scripts/venv`); skipped, saying why, without
//! livekit-server or the library. BENCH_LK_CALLS=1,5 (the default) sets the
//! phases; both ends of every call are in this process, so on 2 cores the
//! callers' own media competes with the agent's.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::room::{self, Agent, Phone, Project};
use voice::call::{CallConfig, Speaker};
use voice::simulate::{espeak, voiced_span, CallRecord};
use voice::{Worker, WorkerEvent};

const SILENCE_MS: u64 = 300;
const TURNS: usize = 3;

fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn config() -> CallConfig {
    CallConfig {
        // About three seconds of speech: the caller cuts in half a second into it.
        first_message: "Hello, this is Handoo calling about your delivery fleet. We help companies like yours cut fuel costs, \
                        and I would love to tell you how."
            .into(),
        tools: Vec::new(),
        end_of_turn_silence_ms: SILENCE_MS,
        silence_reprompt_ms: 60_000,
        silence_hang_up_ms: 120_000,
        ..support::call_config()
    }
}

/// What one call measured at the caller's ear.
#[derive(Default)]
struct Ear {
    room: String,
    /// End of each caller line → the agent's first audible audio after it (ms).
    replies: Vec<f64>,
    /// First voiced sample of the cut-in line → the agent silent (ms).
    barge_in: Option<f64>,
}

async fn agent_turns(record: &Arc<CallRecord>, at_least: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while record.turns().iter().filter(|t| t.speaker == Speaker::Agent).count() < at_least {
        assert!(Instant::now() < deadline, "a call never got its agent turn {at_least}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One call: dispatched, the first message heard, cut into half a second
/// in, then `TURNS` more lines, each after the agent's reply; then the caller leaves.
async fn one_call(
    project: Arc<Project>,
    client: &'static rtc::FfiClient,
    records: room::Records,
    line: Arc<Vec<i16>>,
    voiced: (u64, u64),
    n: usize,
) -> Ear {
    let room = format!("bench-{n}-{}", support::free_port());
    project.dispatch(&room, r#"{"call_id":"bench"}"#).await;
    let t0 = Instant::now();
    let phone: Phone = room::phone(client, &project.url, &project.token(&room, "caller")).await;
    phone.wait_heard(t0, 0.5, Duration::from_secs(60), "the first message").await;
    let record = Agent::record_of(&records, &room, Duration::from_secs(30)).await;
    let mut ear = Ear { room: room.clone(), ..Ear::default() };
    for k in 0..=TURNS {
        phone.say(line.to_vec());
        let sent = loop {
            if let Some(t) = phone.sent.lock().unwrap().get(k).copied() {
                break t;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let onset = sent + Duration::from_millis(voiced.0);
        let end = sent + Duration::from_millis(voiced.1);
        agent_turns(&record, k + 2).await;
        if k == 0 {
            ear.barge_in = phone.quiet_after(onset).map(|q| ms(q.saturating_duration_since(onset)));
        }
        if let Some(heard) = phone.first_loud_after(end) {
            ear.replies.push(ms(heard - end));
        }
    }
    phone.room_task.abort();
    drop(phone);
    project.twirp("RoomService", "DeleteRoom", serde_json::json!({"room": room})).await;
    ear
}

async fn phase(
    n: usize,
    project: &Arc<Project>,
    client: &'static rtc::FfiClient,
    agent: (&room::Records, &room::Reports),
    line: &Arc<Vec<i16>>,
    voiced: (u64, u64),
) {
    let (records, reports) = agent;
    reports.lock().unwrap().clear();
    let mut calls = Vec::new();
    for i in 0..n {
        tokio::time::sleep(Duration::from_millis(1000 / n as u64)).await;
        calls.push(tokio::spawn(one_call(project.clone(), client, records.clone(), line.clone(), voiced, i)));
    }
    let results = futures::future::join_all(calls).await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        println!("{n:>3} calls at once: {failed} did not get through (see the panic above)");
    }
    let ears: Vec<Ear> = results.into_iter().filter_map(Result::ok).collect();
    // The reports arrive as each job ends.
    let waited = Instant::now();
    while reports.lock().unwrap().len() < n - failed && waited.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reports = reports.lock().unwrap().clone();
    let overhead: Vec<f64> =
        reports.iter().flat_map(|(_, r)| r.latencies.iter().map(|l| l.overhead_ms)).collect();
    // Per reply, at the ear, less what is not ours: the configured silence
    // and the providers' waits, as the agent measured them for that reply.
    let mut at_ear = Vec::new();
    let mut ear_ours = Vec::new();
    let mut not_ours = Vec::new();
    for e in &ears {
        let Some((_, r)) = reports.iter().find(|(room, _)| *room == e.room) else { continue };
        for (heard, l) in e.replies.iter().zip(&r.latencies) {
            at_ear.push(*heard);
            not_ours.push(l.first_audio_ms - l.overhead_ms);
            ear_ours.push(heard - (l.first_audio_ms - l.overhead_ms));
        }
    }
    let median_not_ours = pct(&not_ours, 0.5);
    let barge_ear: Vec<f64> = ears.iter().filter_map(|e| e.barge_in).collect();
    let barge_agent: Vec<f64> = reports.iter().flat_map(|(_, r)| r.barge_ins_ms.iter().copied()).collect();
    println!(
        "{n:>3} calls at once through livekit-server: agent overhead p50 {:.1} ms p99 {:.1} ms ({} replies); \
         at the caller's ear, end of speech → agent audible p50 {:.0} ms p99 {:.0} ms, less each reply's silence \
         and providers (p50 {:.0} ms) = ours + LiveKit both ways p50 {:.0} ms p99 {:.0} ms; barge-in at the ear p50 {:.0} ms \
         p99 {:.0} ms ({} cut-ins), the agent's own p50 {:.0} ms p99 {:.0} ms",
        pct(&overhead, 0.5),
        pct(&overhead, 0.99),
        overhead.len(),
        pct(&at_ear, 0.5),
        pct(&at_ear, 0.99),
        median_not_ours,
        pct(&ear_ours, 0.5),
        pct(&ear_ours, 0.99),
        pct(&barge_ear, 0.5),
        pct(&barge_ear, 0.99),
        barge_ear.len(),
        pct(&barge_agent, 0.5),
        pct(&barge_agent, 0.99),
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let (Some(client), Some(vad)) = (room::ffi(), support::vad()) else {
            println!("skipped: the VAD's files or LIVEKIT_FFI_LIB are missing");
            return;
        };
        let Some(server) = support::LiveKitServer::start(support::free_port()).await else {
            println!("skipped: no livekit-server (source scripts/livekit-build)");
            return;
        };
        let mock = mock_vendors::MockVendors::start().await;
        let lines = vec!["Could you tell me more about the offer please".to_string(); 5_000];
        mock.state.script_stt(Some(lines));
        let agent = Agent::new(client, config(), support::mock_providers(&mock.addr.to_string()), vad);
        let (records, reports) = (agent.records.clone(), agent.reports.clone());
        let project = Arc::new(server.project());
        let worker = Arc::new(Worker::new(project.worker_options(100), Arc::new(agent)));
        let support::Running { mut events, shutdown, run } = support::run_worker(&worker);
        support::until(&mut events, 20, "registration", |e| {
            matches!(e, WorkerEvent::Registered { .. }).then_some(())
        })
        .await;
        let line = Arc::new(espeak("Could you tell me more about the offer please?", "en", 48_000));
        let voiced = voiced_span(&line, 48_000);
        println!(
            "end-of-turn silence: {SILENCE_MS} ms; {TURNS} replies and one barge-in per call; mock providers in process"
        );
        let phases: Vec<usize> = std::env::var("BENCH_LK_CALLS")
            .ok()
            .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
            .unwrap_or_else(|| vec![1, 5]);
        for n in phases {
            phase(n, &project, client, (&records, &reports), &line, voiced).await;
        }
        shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), run).await;
    });
}
