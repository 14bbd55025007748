//! The product's path end to end, minus the telephone: LiveKit's own server
//! dispatches a call's job to our worker, which joins the room through
//! `liblivekit_ffi.so` and holds the conversation (Silero VAD, the mock
//! vendors' STT, LLM and TTS); a caller — another participant of the room,
//! through the same library — speaks (espeak-ng) and hears the agent.
//! Needs HANDOO_LIVEKIT_SERVER_BIN and LIVEKIT_FFI_LIB (skipped without
//! them, except with CI=true). The SIP leg is tested with the real bridge
//! and phone in conformance/livekit.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mock_vendors::MockVendors;
use serde_json::json;
use support::room::{self, Agent, Project};
use voice::call::{EndReason, Speaker};
use voice::{Worker, WorkerEvent};

/// One call through `project`: our worker registers, a dispatch reaches it,
/// it joins the room; the caller hears the first message, answers, hears
/// the agent's reply to what it heard, and leaves; the job ends cleanly.
async fn a_call_through(
    project: &Project,
    client: &'static rtc::FfiClient,
    vad: Arc<voice::vad::SileroModel>,
) {
    let mock = MockVendors::start().await;
    *mock.state.stt_script.lock().unwrap() = Some(["My budget is 450 euros.".to_string()].into());
    let agent =
        Agent::new(client, support::call_config(), support::mock_providers(&mock.addr.to_string()), vad);
    let (records, reports) = (agent.records.clone(), agent.reports.clone());
    let worker = Arc::new(Worker::new(project.worker_options(4), Arc::new(agent)));
    let support::Running { mut events, shutdown, run } = support::run_worker(&worker);
    support::until(&mut events, 20, "registration", |e| {
        matches!(e, WorkerEvent::Registered { .. }).then_some(())
    })
    .await;

    let room = format!("call-through-livekit-{}", support::free_port());
    project.dispatch(&room, r#"{"call_id":"c-lk"}"#).await;
    let t0 = Instant::now();
    let phone = room::phone(client, &project.url, &project.token(&room, "caller")).await;

    // The agent's first message reaches the caller's ear.
    phone.wait_heard(t0, 0.3, Duration::from_secs(30), "the first message").await;
    let record = Agent::record_of(&records, &room, Duration::from_secs(20)).await;
    let e = record.clone();
    support::wait_for("the first message said", 20, move || !e.turns().is_empty()).await;

    // The caller answers; the agent hears it through LiveKit and answers back.
    let t1 = Instant::now();
    phone.say(voice::simulate::espeak("My budget is four hundred and fifty euros.", "en", 48_000));
    let e = record.clone();
    support::wait_for("the agent's answer", 30, move || e.turns().len() >= 3).await;
    phone.wait_heard(t1, 0.05, Duration::from_secs(10), "the answer").await;
    let turns = record.turns();
    assert_eq!((turns[1].speaker, turns[1].text.as_str()), (Speaker::Prospect, "My budget is 450 euros."));
    assert_eq!(record.data.lock().unwrap()[0], ("budget".to_string(), json!("450 euros")));

    // The caller leaves and the room goes: the call ends, the job with it.
    phone.room_task.abort();
    drop(phone);
    project.twirp("RoomService", "DeleteRoom", json!({"room": room})).await;
    let ended = support::until(&mut events, 30, "the job's end", |e| match e {
        WorkerEvent::JobEnded { error, .. } => Some(error.clone()),
        _ => None,
    })
    .await;
    assert_eq!(ended, None);
    let (_, report) = reports.lock().unwrap().pop().expect("a report");
    assert_eq!(report.end, EndReason::Caller);
    assert!(report.latencies.len() == 1, "{:?}", report.latencies);
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), run).await.unwrap().unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatched_call_is_answered_heard_and_answered_again_through_livekit() {
    let Some(client) = room::ffi() else { return };
    let Some(vad) = support::vad() else { return };
    let Some(server) = support::LiveKitServer::start(support::free_port()).await else { return };
    a_call_through(&server.project(), client, vad).await;
}

/// Opt-in: the same call through a real LiveKit project (LiveKit Cloud or
/// your own deployment) when `LIVEKIT_URL`, `LIVEKIT_API_KEY` and
/// `LIVEKIT_API_SECRET` are set — the worker registers under a name of its
/// own, so the project's real calls are not touched. Skipped otherwise, CI
/// included (this machine reaches no LiveKit project of its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_a_real_livekit_project_holds_a_call() {
    let Some(project) = Project::from_env() else {
        eprintln!("SKIPPED: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET to run this against a real project");
        return;
    };
    let Some(client) = room::ffi() else { return };
    let Some(vad) = support::vad() else { return };
    a_call_through(&project, client, vad).await;
}
