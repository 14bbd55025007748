//! LiveKit's agent endpoint (`GET /agent`, a WebSocket of protobuf
//! `WorkerMessage` / `ServerMessage` frames), as the server speaks it to agent
//! workers: a worker connects with an agent-grant token, registers under an
//! agent name, pings and reports its load; a dispatch offers each job to the
//! registered workers of that name (least loaded first, skipping full and
//! draining ones) with an `AvailabilityRequest`, assigns it with a room token
//! for the identity the worker chose, and records the statuses the worker
//! reports. The official Python worker (`livekit-agents`) registers and takes
//! jobs from it (conformance/test_livekit_agent_mock.py), which is what makes
//! it a faithful peer for testing our own worker.
//!
//! Jobs come from the Twirp `CreateDispatch` or from
//! `POST /__control/livekit/agent/dispatch {room, agent_name, metadata}`
//! (answers the job id). `GET /__control/livekit/agent/workers` and
//! `…/jobs` show what the mock holds; `POST …/drop` cuts every worker's
//! socket without a close frame (a network failure); `POST …/terminate
//! {job_id}` ends a job from the server's side.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{SinkExt, StreamExt};
use livekit_api::access_token::{AccessToken, Claims, TokenVerifier, VideoGrants};
use livekit_protocol as proto;
use prost::Message as _;
use proto::{server_message, worker_message};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::livekit::API_SECRET;
use crate::Shared;

/// How long a worker has to answer an availability request.
const AVAILABILITY_TIMEOUT: Duration = Duration::from_secs(5);

/// A registered worker, as the mock sees it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerView {
    pub id: String,
    pub agent_name: String,
    pub version: String,
    /// `available`, `full` or `unknown` (no status reported yet).
    pub status: &'static str,
    pub load: f32,
    pub job_count: u32,
    pub draining: bool,
    pub pings: u32,
}

/// A job, with what the workers said about it.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub id: String,
    pub room: String,
    pub agent_name: String,
    pub metadata: String,
    /// The worker that took it.
    pub worker_id: Option<String>,
    pub participant_identity: String,
    /// `JS_PENDING` until the worker reports (`JS_RUNNING`, `JS_SUCCESS`, `JS_FAILED`);
    /// `unassigned` when no worker took it.
    pub status: String,
    pub error: String,
    /// Workers that said they were not available.
    pub declined_by: Vec<String>,
}

struct Connected {
    view: WorkerView,
    /// What the session task sends to the worker; `None` cuts the socket.
    tx: mpsc::UnboundedSender<Option<server_message::Message>>,
    /// The issuer of the worker's token (its assignments are signed with it).
    api_key: String,
}

/// The agent side of the mock LiveKit.
#[derive(Default)]
pub struct Agents {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    workers: BTreeMap<String, Connected>,
    jobs: Vec<JobView>,
    /// Availability requests waiting for their answer: job id → who waits.
    asking: BTreeMap<String, oneshot::Sender<proto::AvailabilityResponse>>,
    next: u64,
}

impl Inner {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_{:012}", self.next)
    }

    fn job(&mut self, id: &str) -> Option<&mut JobView> {
        self.jobs.iter_mut().find(|j| j.id == id)
    }
}

impl std::fmt::Debug for Agents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.lock().unwrap();
        f.debug_struct("Agents")
            .field("workers", &inner.workers.len())
            .field("jobs", &inner.jobs.len())
            .finish()
    }
}

impl Agents {
    pub fn workers(&self) -> Vec<WorkerView> {
        self.inner.lock().unwrap().workers.values().map(|w| w.view.clone()).collect()
    }

    pub fn jobs(&self) -> Vec<JobView> {
        self.inner.lock().unwrap().jobs.clone()
    }

    /// Cuts every worker's socket, as a network failure would.
    pub fn drop_all(&self) -> usize {
        let inner = self.inner.lock().unwrap();
        for w in inner.workers.values() {
            let _ = w.tx.send(None);
        }
        inner.workers.len()
    }

    /// Ends a job from the server's side; false when no worker holds it.
    pub fn terminate(&self, job_id: &str) -> bool {
        let inner = self.inner.lock().unwrap();
        let Some(worker) = inner.jobs.iter().find(|j| j.id == job_id).and_then(|j| j.worker_id.clone())
        else {
            return false;
        };
        inner.workers.get(&worker).is_some_and(|w| {
            w.tx.send(Some(server_message::Message::Termination(proto::JobTermination {
                job_id: job_id.to_string(),
            })))
            .is_ok()
        })
    }
}

/// Offers a new job for `room` to the workers named `agent_name`, in the
/// background as LiveKit does after answering the dispatch; returns its id.
pub fn dispatch(state: &Shared, dispatch_id: &str, room: &str, agent_name: &str, metadata: &str) -> String {
    let job = {
        let mut inner = state.agents.inner.lock().unwrap();
        let id = inner.id("AJ");
        let room_sid = inner.id("RM");
        inner.jobs.push(JobView {
            id: id.clone(),
            room: room.to_string(),
            agent_name: agent_name.to_string(),
            metadata: metadata.to_string(),
            worker_id: None,
            participant_identity: String::new(),
            status: "JS_PENDING".into(),
            error: String::new(),
            declined_by: Vec::new(),
        });
        proto::Job {
            id,
            dispatch_id: dispatch_id.to_string(),
            r#type: proto::JobType::JtRoom as i32,
            room: Some(proto::Room { sid: room_sid, name: room.to_string(), ..Default::default() }),
            agent_name: agent_name.to_string(),
            metadata: metadata.to_string(),
            state: Some(proto::JobState { status: proto::JobStatus::JsPending as i32, ..Default::default() }),
            ..Default::default()
        }
    };
    let id = job.id.clone();
    tokio::spawn(offer(state.clone(), job));
    id
}

/// Asks each fitting worker in turn until one takes the job.
async fn offer(state: Shared, job: proto::Job) {
    let candidates: Vec<(String, f32)> = {
        let inner = state.agents.inner.lock().unwrap();
        let mut c: Vec<_> = inner
            .workers
            .values()
            .filter(|w| w.view.agent_name == job.agent_name && !w.view.draining && w.view.status != "full")
            .map(|w| (w.view.id.clone(), w.view.load))
            .collect();
        c.sort_by(|a, b| a.1.total_cmp(&b.1));
        c
    };
    for (worker_id, _) in candidates {
        let (answer_tx, answer_rx) = oneshot::channel();
        {
            let mut inner = state.agents.inner.lock().unwrap();
            let Some(w) = inner.workers.get(&worker_id) else { continue };
            let request = proto::AvailabilityRequest { job: Some(job.clone()), resuming: false };
            if w.tx.send(Some(server_message::Message::Availability(request))).is_err() {
                continue;
            }
            inner.asking.insert(job.id.clone(), answer_tx);
        }
        let answer = tokio::time::timeout(AVAILABILITY_TIMEOUT, answer_rx).await;
        let mut inner = state.agents.inner.lock().unwrap();
        inner.asking.remove(&job.id);
        match answer {
            Ok(Ok(a)) if a.available => {
                let Some(w) = inner.workers.get(&worker_id) else { continue };
                let identity = if a.participant_identity.is_empty() {
                    format!("agent-{}", job.id)
                } else {
                    a.participant_identity.clone()
                };
                let token = AccessToken::with_api_key(&w.api_key, API_SECRET)
                    .with_identity(&identity)
                    .with_name(&a.participant_name)
                    .with_kind("agent")
                    .with_grants(VideoGrants {
                        room_join: true,
                        room: job.room.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
                        can_publish: Some(true),
                        can_subscribe: Some(true),
                        can_publish_data: Some(true),
                        can_update_own_metadata: Some(true),
                        agent: true,
                        ..Default::default()
                    })
                    .to_jwt()
                    .unwrap_or_default();
                let assignment = proto::JobAssignment { job: Some(job.clone()), url: None, token };
                if w.tx.send(Some(server_message::Message::Assignment(assignment))).is_err() {
                    continue;
                }
                if let Some(j) = inner.job(&job.id) {
                    j.worker_id = Some(worker_id);
                    j.participant_identity = identity;
                }
                return;
            }
            _ => {
                if let Some(j) = inner.job(&job.id) {
                    j.declined_by.push(worker_id);
                }
            }
        }
    }
    if let Some(j) = state.agents.inner.lock().unwrap().job(&job.id) {
        j.status = "unassigned".into();
    }
}

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/agent", get(agent_socket))
        .route("/__control/livekit/agent/dispatch", post(control_dispatch))
        .route(
            "/__control/livekit/agent/workers",
            get(|State(s): State<Shared>| async move { Json(s.agents.workers()) }),
        )
        .route(
            "/__control/livekit/agent/jobs",
            get(|State(s): State<Shared>| async move { Json(s.agents.jobs()) }),
        )
        .route(
            "/__control/livekit/agent/drop",
            post(|State(s): State<Shared>| async move { Json(json!({ "dropped": s.agents.drop_all() })) }),
        )
        .route("/__control/livekit/agent/terminate", post(control_terminate))
}

#[derive(Deserialize)]
struct DispatchBody {
    room: String,
    agent_name: String,
    #[serde(default)]
    metadata: String,
}

async fn control_dispatch(
    State(state): State<Shared>,
    Json(b): Json<DispatchBody>,
) -> Json<serde_json::Value> {
    let id = dispatch(&state, "", &b.room, &b.agent_name, &b.metadata);
    Json(json!({ "job_id": id }))
}

#[derive(Deserialize)]
struct TerminateBody {
    job_id: String,
}

async fn control_terminate(State(state): State<Shared>, Json(b): Json<TerminateBody>) -> StatusCode {
    if state.agents.terminate(&b.job_id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

/// The worker's token: `Authorization: Bearer` (what LiveKit's frameworks
/// send) or `access_token` in the query; it must carry the agent grant.
async fn agent_socket(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or(q.get("access_token").map(String::as_str))
        .unwrap_or("")
        .to_string();
    let issuer = Claims::from_unverified(&token).map(|c| c.iss).unwrap_or_default();
    let claims = match TokenVerifier::with_api_key(&issuer, API_SECRET).verify(&token) {
        Ok(c) => c,
        Err(_) => return (StatusCode::UNAUTHORIZED, "invalid token").into_response(),
    };
    if !claims.video.agent {
        return (StatusCode::FORBIDDEN, "the token has no agent grant").into_response();
    }
    upgrade.on_upgrade(move |socket| session(state, socket, issuer))
}

fn encode(m: server_message::Message) -> Message {
    Message::Binary(proto::ServerMessage { message: Some(m) }.encode_to_vec().into())
}

async fn next(socket: &mut WebSocket) -> Option<worker_message::Message> {
    loop {
        match socket.next().await? {
            Ok(Message::Binary(b)) => {
                if let Some(m) = proto::WorkerMessage::decode(b.as_ref()).ok().and_then(|m| m.message) {
                    return Some(m);
                }
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

async fn session(state: Shared, mut socket: WebSocket, api_key: String) {
    // The first message must be the registration.
    let register = match tokio::time::timeout(Duration::from_secs(10), next(&mut socket)).await {
        Ok(Some(worker_message::Message::Register(r))) => r,
        _ => {
            let _ = socket.close().await;
            return;
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let worker_id = {
        let mut inner = state.agents.inner.lock().unwrap();
        let id = inner.id("AW");
        inner.workers.insert(
            id.clone(),
            Connected {
                view: WorkerView {
                    id: id.clone(),
                    agent_name: register.agent_name.clone(),
                    version: register.version.clone(),
                    status: "unknown",
                    load: 0.0,
                    job_count: 0,
                    draining: false,
                    pings: 0,
                },
                tx,
                api_key,
            },
        );
        id
    };
    let answer = proto::RegisterWorkerResponse {
        worker_id: worker_id.clone(),
        server_info: Some(proto::ServerInfo {
            edition: proto::server_info::Edition::Standard as i32,
            version: "1.13.5".into(),
            protocol: 16,
            region: "mock".into(),
            node_id: "ND_mock".into(),
            agent_protocol: 1,
            ..Default::default()
        }),
        ..Default::default()
    };
    let (mut sink, mut stream) = socket.split();
    if sink.send(encode(server_message::Message::Register(answer))).await.is_ok() {
        loop {
            tokio::select! {
                out = rx.recv() => match out {
                    Some(Some(m)) => if sink.send(encode(m)).await.is_err() { break },
                    // Cut: no close frame, the socket just goes.
                    Some(None) | None => break,
                },
                incoming = stream.next() => {
                    let m = match incoming {
                        Some(Ok(Message::Binary(b))) => match proto::WorkerMessage::decode(b.as_ref()) {
                            Ok(proto::WorkerMessage { message: Some(m) }) => m,
                            _ => continue,
                        },
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                        Some(Ok(_)) => continue,
                    };
                    if let Some(reply) = handle(&state, &worker_id, m) {
                        if sink.send(encode(reply)).await.is_err() { break }
                    }
                }
            }
        }
    }
    state.agents.inner.lock().unwrap().workers.remove(&worker_id);
}

/// Applies one worker message; some ask for an answer.
fn handle(state: &Shared, worker_id: &str, m: worker_message::Message) -> Option<server_message::Message> {
    let mut inner = state.agents.inner.lock().unwrap();
    match m {
        worker_message::Message::Ping(p) => {
            if let Some(w) = inner.workers.get_mut(worker_id) {
                w.view.pings += 1;
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            return Some(server_message::Message::Pong(proto::WorkerPong {
                last_timestamp: p.timestamp,
                timestamp: now,
            }));
        }
        worker_message::Message::UpdateWorker(u) => {
            if let Some(w) = inner.workers.get_mut(worker_id) {
                w.view.status = match u.status.and_then(|s| proto::WorkerStatus::try_from(s).ok()) {
                    Some(proto::WorkerStatus::WsFull) => "full",
                    Some(proto::WorkerStatus::WsAvailable) => "available",
                    None => w.view.status,
                };
                w.view.load = u.load;
                w.view.job_count = u.job_count;
                w.view.draining = u.draining;
            }
        }
        worker_message::Message::Availability(a) => {
            if let Some(waiting) = inner.asking.remove(&a.job_id) {
                let _ = waiting.send(a);
            }
        }
        worker_message::Message::UpdateJob(u) => {
            let name = proto::JobStatus::try_from(u.status).map(|s| s.as_str_name()).unwrap_or("JS_UNKNOWN");
            // A worker that reconnected reports for the jobs it took before
            // (under its old id): any worker of the job's agent may.
            let agent = inner.workers.get(worker_id).map(|w| w.view.agent_name.clone()).unwrap_or_default();
            if let Some(j) = inner.job(&u.job_id).filter(|j| j.worker_id.is_some() && j.agent_name == agent) {
                j.status = name.to_string();
                j.error = u.error;
            }
        }
        // A second registration, job migration and simulated jobs are not
        // part of what the mock stands in for.
        _ => {}
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_nobody_holds_cannot_be_terminated() {
        let agents = Agents::default();
        assert!(!agents.terminate("AJ_nope"));
        assert_eq!(agents.drop_all(), 0);
    }
}
