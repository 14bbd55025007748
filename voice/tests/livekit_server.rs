//! The worker against LiveKit's own server (`livekit-server`, built from the
//! Go module proxy by scripts/livekit-build, which exports
//! HANDOO_LIVEKIT_SERVER_BIN). Skipped without it, except with CI=true.
//!
//! A dispatch made through the server's Twirp API reaches our worker as an
//! availability request and an assignment, the job's status we report is
//! what the server records, a full worker is offered nothing, a draining one
//! waits for its calls, and a restarted server gets the worker back while its call
//! carries on.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use support::Calls;
use tokio::sync::broadcast;
use voice::{Worker, WorkerEvent};

async fn until<T>(
    events: &mut broadcast::Receiver<WorkerEvent>,
    what: &str,
    pick: impl FnMut(&WorkerEvent) -> Option<T>,
) -> T {
    support::until(events, 20, what, pick).await
}

async fn eventually(server: &support::LiveKitServer, room: &str, status: &str) {
    for _ in 0..100 {
        if server.job_statuses(room).await.iter().any(|s| s == status) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let v = server.twirp("AgentDispatchService", "ListDispatch", json!({"room": room})).await;
    panic!("{room}: LiveKit lists {:?}, never {status}: {v}", server.job_statuses(room).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatched_call_reaches_the_worker_and_its_status_reaches_livekit() {
    let Some(server) = support::LiveKitServer::start(support::free_port()).await else { return };
    let (calls, mut started) = Calls::new();
    let worker = Arc::new(Worker::new(support::worker_options(&server.url(), 4), Arc::new(calls)));
    let support::Running { mut events, shutdown, run } = support::run_worker(&worker);
    until(&mut events, "registration", |e| matches!(e, WorkerEvent::Registered { .. }).then_some(())).await;

    server.dispatch("call-one", r#"{"call_id":"c-1"}"#).await;
    let (job, end) = support::next_job(&mut started, 20).await;
    assert_eq!(job.job.metadata, r#"{"call_id":"c-1"}"#);
    assert_eq!(job.job.agent_name, support::AGENT);
    assert_eq!(job.job.room.as_ref().unwrap().name, "call-one");
    assert_eq!(job.identity, format!("agent-{}", job.job.id));
    assert!(!job.token.is_empty());
    eventually(&server, "call-one", "JS_RUNNING").await;

    end.send(Ok(())).unwrap();
    let ended = until(&mut events, "the job's end", |e| match e {
        WorkerEvent::JobEnded { job_id, error } => Some((job_id.clone(), error.clone())),
        _ => None,
    })
    .await;
    assert_eq!(ended, (job.job.id.clone(), None));
    server.wait_job_ended(&job.job.id, "JS_SUCCESS", "").await;

    // A job that fails says why.
    server.dispatch("call-two", "{}").await;
    let (failing, end) = support::next_job(&mut started, 20).await;
    end.send(Err("the TTS provider refused the key".into())).unwrap();
    server.wait_job_ended(&failing.job.id, "JS_FAILED", "the TTS provider refused the key").await;

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), run).await.unwrap().unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_worker_is_offered_nothing_and_a_draining_one_ends_only_after_its_calls() {
    let Some(server) = support::LiveKitServer::start(support::free_port()).await else { return };
    let (calls, mut started) = Calls::new();
    let worker = Arc::new(Worker::new(support::worker_options(&server.url(), 1), Arc::new(calls)));
    let support::Running { mut events, shutdown, run } = support::run_worker(&worker);
    until(&mut events, "registration", |e| matches!(e, WorkerEvent::Registered { .. }).then_some(())).await;
    server.dispatch("call-a", "{}").await;
    let (_, end_a) = support::next_job(&mut started, 20).await;

    // Full (one call at most, status WS_FULL): LiveKit offers it nothing more.
    eventually(&server, "call-a", "JS_RUNNING").await;
    server.dispatch("call-b", "{}").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(started.try_recv().is_err(), "a full worker took a call");
    assert!(server.job_statuses("call-b").await.is_empty(), "call-b was assigned");

    shutdown.cancel();
    until(&mut events, "draining", |e| matches!(e, WorkerEvent::Draining { jobs: 1 }).then_some(())).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!run.is_finished(), "the worker left while a call was live");
    end_a.send(Ok(())).unwrap();
    tokio::time::timeout(Duration::from_secs(10), run).await.expect("drained").unwrap().unwrap();
    assert!(started.try_recv().is_err(), "a job started while draining");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_comes_back_after_the_server_restarts_and_its_call_carries_on() {
    let port = support::free_port();
    let Some(mut server) = support::LiveKitServer::start(port).await else { return };
    let (calls, mut started) = Calls::new();
    let worker = Arc::new(Worker::new(support::worker_options(&server.url(), 4), Arc::new(calls)));
    let support::Running { mut events, shutdown, run } = support::run_worker(&worker);
    let first = until(&mut events, "registration", |e| match e {
        WorkerEvent::Registered { worker_id } => Some(worker_id.clone()),
        _ => None,
    })
    .await;
    server.dispatch("call-live", "{}").await;
    let (job, end) = support::next_job(&mut started, 20).await;

    server.stop();
    until(&mut events, "the disconnection", |e| matches!(e, WorkerEvent::Disconnected { .. }).then_some(()))
        .await;
    drop(server);
    let server = support::LiveKitServer::start(port).await.expect("restart");
    let second = until(&mut events, "registration again", |e| match e {
        WorkerEvent::Registered { worker_id } => Some(worker_id.clone()),
        _ => None,
    })
    .await;
    assert_ne!(first, second);
    assert!(!end.is_closed(), "the live call was dropped with the connection");

    // The new server knows nothing of the old job; the worker still takes new ones.
    end.send(Ok(())).unwrap();
    let ended = until(&mut events, "the job's end", |e| match e {
        WorkerEvent::JobEnded { job_id, error } => Some((job_id.clone(), error.clone())),
        _ => None,
    })
    .await;
    assert_eq!(ended, (job.job.id, None));
    server.dispatch("call-next", "{}").await;
    let (next, end) = support::next_job(&mut started, 20).await;
    assert_eq!(next.job.room.unwrap().name, "call-next");
    end.send(Ok(())).unwrap();
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), run).await.unwrap().unwrap().unwrap();
}
