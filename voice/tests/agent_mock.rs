//! The worker against the mock of LiveKit's agent endpoint (mock-vendors'
//! `/agent`, proven faithful by the official Python `livekit-agents` worker
//! in conformance/test_livekit_agent_mock.py): registration, status reports
//! and pings, availability, assignment, job statuses, a server-side
//! termination, a dropped socket, draining, a refused token. Always runs;
//! tests/livekit_server.rs repeats the main paths against the real server.

mod support;

use std::sync::Arc;
use std::time::Duration;

use mock_vendors::livekit::API_SECRET;
use mock_vendors::livekit_agent::{JobView, WorkerView};
use mock_vendors::MockVendors;
use support::{Calls, Started};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use voice::{Worker, WorkerEvent, WorkerOptions};

const AGENT: &str = "handoo-voice";

struct Harness {
    mock: MockVendors,
    events: broadcast::Receiver<WorkerEvent>,
    started: mpsc::UnboundedReceiver<Started>,
    shutdown: CancellationToken,
    run: tokio::task::JoinHandle<Result<(), voice::worker::WorkerError>>,
}

async fn start(max_jobs: usize, secret: &str, backoff: Duration) -> Harness {
    let mock = MockVendors::start().await;
    let mut o = WorkerOptions::new(&mock.base_url("livekit"), "APIworker", secret, AGENT);
    o.max_jobs = max_jobs;
    o.status_interval = Duration::from_millis(100);
    o.backoff = backoff;
    o.max_backoff = backoff;
    let (calls, started) = Calls::new();
    let worker = Arc::new(Worker::new(o, Arc::new(calls)));
    let support::Running { events, shutdown, run } = support::run_worker(&worker);
    Harness { mock, events, started, shutdown, run }
}

impl Harness {
    async fn until<T>(&mut self, what: &str, pick: impl FnMut(&WorkerEvent) -> Option<T>) -> T {
        support::until(&mut self.events, 10, what, pick).await
    }

    async fn registered(&mut self) -> String {
        self.until("registration", |e| match e {
            WorkerEvent::Registered { worker_id } => Some(worker_id.clone()),
            _ => None,
        })
        .await
    }

    fn dispatch(&self, room: &str, metadata: &str) -> String {
        mock_vendors::livekit_agent::dispatch(&self.mock.state, "AD_test", room, AGENT, metadata)
    }

    async fn next_job(&mut self) -> Started {
        support::next_job(&mut self.started, 10).await
    }

    fn job(&self, id: &str) -> JobView {
        self.mock.state.agents.jobs().into_iter().find(|j| j.id == id).expect("the mock's job")
    }

    fn workers(&self) -> Vec<WorkerView> {
        self.mock.state.agents.workers()
    }

    /// Waits until the mock holds what `check` wants.
    async fn eventually(&self, what: &str, check: impl Fn(&Self) -> bool) {
        for _ in 0..200 {
            if check(self) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("never {what}: jobs {:?}, workers {:?}", self.mock.state.agents.jobs(), self.workers());
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.run).await.expect("stopped").unwrap().unwrap();
    }
}

#[tokio::test]
async fn the_worker_registers_reports_its_load_and_pings() {
    let mut h = start(4, API_SECRET, Duration::from_millis(50)).await;
    let id = h.registered().await;
    h.eventually("a status and two pings", |h| {
        h.workers().iter().any(|w| w.id == id && w.status == "available" && w.pings >= 2)
    })
    .await;
    let w = &h.workers()[0];
    assert_eq!((w.agent_name.as_str(), w.job_count, w.draining), (AGENT, 0, false));
    assert_eq!(w.version, env!("CARGO_PKG_VERSION"));
    h.stop().await;
}

#[tokio::test]
async fn a_dispatched_job_is_taken_run_and_reported() {
    let mut h = start(4, API_SECRET, Duration::from_millis(50)).await;
    let worker_id = h.registered().await;
    let job_id = h.dispatch("call-1", r#"{"call_id":"c-1"}"#);
    let (job, end) = h.next_job().await;
    assert_eq!(job.job.id, job_id);
    assert_eq!(job.job.metadata, r#"{"call_id":"c-1"}"#);
    assert_eq!(job.job.room.as_ref().unwrap().name, "call-1");
    assert_eq!(job.identity, format!("agent-{job_id}"));
    // The room token is the server's, for the identity the worker asked for.
    let claims = livekit_api::access_token::TokenVerifier::with_api_key("APIworker", API_SECRET)
        .verify(&job.token)
        .expect("a room token signed by the server");
    assert_eq!((claims.sub.as_str(), claims.video.room.as_str()), (job.identity.as_str(), "call-1"));
    assert_eq!(job.url, h.mock.base_url("livekit"), "no URL in the assignment: the server's own");
    h.eventually("JS_RUNNING", |h| h.job(&job_id).status == "JS_RUNNING").await;
    assert_eq!(h.job(&job_id).worker_id.as_deref(), Some(worker_id.as_str()));
    h.eventually("one job counted", |h| h.workers()[0].job_count == 1).await;

    end.send(Ok(())).unwrap();
    h.eventually("JS_SUCCESS", |h| h.job(&job_id).status == "JS_SUCCESS").await;
    h.eventually("no job counted", |h| h.workers()[0].job_count == 0).await;

    let failing = h.dispatch("call-2", "{}");
    let (_, end) = h.next_job().await;
    end.send(Err("the TTS provider refused the key".into())).unwrap();
    h.eventually("JS_FAILED", |h| h.job(&failing).status == "JS_FAILED").await;
    assert_eq!(h.job(&failing).error, "the TTS provider refused the key");
    h.stop().await;
}

#[tokio::test]
async fn a_job_the_server_terminates_is_cancelled_and_reported_failed() {
    let mut h = start(4, API_SECRET, Duration::from_millis(50)).await;
    h.registered().await;
    let job_id = h.dispatch("call-t", "{}");
    let (_job, _end) = h.next_job().await;
    h.eventually("JS_RUNNING", |h| h.job(&job_id).status == "JS_RUNNING").await;
    assert!(h.mock.state.agents.terminate(&job_id));
    h.eventually("JS_FAILED", |h| h.job(&job_id).status == "JS_FAILED").await;
    assert_eq!(h.job(&job_id).error, "terminated by the server");
    h.stop().await;
}

#[tokio::test]
async fn a_full_worker_declines_and_says_it_is_full() {
    let mut h = start(1, API_SECRET, Duration::from_millis(50)).await;
    let worker_id = h.registered().await;
    let first = h.dispatch("call-a", "{}");
    let (_, end) = h.next_job().await;
    h.eventually("full", |h| h.workers()[0].status == "full").await;
    // LiveKit skips a full worker; asked anyway (a race), it says no.
    let skipped = h.dispatch("call-b", "{}");
    h.eventually("the job unassigned", |h| h.job(&skipped).status == "unassigned").await;
    assert!(h.job(&skipped).declined_by.is_empty(), "a full worker is not asked");

    end.send(Ok(())).unwrap();
    h.eventually("available again", |h| {
        h.workers()[0].status == "available" && h.job(&first).status == "JS_SUCCESS"
    })
    .await;
    assert_eq!(h.job(&first).worker_id.as_deref(), Some(worker_id.as_str()));
    h.stop().await;
}

#[tokio::test]
async fn a_dropped_socket_is_reconnected_and_the_live_call_reported_after() {
    // A long backoff: the call ends while the worker is away.
    let mut h = start(4, API_SECRET, Duration::from_millis(600)).await;
    let first = h.registered().await;
    let job_id = h.dispatch("call-live", "{}");
    let (_, end) = h.next_job().await;
    h.eventually("JS_RUNNING", |h| h.job(&job_id).status == "JS_RUNNING").await;

    assert_eq!(h.mock.state.agents.drop_all(), 1);
    h.until("the disconnection", |e| matches!(e, WorkerEvent::Disconnected { .. }).then_some(())).await;
    end.send(Ok(())).unwrap();
    h.until("the job's end", |e| matches!(e, WorkerEvent::JobEnded { error: None, .. }).then_some(())).await;
    let second = h.registered().await;
    assert_ne!(first, second);
    // The status that could not be sent goes out on the new connection.
    h.eventually("JS_SUCCESS after the reconnection", |h| h.job(&job_id).status == "JS_SUCCESS").await;

    // And the worker takes new calls.
    let next = h.dispatch("call-next", "{}");
    let (job, end) = h.next_job().await;
    assert_eq!(job.job.id, next);
    end.send(Ok(())).unwrap();
    h.stop().await;
}

#[tokio::test]
async fn draining_takes_no_new_call_and_ends_after_the_live_one() {
    let mut h = start(4, API_SECRET, Duration::from_millis(50)).await;
    h.registered().await;
    let live = h.dispatch("call-live", "{}");
    let (_, end) = h.next_job().await;
    h.eventually("JS_RUNNING", |h| h.job(&live).status == "JS_RUNNING").await;

    h.shutdown.cancel();
    h.until("draining", |e| matches!(e, WorkerEvent::Draining { jobs: 1 }).then_some(())).await;
    h.eventually("the mock sees it draining", |h| h.workers()[0].draining && h.workers()[0].status == "full")
        .await;
    let refused = h.dispatch("call-late", "{}");
    h.eventually("the late call unassigned", |h| h.job(&refused).status == "unassigned").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!h.run.is_finished(), "the worker left while a call was live");

    end.send(Ok(())).unwrap();
    tokio::time::timeout(Duration::from_secs(10), &mut h.run).await.expect("drained").unwrap().unwrap();
    h.eventually("the live call reported done", |h| h.job(&live).status == "JS_SUCCESS").await;
    assert!(h.started.try_recv().is_err(), "a job started while draining");
    for _ in 0..100 {
        if h.mock.state.agents.workers().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the drained worker's socket stayed open");
}

#[tokio::test]
async fn a_wrong_secret_is_retried_and_never_registers() {
    let mut h = start(4, "not-the-server-secret-at-all-000000", Duration::from_millis(50)).await;
    let reason = h
        .until("a refusal", |e| match e {
            WorkerEvent::Disconnected { reason } => Some(reason.clone()),
            _ => None,
        })
        .await;
    assert!(reason.contains("401"), "{reason}");
    h.until("a second attempt", |e| matches!(e, WorkerEvent::Disconnected { .. }).then_some(())).await;
    assert!(h.workers().is_empty());
    // Shutting down while unable to connect returns at once.
    h.stop().await;
}
