//! A LiveKit agent worker: the protocol LiveKit's own agent framework speaks
//! to the server's `/agent` WebSocket (protobuf `WorkerMessage` /
//! `ServerMessage` frames), written after `livekit-agents`' `worker.py`.
//!
//! One [`Worker::run`] keeps one registration alive: it connects with an
//! agent-grant token, registers under the agent name calls dispatch to,
//! answers availability requests (taking a job while it has room and is not
//! draining), starts each assigned job with its room token and reports it
//! running, then succeeded or failed. When the socket drops it reconnects
//! with backoff while the jobs already running carry on (their statuses are
//! sent once it is back). On shutdown it drains: tells the server it is
//! full, takes nothing new, lets the live calls finish, then returns.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_protocol as proto;
use prost::Message as _;
use proto::{server_message, worker_message};
use tokio::sync::{broadcast, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// How the worker reaches LiveKit and what it offers.
#[derive(Clone)]
pub struct WorkerOptions {
    /// The server's URL (`http(s)://` or `ws(s)://`); `/agent` is added.
    pub url: String,
    pub api_key: String,
    pub api_secret: String,
    /// The name dispatches ask for (Handoo dispatches `handoo-voice`).
    pub agent_name: String,
    /// Jobs held at once; past it the worker says it is full.
    pub max_jobs: usize,
    /// How often the worker pings and reports its load.
    pub status_interval: Duration,
    /// First wait before reconnecting; doubled per failure up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// How long an accepted job may wait for its assignment.
    pub assignment_timeout: Duration,
    /// For a tenant's project: the socket only goes to addresses this
    /// policy permits (the operator's own project: `None`, reached as configured).
    pub egress: Option<providers::EgressPolicy>,
}

impl WorkerOptions {
    pub fn new(url: &str, api_key: &str, api_secret: &str, agent_name: &str) -> Self {
        Self {
            url: url.to_string(),
            api_key: api_key.to_string(),
            api_secret: api_secret.to_string(),
            agent_name: agent_name.to_string(),
            max_jobs: 100,
            status_interval: Duration::from_secs(5),
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            assignment_timeout: Duration::from_secs(10),
            egress: None,
        }
    }
}

impl std::fmt::Debug for WorkerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerOptions")
            .field("url", &self.url)
            .field("api_key", &self.api_key)
            .field("agent_name", &self.agent_name)
            .field("max_jobs", &self.max_jobs)
            .finish_non_exhaustive()
    }
}

/// A job the server gave this worker: the room to join, with what.
#[derive(Debug, Clone)]
pub struct AssignedJob {
    pub job: proto::Job,
    /// Where to join (the server's URL unless the assignment names another).
    pub url: String,
    /// The room token for the agent's participant.
    pub token: String,
    /// The identity the worker asked for (`agent-{job id}`, as LiveKit's framework does).
    pub identity: String,
}

/// Runs one job until the call is over. `cancel` fires when the server
/// terminates the job; an `Err` is reported to the server as the failure.
pub trait JobRunner: Send + Sync + 'static {
    fn run(&self, job: AssignedJob, cancel: CancellationToken) -> BoxFuture<'static, Result<(), String>>;
}

/// What happened, for logs, metrics and tests.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerEvent {
    Registered {
        worker_id: String,
    },
    Disconnected {
        reason: String,
    },
    JobStarted {
        job_id: String,
        room: String,
    },
    JobEnded {
        job_id: String,
        error: Option<String>,
    },
    /// An availability request answered "no" (full or draining).
    Declined {
        job_id: String,
    },
    Draining {
        jobs: usize,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("invalid LiveKit URL {0:?}")]
    Url(String),
    #[error("cannot sign the worker's token: {0}")]
    Token(String),
}

enum Outcome {
    /// The socket went away; reconnect.
    Dropped(String),
    /// Draining finished: every job has ended.
    Drained,
}

struct Running {
    cancel: CancellationToken,
}

/// A registered (or registering) worker.
pub struct Worker {
    options: WorkerOptions,
    runner: Arc<dyn JobRunner>,
    events: broadcast::Sender<WorkerEvent>,
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Worker {
    pub fn new(options: WorkerOptions, runner: Arc<dyn JobRunner>) -> Self {
        let (events, _) = broadcast::channel(256);
        Self { options, runner, events }
    }

    /// Everything the worker does from now on.
    pub fn events(&self) -> broadcast::Receiver<WorkerEvent> {
        self.events.subscribe()
    }

    /// The `/agent` endpoint for a server URL.
    pub fn agent_url(url: &str) -> Result<String, WorkerError> {
        let url = url.trim().trim_end_matches('/');
        let rest = if let Some(r) = url.strip_prefix("https://") {
            format!("wss://{r}")
        } else if let Some(r) = url.strip_prefix("http://") {
            format!("ws://{r}")
        } else if url.starts_with("wss://") || url.starts_with("ws://") {
            url.to_string()
        } else {
            return Err(WorkerError::Url(url.to_string()));
        };
        if rest.split("://").nth(1).is_none_or(|h| h.is_empty()) {
            return Err(WorkerError::Url(url.to_string()));
        }
        Ok(format!("{rest}/agent"))
    }

    fn token(&self) -> Result<String, WorkerError> {
        AccessToken::with_api_key(&self.options.api_key, &self.options.api_secret)
            .with_grants(VideoGrants { agent: true, ..Default::default() })
            .to_jwt()
            .map_err(|e| WorkerError::Token(e.to_string()))
    }

    fn emit(&self, e: WorkerEvent) {
        let _ = self.events.send(e);
    }

    /// Runs until `shutdown` fires and every job has ended. Connection
    /// failures are retried, never returned.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<(), WorkerError> {
        let endpoint = Self::agent_url(&self.options.url)?;
        let mut jobs: HashMap<String, Running> = HashMap::new();
        // Job statuses not yet told to the server (sent on the next connection).
        let mut unsent: Vec<proto::UpdateJobStatus> = Vec::new();
        // Jobs accepted and waiting for their assignment: id → (identity, since).
        let mut pending: HashMap<String, (String, tokio::time::Instant)> = HashMap::new();
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(String, Option<String>)>();
        let mut backoff = self.options.backoff;
        loop {
            if shutdown.is_cancelled() && jobs.is_empty() {
                return Ok(());
            }
            let token = self.token()?;
            let connected = tokio::select! {
                c = connect(&endpoint, &token, self.options.egress.as_ref()) => c,
                // Draining while disconnected: nothing to tell the server,
                // only the jobs to wait for.
                _ = shutdown.cancelled(), if !jobs.is_empty() => {
                    self.emit(WorkerEvent::Draining { jobs: jobs.len() });
                    while !jobs.is_empty() {
                        let Some((id, error)) = done_rx.recv().await else { break };
                        jobs.remove(&id);
                        self.emit(WorkerEvent::JobEnded { job_id: id, error });
                    }
                    return Ok(());
                }
                _ = shutdown.cancelled(), if jobs.is_empty() => return Ok(()),
            };
            let mut ws = match connected {
                Ok(ws) => ws,
                Err(reason) => {
                    tracing::warn!(%reason, "cannot reach LiveKit's agent endpoint; retrying in {backoff:?}");
                    self.emit(WorkerEvent::Disconnected { reason });
                    self.wait_backoff(&mut backoff, &shutdown, &mut jobs, &mut done_rx, &mut unsent).await;
                    continue;
                }
            };
            let outcome = match self.register(&mut ws).await {
                Ok(worker_id) => {
                    backoff = self.options.backoff;
                    self.emit(WorkerEvent::Registered { worker_id });
                    let (mut sink, mut incoming) = ws.split();
                    let outcome = self
                        .session(
                            &mut sink,
                            &mut incoming,
                            &shutdown,
                            &mut jobs,
                            &mut pending,
                            &done_tx,
                            &mut done_rx,
                            &mut unsent,
                        )
                        .await;
                    if matches!(outcome, Outcome::Drained) {
                        let _ = sink.close().await;
                    }
                    outcome
                }
                Err(reason) => Outcome::Dropped(reason),
            };
            match outcome {
                Outcome::Drained => return Ok(()),
                Outcome::Dropped(reason) => {
                    tracing::warn!(%reason, jobs = jobs.len(), "agent connection lost; reconnecting");
                    self.emit(WorkerEvent::Disconnected { reason });
                    self.wait_backoff(&mut backoff, &shutdown, &mut jobs, &mut done_rx, &mut unsent).await;
                }
            }
        }
    }

    /// Waits before the next attempt, noting jobs that end meanwhile.
    async fn wait_backoff(
        &self,
        backoff: &mut Duration,
        shutdown: &CancellationToken,
        jobs: &mut HashMap<String, Running>,
        done_rx: &mut mpsc::UnboundedReceiver<(String, Option<String>)>,
        unsent: &mut Vec<proto::UpdateJobStatus>,
    ) {
        let sleep = tokio::time::sleep(*backoff);
        tokio::pin!(sleep);
        *backoff = (*backoff * 2).min(self.options.max_backoff);
        loop {
            tokio::select! {
                _ = &mut sleep => return,
                _ = shutdown.cancelled() => return,
                Some((id, error)) = done_rx.recv() => {
                    jobs.remove(&id);
                    unsent.push(job_status(&id, error.as_deref()));
                    self.emit(WorkerEvent::JobEnded { job_id: id, error });
                }
            }
        }
    }

    async fn register(&self, ws: &mut Socket) -> Result<String, String> {
        let register = proto::RegisterWorkerRequest {
            r#type: proto::JobType::JtRoom as i32,
            agent_name: self.options.agent_name.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            allowed_permissions: Some(proto::ParticipantPermission {
                can_subscribe: true,
                can_publish: true,
                can_publish_data: true,
                can_update_metadata: true,
                ..Default::default()
            }),
            ..Default::default()
        };
        send(ws, worker_message::Message::Register(register)).await?;
        let first = tokio::time::timeout(Duration::from_secs(10), next_message(ws))
            .await
            .map_err(|_| "no answer to the registration within 10 s".to_string())??;
        match first {
            server_message::Message::Register(r) => {
                tracing::info!(worker_id = %r.worker_id, agent = %self.options.agent_name, "registered with LiveKit");
                Ok(r.worker_id)
            }
            other => Err(format!("expected the registration's answer, got {other:?}")),
        }
    }

    #[allow(clippy::too_many_arguments)]
    /// One registered connection, until it drops or draining ends.
    async fn session(
        &self,
        ws: &mut futures::stream::SplitSink<Socket, Message>,
        incoming: &mut futures::stream::SplitStream<Socket>,
        shutdown: &CancellationToken,
        jobs: &mut HashMap<String, Running>,
        pending: &mut HashMap<String, (String, tokio::time::Instant)>,
        done_tx: &mpsc::UnboundedSender<(String, Option<String>)>,
        done_rx: &mut mpsc::UnboundedReceiver<(String, Option<String>)>,
        unsent: &mut Vec<proto::UpdateJobStatus>,
    ) -> Outcome {
        let mut draining = shutdown.is_cancelled();
        for update in unsent.drain(..) {
            if let Err(e) = send(ws, worker_message::Message::UpdateJob(update)).await {
                return Outcome::Dropped(e);
            }
        }
        if let Err(e) = self.send_status(ws, jobs.len(), draining).await {
            return Outcome::Dropped(e);
        }
        if draining && jobs.is_empty() {
            return Outcome::Drained;
        }
        let mut tick = tokio::time::interval(self.options.status_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled(), if !draining => {
                    draining = true;
                    self.emit(WorkerEvent::Draining { jobs: jobs.len() });
                    if let Err(e) = self.send_status(ws, jobs.len(), true).await {
                        return Outcome::Dropped(e);
                    }
                    if jobs.is_empty() {
                        return Outcome::Drained;
                    }
                }
                Some((id, error)) = done_rx.recv() => {
                    jobs.remove(&id);
                    let update = job_status(&id, error.as_deref());
                    self.emit(WorkerEvent::JobEnded { job_id: id, error });
                    if let Err(e) = send(ws, worker_message::Message::UpdateJob(update.clone())).await {
                        unsent.push(update);
                        return Outcome::Dropped(e);
                    }
                    if let Err(e) = self.send_status(ws, jobs.len(), draining).await {
                        return Outcome::Dropped(e);
                    }
                    if draining && jobs.is_empty() {
                        return Outcome::Drained;
                    }
                }
                _ = tick.tick() => {
                    let now = tokio::time::Instant::now();
                    pending.retain(|id, (_, at)| {
                        let waiting = now.duration_since(*at) < self.options.assignment_timeout;
                        if !waiting {
                            tracing::warn!(job = %id, "no assignment came for an accepted job");
                        }
                        waiting
                    });
                    let ping = proto::WorkerPing { timestamp: unix_ms() };
                    if let Err(e) = send(ws, worker_message::Message::Ping(ping)).await {
                        return Outcome::Dropped(e);
                    }
                    if let Err(e) = self.send_status(ws, jobs.len(), draining).await {
                        return Outcome::Dropped(e);
                    }
                }
                msg = next_message(incoming) => {
                    let msg = match msg {
                        Ok(m) => m,
                        Err(e) => return Outcome::Dropped(e),
                    };
                    match msg {
                        server_message::Message::Availability(req) => {
                            let Some(job) = req.job else { continue };
                            let room_for_it = jobs.len() + pending.len() < self.options.max_jobs;
                            let available = room_for_it && !draining;
                            let identity = format!("agent-{}", job.id);
                            let answer = proto::AvailabilityResponse {
                                job_id: job.id.clone(),
                                available,
                                participant_identity: if available { identity.clone() } else { String::new() },
                                participant_name: if available { "Handoo".to_string() } else { String::new() },
                                ..Default::default()
                            };
                            if available {
                                pending.insert(job.id.clone(), (identity, tokio::time::Instant::now()));
                            } else {
                                self.emit(WorkerEvent::Declined { job_id: job.id.clone() });
                            }
                            if let Err(e) = send(ws, worker_message::Message::Availability(answer)).await {
                                return Outcome::Dropped(e);
                            }
                        }
                        server_message::Message::Assignment(a) => {
                            let Some(job) = a.job else { continue };
                            let Some((identity, _)) = pending.remove(&job.id) else {
                                tracing::warn!(job = %job.id, "assignment for a job this worker did not accept");
                                continue;
                            };
                            if jobs.contains_key(&job.id) {
                                continue;
                            }
                            let assigned = AssignedJob {
                                url: a.url.filter(|u| !u.is_empty()).unwrap_or_else(|| self.options.url.clone()),
                                token: a.token,
                                identity,
                                job: job.clone(),
                            };
                            let cancel = CancellationToken::new();
                            jobs.insert(job.id.clone(), Running { cancel: cancel.clone() });
                            let room = job.room.as_ref().map(|r| r.name.clone()).unwrap_or_default();
                            self.emit(WorkerEvent::JobStarted { job_id: job.id.clone(), room });
                            let run = self.runner.run(assigned, cancel);
                            let done = done_tx.clone();
                            let id = job.id.clone();
                            tokio::spawn(async move {
                                // A panicking job is a failed job, not a lost worker.
                                let result = tokio::spawn(run).await.unwrap_or_else(|e| Err(format!("the job panicked: {e}")));
                                let _ = done.send((id, result.err()));
                            });
                            let running = proto::UpdateJobStatus {
                                job_id: job.id.clone(),
                                status: proto::JobStatus::JsRunning as i32,
                                error: String::new(),
                            };
                            if let Err(e) = send(ws, worker_message::Message::UpdateJob(running)).await {
                                return Outcome::Dropped(e);
                            }
                            if let Err(e) = self.send_status(ws, jobs.len(), draining).await {
                                return Outcome::Dropped(e);
                            }
                        }
                        server_message::Message::Termination(t) => {
                            if let Some(job) = jobs.get(&t.job_id) {
                                tracing::info!(job = %t.job_id, "the server ended the job");
                                job.cancel.cancel();
                            }
                        }
                        server_message::Message::Pong(_) | server_message::Message::Register(_) => {}
                        server_message::Message::GoAway(_) => {
                            return Outcome::Dropped("the server asked the worker to go away".into());
                        }
                    }
                }
            }
        }
    }

    async fn send_status<S>(&self, ws: &mut S, jobs: usize, draining: bool) -> Result<(), String>
    where
        S: futures::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
    {
        let load = jobs as f32 / self.options.max_jobs.max(1) as f32;
        let full = draining || jobs >= self.options.max_jobs;
        let status = if full { proto::WorkerStatus::WsFull } else { proto::WorkerStatus::WsAvailable };
        let update = proto::UpdateWorkerStatus {
            status: Some(status as i32),
            load: load.min(1.0),
            job_count: jobs as u32,
            draining,
            ..Default::default()
        };
        send(ws, worker_message::Message::UpdateWorker(update)).await
    }
}

fn job_status(id: &str, error: Option<&str>) -> proto::UpdateJobStatus {
    proto::UpdateJobStatus {
        job_id: id.to_string(),
        status: if error.is_some() { proto::JobStatus::JsFailed } else { proto::JobStatus::JsSuccess } as i32,
        error: error.unwrap_or_default().to_string(),
    }
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn connect(
    endpoint: &str,
    token: &str,
    egress: Option<&providers::EgressPolicy>,
) -> Result<Socket, String> {
    let bearer = format!("Bearer {token}");
    providers::ws::connect(endpoint, &[("Authorization", &bearer)], Duration::from_secs(10), egress)
        .await
        .map_err(|e| e.to_string())
}

async fn send<S>(ws: &mut S, message: worker_message::Message) -> Result<(), String>
where
    S: futures::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
{
    let bytes = proto::WorkerMessage { message: Some(message) }.encode_to_vec();
    ws.send(Message::Binary(bytes.into())).await.map_err(|e| e.to_string())
}

/// The next server message; pings and empty frames are skipped.
async fn next_message<S>(ws: &mut S) -> Result<server_message::Message, String>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match ws.next().await {
            None => return Err("the server closed the connection".into()),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(Message::Binary(b))) => {
                let m = proto::ServerMessage::decode(b.as_ref())
                    .map_err(|e| format!("undecodable message: {e}"))?;
                if let Some(m) = m.message {
                    return Ok(m);
                }
            }
            Some(Ok(Message::Close(f))) => {
                return Err(format!(
                    "the server closed the connection: {}",
                    f.map(|f| f.reason.to_string()).unwrap_or_default()
                ))
            }
            Some(Ok(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_endpoint_is_the_server_url_as_a_websocket() {
        assert_eq!(Worker::agent_url("http://127.0.0.1:7880").unwrap(), "ws://127.0.0.1:7880/agent");
        assert_eq!(Worker::agent_url("https://x.livekit.cloud/").unwrap(), "wss://x.livekit.cloud/agent");
        assert_eq!(Worker::agent_url("wss://x.livekit.cloud").unwrap(), "wss://x.livekit.cloud/agent");
        assert!(Worker::agent_url("ftp://x").is_err());
        assert!(Worker::agent_url("http://").is_err());
        assert!(Worker::agent_url("").is_err());
    }

    #[test]
    fn a_failed_job_is_reported_with_its_reason() {
        let ok = job_status("J1", None);
        assert_eq!((ok.status, ok.error.as_str()), (proto::JobStatus::JsSuccess as i32, ""));
        let failed = job_status("J2", Some("tts down"));
        assert_eq!((failed.status, failed.error.as_str()), (proto::JobStatus::JsFailed as i32, "tts down"));
    }

    #[test]
    fn the_secret_stays_out_of_debug_output() {
        let o = WorkerOptions::new("http://h", "APIkey", "do-not-print-me", "handoo-voice");
        assert!(!format!("{o:?}").contains("do-not-print-me"));
    }
}
