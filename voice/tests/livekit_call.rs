//! The product's path end to end, minus the telephone: LiveKit's own server
//! dispatches a call's job to our worker, which joins the room through
//! `liblivekit_ffi.so` and holds the conversation (Silero VAD, the mock
//! vendors' STT, LLM and TTS); a caller — another participant of the room,
//! through the same library — speaks (espeak-ng) and hears the agent.
//! Needs HANDOO_LIVEKIT_SERVER_BIN and LIVEKIT_FFI_LIB (skipped without
//! them, except with CI=true). The SIP leg is tested with the real bridge
//! and phone in conformance/livekit.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use livekit_api::access_token::{AccessToken, VideoGrants};
use mock_vendors::MockVendors;
use rtc::proto::{room_event, TrackKind};
use rtc::{AudioSource, AudioStream, FfiClient, OwnedHandle, Room, RoomOptions};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use voice::call::{CallReport, EndReason, Speaker};
use voice::conversation::Conversation;
use voice::simulate::CallRecord;
use voice::vad::SileroModel;
use voice::{AssignedJob, JobRunner, Worker, WorkerEvent};

fn ffi() -> Option<&'static FfiClient> {
    match std::env::var("LIVEKIT_FFI_LIB") {
        Ok(path) if std::path::Path::new(&path).exists() => {
            Some(FfiClient::load(&path).expect("liblivekit_ffi.so"))
        }
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("LIVEKIT_FFI_LIB is not set and CI=true (source scripts/venv)")
        }
        _ => {
            eprintln!("SKIPPED: no LIVEKIT_FFI_LIB (source scripts/venv)");
            None
        }
    }
}

/// Each job: join the room, hold the conversation, keep its record.
struct Agent {
    client: &'static FfiClient,
    mock: String,
    vad: Arc<SileroModel>,
    record: Arc<CallRecord>,
    reports: Arc<Mutex<Vec<CallReport>>>,
}

impl JobRunner for Agent {
    fn run(&self, job: AssignedJob, cancel: CancellationToken) -> BoxFuture<'static, Result<(), String>> {
        let (client, vad, record, reports) =
            (self.client, self.vad.clone(), self.record.clone(), self.reports.clone());
        let providers = support::mock_providers(&self.mock);
        Box::pin(async move {
            let media =
                voice::livekit::join(client, &job.url, &job.token, std::time::Duration::from_secs(30))
                    .await
                    .map_err(|e| e.to_string())?;
            let conversation = Conversation::new(support::call_config(), providers, record, vad);
            let report = tokio::select! {
                r = conversation.run(media.session) => r,
                _ = cancel.cancelled() => return Err("terminated".into()),
            };
            let _ = media.task.await;
            reports.lock().unwrap().push(report);
            Ok(())
        })
    }
}

/// The caller's side: publishes speech paced in real time, records what it hears.
struct Phone {
    room_task: tokio::task::JoinHandle<()>,
    heard: Arc<Mutex<Vec<(Instant, f64)>>>,
    say: tokio::sync::mpsc::UnboundedSender<Vec<i16>>,
}

async fn phone(client: &'static FfiClient, url: &str, token: &str) -> Phone {
    let mut room = Room::connect(client, &url.replace("http://", "ws://"), token, RoomOptions::default())
        .await
        .expect("the caller joins");
    let source = AudioSource::new(client, 48_000, 1, 200).unwrap();
    let _publication = room.publish_audio(&source, "microphone").await.expect("the caller publishes");
    let heard = Arc::new(Mutex::new(Vec::new()));
    let (say, mut lines) = tokio::sync::mpsc::unbounded_channel::<Vec<i16>>();
    // Speech and silence, 20 ms at a time, paced by the source's queue.
    tokio::spawn(async move {
        let _keep = _publication;
        let frame = 960;
        let mut current: std::collections::VecDeque<i16> = Default::default();
        let started = Instant::now();
        let mut sent = 0u64;
        loop {
            if current.is_empty() {
                if let Ok(l) = lines.try_recv() {
                    current.extend(l);
                }
            }
            let mut out: Vec<i16> = current.drain(..frame.min(current.len())).collect();
            out.resize(frame, 0);
            if source.capture(&out).await.is_err() {
                return;
            }
            sent += 20;
            // Never run ahead of real time by more than the queue.
            let ahead = sent as i64 - started.elapsed().as_millis() as i64;
            if ahead > 100 {
                tokio::time::sleep(Duration::from_millis(ahead as u64 - 100)).await;
            }
        }
    });
    let h = heard.clone();
    let room_task = tokio::spawn(async move {
        while let Some(event) = room.next_event().await {
            if let room_event::Message::TrackSubscribed(sub) = event {
                let track = sub.track;
                if track.info.kind() != TrackKind::KindAudio {
                    drop(OwnedHandle::new(&track.handle));
                    continue;
                }
                let mut stream = AudioStream::open(client, track, 16_000, 1).unwrap();
                let h = h.clone();
                tokio::spawn(async move {
                    while let Some(frame) = stream.next().await {
                        h.lock().unwrap().push((Instant::now(), voice::audio::rms(&frame.data)));
                    }
                });
            }
        }
    });
    Phone { room_task, heard, say }
}

impl Phone {
    /// Seconds of loud audio heard since `since`.
    fn loud_seconds(&self, since: Instant) -> f64 {
        self.heard.lock().unwrap().iter().filter(|(t, rms)| *t >= since && *rms > 500.0).count() as f64 * 0.01
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatched_call_is_answered_heard_and_answered_again_through_livekit() {
    let Some(client) = ffi() else { return };
    let Some(vad) = support::vad() else { return };
    let Some(server) = support::LiveKitServer::start(support::free_port()).await else { return };
    let mock = MockVendors::start().await;
    *mock.state.stt_script.lock().unwrap() = Some(["My budget is 450 euros.".to_string()].into());
    let record = Arc::new(CallRecord::default());
    let reports = Arc::new(Mutex::new(Vec::new()));
    let agent =
        Agent { client, mock: mock.addr.to_string(), vad, record: record.clone(), reports: reports.clone() };
    let worker = Arc::new(Worker::new(support::worker_options(&server.url(), 4), Arc::new(agent)));
    let support::Running { mut events, shutdown, run } = support::run_worker(&worker);
    support::until(&mut events, 20, "registration", |e| {
        matches!(e, WorkerEvent::Registered { .. }).then_some(())
    })
    .await;

    let room = "call-through-livekit";
    server.dispatch(room, r#"{"call_id":"c-lk"}"#).await;
    let token = AccessToken::with_api_key(support::LK_KEY, support::LK_SECRET)
        .with_identity("caller")
        .with_grants(VideoGrants { room_join: true, room: room.into(), ..Default::default() })
        .to_jwt()
        .unwrap();
    let t0 = Instant::now();
    let phone = phone(client, &server.url(), &token).await;

    // The agent's first message reaches the caller's ear.
    let deadline = Instant::now() + Duration::from_secs(30);
    while phone.loud_seconds(t0) < 0.3 {
        assert!(Instant::now() < deadline, "the caller never heard the agent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let e = record.clone();
    support::wait_for("the first message said", 20, move || !e.turns().is_empty()).await;

    // The caller answers; the agent hears it through LiveKit and answers back.
    let t1 = Instant::now();
    phone
        .say
        .send(voice::simulate::espeak("My budget is four hundred and fifty euros.", "en", 48_000))
        .unwrap();
    let e = record.clone();
    support::wait_for("the agent's answer", 30, move || e.turns().len() >= 3).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while phone.loud_seconds(t1) < 0.05 {
        assert!(Instant::now() < deadline, "the caller never heard the answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let turns = record.turns();
    assert_eq!((turns[1].speaker, turns[1].text.as_str()), (Speaker::Prospect, "My budget is 450 euros."));
    assert_eq!(record.data.lock().unwrap()[0], ("budget".to_string(), json!("450 euros")));

    // The caller leaves: the call ends, the job with it.
    phone.room_task.abort();
    drop(phone);
    server.twirp("RoomService", "DeleteRoom", json!({"room": room})).await;
    let ended = support::until(&mut events, 30, "the job's end", |e| match e {
        WorkerEvent::JobEnded { error, .. } => Some(error.clone()),
        _ => None,
    })
    .await;
    assert_eq!(ended, None);
    let report = reports.lock().unwrap().pop().expect("a report");
    assert_eq!(report.end, EndReason::Caller);
    assert!(report.latencies.len() == 1, "{:?}", report.latencies);
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), run).await.unwrap().unwrap().unwrap();
}
