//! Durable background jobs: one runner for the whole product (CSV imports
//! today; the dialer, post-call analysis, usage reporting and outbound
//! webhooks later).
//!
//! A job is a row in `jobs`: kind, payload, organisation, when it may run,
//! attempts, last error, progress, and a *lease* — which runner holds it and
//! until when. A runner claims the oldest due job of a kind it handles
//! (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so runners on many nodes never
//! claim the same row; SQLite: inside a write transaction, one claimer at a
//! time), renews the lease while the job runs (heartbeat), and records the
//! outcome only if it still holds the lease. A runner that dies stops
//! renewing; when its lease expires another runner takes the job over (one
//! more attempt). Failures are retried with exponential backoff up to the
//! job's maximum, then the job fails for good and its handler is told.
//!
//! Time comes from a [`Clock`](crate::clock::Clock), so tests move it.
//!
//! Why not a crate: the well-kept queues (apalis, fang, sqlxmq, graphile
//! ports) each bind to one database or to their own schema and executor;
//! none runs on sea-orm over both SQLite and PostgreSQL, and the part that
//! matters — the claim — is one statement here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, Statement, Value as DbValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::{ServiceError, ServiceResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        [JobState::Queued, JobState::Running, JobState::Succeeded, JobState::Failed]
            .into_iter()
            .find(|j| j.as_str() == s)
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub org_id: Option<Uuid>,
    pub payload: Value,
    /// Not before (now when `None`).
    pub run_at: Option<DateTime<Utc>>,
    pub max_attempts: i32,
    /// At most one job per key: enqueueing again returns the existing job.
    pub dedupe_key: Option<String>,
}

impl NewJob {
    pub fn new(kind: &'static str, org_id: Option<Uuid>, payload: Value) -> NewJob {
        NewJob { kind, org_id, payload, run_at: None, max_attempts: 5, dedupe_key: None }
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    pub id: Uuid,
    pub kind: String,
    pub org_id: Option<Uuid>,
    pub state: JobState,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub progress: Option<Value>,
    pub run_at: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Adds a job; with a `dedupe_key` already used, returns that job's id.
pub async fn enqueue<C: ConnectionTrait>(db: &C, clock: &SharedClock, job: NewJob) -> ServiceResult<Uuid> {
    let now = clock.now();
    let id = Uuid::now_v7();
    let backend = db.get_database_backend();
    let sql =
        "INSERT INTO jobs (id, kind, org_id, payload, state, run_at, attempts, max_attempts, dedupe_key, \
               created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', $5, 0, $6, $7, $8, $8) \
               ON CONFLICT (dedupe_key) DO NOTHING";
    let res = db
        .execute(stmt(
            backend,
            sql,
            [
                id.into(),
                job.kind.into(),
                job.org_id.into(),
                job.payload.into(),
                job.run_at.unwrap_or(now).into(),
                job.max_attempts.max(1).into(),
                job.dedupe_key.clone().into(),
                now.into(),
            ],
        ))
        .await?;
    if res.rows_affected() == 1 {
        return Ok(id);
    }
    let existing = db
        .query_one(stmt(backend, "SELECT id FROM jobs WHERE dedupe_key = $1", [job.dedupe_key.into()]))
        .await?
        .ok_or_else(ServiceError::internal)?;
    Ok(existing.try_get::<Uuid>("", "id")?)
}

pub async fn get<C: ConnectionTrait>(db: &C, id: Uuid) -> ServiceResult<Option<JobInfo>> {
    let backend = db.get_database_backend();
    let row = db
        .query_one(stmt(backend, &format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"), [id.into()]))
        .await?;
    row.map(|r| info(&r)).transpose()
}

/// Jobs waiting or running, per kind, and the age of the oldest due one
/// (for `/metrics`).
pub async fn queue_depth<C: ConnectionTrait>(
    db: &C,
    clock: &SharedClock,
) -> ServiceResult<Vec<(String, String, i64, Option<f64>)>> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all(stmt(
            backend,
            "SELECT kind, state, COUNT(*) AS n, MIN(run_at) AS oldest FROM jobs \
                 WHERE state IN ('queued', 'running') GROUP BY kind, state",
            [],
        ))
        .await?;
    let now = clock.now();
    rows.iter()
        .map(|r| {
            let oldest: Option<DateTime<Utc>> = r.try_get("", "oldest").ok();
            Ok((
                r.try_get::<String>("", "kind")?,
                r.try_get::<String>("", "state")?,
                r.try_get::<i64>("", "n")?,
                oldest.map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0),
            ))
        })
        .collect()
}

/// Why a run did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobFailure {
    /// Worth another attempt (after backoff), while attempts remain.
    Retry(String),
    /// Another attempt would fail the same way: fail now.
    Fatal(String),
}

impl From<ServiceError> for JobFailure {
    fn from(e: ServiceError) -> Self {
        // Bad input stays bad; anything else (database, network) may pass.
        if e.code == domain::ErrorCode::Internal || e.code.is_upstream() {
            JobFailure::Retry(e.to_string())
        } else {
            JobFailure::Fatal(e.to_string())
        }
    }
}

/// What a handler gets: the job, and a way to report progress while it
/// still holds the lease.
pub struct RunningJob {
    pub id: Uuid,
    pub kind: String,
    pub org_id: Option<Uuid>,
    pub payload: Value,
    /// 1 for the first run, 2 for the first retry or takeover…
    pub attempt: i32,
    pub max_attempts: i32,
    db: DatabaseConnection,
    owner: Arc<str>,
}

impl RunningJob {
    /// Stores progress (any JSON) so that any node can report it. Returns
    /// false when this runner no longer holds the job.
    pub async fn progress(&self, progress: &Value) -> ServiceResult<bool> {
        let backend = self.db.get_database_backend();
        let res = self
            .db
            .execute(stmt(
                backend,
                "UPDATE jobs SET progress = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
                [progress.clone().into(), self.id.into(), self.owner.to_string().into()],
            ))
            .await?;
        Ok(res.rows_affected() == 1)
    }

    /// The database the job works on.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Is this the last attempt the job gets?
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }
}

#[async_trait::async_trait]
pub trait Handler: Send + Sync {
    async fn run(&self, job: &RunningJob) -> Result<(), JobFailure>;

    /// The job failed for good (attempts spent, a fatal failure, or its last
    /// runner died on its last attempt): leave the domain state consistent
    /// (e.g. mark an import failed). `job` carries no lease by then.
    async fn gave_up(&self, _db: &DatabaseConnection, _job: &JobInfo, _payload: &Value) {}
}

#[derive(Debug, Clone, Copy)]
pub struct RunnerConfig {
    /// How long a claim lasts without a heartbeat.
    pub lease: StdDuration,
    /// How often an idle runner looks for due jobs.
    pub poll: StdDuration,
    /// Jobs run at once by this runner.
    pub concurrency: usize,
    /// First retry delay; doubled per attempt, capped at an hour.
    pub backoff: StdDuration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            lease: StdDuration::from_secs(30),
            poll: StdDuration::from_millis(500),
            concurrency: 2,
            backoff: StdDuration::from_secs(5),
        }
    }
}

/// Claims and runs jobs of the kinds it has handlers for.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<RunnerInner>,
}

/// Jobs of one kind with a concurrency limit of their own.
struct Lane {
    kind: &'static str,
    concurrency: usize,
    running: AtomicUsize,
}

struct RunnerInner {
    db: DatabaseConnection,
    clock: SharedClock,
    owner: Arc<str>,
    handlers: HashMap<&'static str, Arc<dyn Handler>>,
    config: RunnerConfig,
    /// Kinds that run beside the rest with their own limit (see
    /// [`Runner::with_lane`]); everything else shares `config.concurrency`.
    lanes: Vec<Lane>,
    /// The shared lane's running jobs.
    running: AtomicUsize,
    wake: Notify,
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Runner {
    pub fn new(
        db: DatabaseConnection,
        clock: SharedClock,
        config: RunnerConfig,
        handlers: HashMap<&'static str, Arc<dyn Handler>>,
    ) -> Runner {
        let owner: Arc<str> = format!("{}:{}", hostname(), Uuid::now_v7().simple()).into();
        Runner {
            inner: Arc::new(RunnerInner {
                db,
                clock,
                owner,
                handlers,
                config,
                lanes: Vec::new(),
                running: AtomicUsize::new(0),
                wake: Notify::new(),
                stopping: tokio::sync::watch::channel(false).0,
            }),
        }
    }

    /// This runner's name in `jobs.lease_owner`.
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    /// Looks for work now instead of at the next poll (after an enqueue).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Runs jobs of `kind` in a lane of their own, up to `concurrency` at
    /// once, beside the shared lane. For jobs that mostly wait on someone
    /// else — a dial holds its job for the whole ring — so that they
    /// neither queue behind imports nor starve them. Call before
    /// [`Runner::start`] (and before the runner is cloned).
    pub fn with_lane(mut self, kind: &'static str, concurrency: usize) -> Runner {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.lanes.push(Lane { kind, concurrency, running: AtomicUsize::new(0) }),
            None => tracing::warn!(kind, "a lane added to a runner already shared is ignored"),
        }
        self
    }

    /// The lane `kind` runs in: its own, or the shared one (`None`).
    fn lane(&self, kind: &str) -> Option<&Lane> {
        self.inner.lanes.iter().find(|l| l.kind == kind)
    }

    fn counter(&self, kind: &str) -> &AtomicUsize {
        self.lane(kind).map_or(&self.inner.running, |l| &l.running)
    }

    fn running_total(&self) -> usize {
        self.inner.running.load(Ordering::SeqCst)
            + self.inner.lanes.iter().map(|l| l.running.load(Ordering::SeqCst)).sum::<usize>()
    }

    /// The kinds the shared lane claims.
    fn shared_kinds(&self) -> Vec<&'static str> {
        self.inner.handlers.keys().copied().filter(|k| self.lane(k).is_none()).collect()
    }

    /// Runs until [`Runner::stop`]: claims due jobs while below its
    /// concurrency, each on its own task with a heartbeat.
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move { this.run_loop().await })
    }

    /// Takes no new job; returns when the running ones are done or `grace`
    /// has passed (their leases then expire and another runner takes over).
    pub async fn stop(&self, grace: StdDuration) {
        self.inner.stopping.send_replace(true);
        self.inner.wake.notify_waiters();
        let deadline = tokio::time::Instant::now() + grace;
        while self.running_total() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    }

    async fn run_loop(&self) {
        let mut stopping = self.inner.stopping.subscribe();
        loop {
            if *stopping.borrow() {
                return;
            }
            let mut has_room = false;
            let mut claimed_any = false;
            let lanes: Vec<(Vec<&'static str>, &AtomicUsize, usize)> =
                std::iter::once((self.shared_kinds(), &self.inner.running, self.inner.config.concurrency))
                    .chain(self.inner.lanes.iter().map(|l| (vec![l.kind], &l.running, l.concurrency)))
                    .collect();
            for (kinds, running, limit) in lanes {
                if kinds.is_empty() {
                    continue;
                }
                while running.load(Ordering::SeqCst) < limit {
                    match self.claim(&kinds).await {
                        Ok(Some(job)) => {
                            claimed_any = true;
                            self.spawn(job);
                        }
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "job claim failed; retrying at the next poll");
                            break;
                        }
                    }
                }
                has_room |= running.load(Ordering::SeqCst) < limit;
            }
            if let Err(e) = self.give_up_exhausted().await {
                tracing::warn!(error = %e, "sweeping exhausted jobs failed");
            }
            if claimed_any && has_room {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.inner.config.poll) => {}
                _ = self.inner.wake.notified() => {}
                _ = stopping.changed() => {}
            }
        }
    }

    /// Claims and runs at most one due job, in this task (tests).
    pub async fn run_one(&self) -> ServiceResult<Option<Uuid>> {
        let kinds: Vec<&'static str> = self.inner.handlers.keys().copied().collect();
        let Some(job) = self.claim(&kinds).await? else { return Ok(None) };
        let id = job.id;
        self.counter(&job.kind).fetch_add(1, Ordering::SeqCst);
        self.execute(job).await;
        Ok(Some(id))
    }

    fn spawn(&self, job: RunningJob) {
        self.counter(&job.kind).fetch_add(1, Ordering::SeqCst);
        let this = self.clone();
        tokio::spawn(async move { this.execute(job).await });
    }

    /// Runs `job` with a heartbeat; a lost lease stops the handler.
    async fn execute(&self, job: RunningJob) {
        let inner = &self.inner;
        let Some(handler) = inner.handlers.get(job.kind.as_str()).cloned() else {
            self.counter(&job.kind).fetch_sub(1, Ordering::SeqCst);
            return;
        };
        let outcome = {
            let run = handler.run(&job);
            let heartbeat = self.heartbeat(job.id);
            tokio::pin!(run, heartbeat);
            tokio::select! {
                out = &mut run => Some(out),
                () = &mut heartbeat => None,
            }
        };
        match outcome {
            None => tracing::warn!(job = %job.id, kind = %job.kind, "lease lost: the job was stopped here"),
            Some(Ok(())) => {
                if let Err(e) = self.finish(&job, JobState::Succeeded, None, None).await {
                    tracing::error!(job = %job.id, error = %e, "could not record a succeeded job");
                }
            }
            Some(Err(failure)) => {
                let (retry, msg) = match failure {
                    JobFailure::Retry(m) => (!job.is_last_attempt(), m),
                    JobFailure::Fatal(m) => (false, m),
                };
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempt, retry, error = %msg, "job failed");
                let next = retry.then(|| inner.clock.now() + backoff(inner.config.backoff, job.attempt));
                let state = if retry { JobState::Queued } else { JobState::Failed };
                match self.finish(&job, state, Some(&msg), next).await {
                    Ok(true) if !retry => {
                        if let Ok(Some(info)) = get(&inner.db, job.id).await {
                            handler.gave_up(&inner.db, &info, &job.payload).await;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(job = %job.id, error = %e, "could not record a failed job"),
                }
            }
        }
        self.counter(&job.kind).fetch_sub(1, Ordering::SeqCst);
    }

    /// Renews the job's lease every third of its length; returns when the
    /// lease is lost. Polled beside the job, never instead of it: a renewal
    /// on SQLite waits for the write lock, which a long import holds for
    /// minutes, and awaiting it in place of the job paused the import for
    /// the whole busy timeout at every beat (a third of a million-row
    /// import's time).
    async fn heartbeat(&self, id: Uuid) {
        let mut tick = tokio::time::interval(self.inner.config.lease / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            match self.renew(id).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => tracing::warn!(job = %id, error = %e, "lease renewal failed"),
            }
        }
    }

    /// Claims the next due job of one of `kinds`.
    async fn claim(&self, kinds: &[&'static str]) -> ServiceResult<Option<RunningJob>> {
        let inner = &self.inner;
        if kinds.is_empty() {
            return Ok(None);
        }
        let now = inner.clock.now();
        let expires = now + Duration::from_std(inner.config.lease).unwrap_or(Duration::seconds(30));
        let db = &inner.db;
        let backend = db.get_database_backend();
        let placeholders: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 4)).collect();
        let lock = if backend == DbBackend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let text = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = $2, heartbeat_at = $3, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs WHERE kind IN ({}) AND attempts < max_attempts AND \
             ((state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_expires_at < $3)) \
             ORDER BY run_at, id LIMIT 1{lock}) \
             RETURNING id, kind, org_id, payload, attempts, max_attempts",
            placeholders.join(", ")
        );
        let mut values: Vec<DbValue> = vec![inner.owner.to_string().into(), expires.into(), now.into()];
        values.extend(kinds.iter().map(|k| (*k).into()));
        let claim = stmt(backend, &text, values);
        // SQLite: one claimer at a time (the write lock); PostgreSQL: SKIP LOCKED.
        let txn = crate::db::begin_write(db).await?;
        let row = txn.query_one(claim).await?;
        txn.commit().await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(RunningJob {
            id: row.try_get("", "id")?,
            kind: row.try_get("", "kind")?,
            org_id: row.try_get("", "org_id")?,
            payload: row.try_get("", "payload")?,
            attempt: row.try_get("", "attempts")?,
            max_attempts: row.try_get("", "max_attempts")?,
            db: db.clone(),
            owner: inner.owner.clone(),
        }))
    }

    async fn renew(&self, id: Uuid) -> ServiceResult<bool> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let expires = now + Duration::from_std(inner.config.lease).unwrap_or(Duration::seconds(30));
        let backend = inner.db.get_database_backend();
        let res = inner
            .db
            .execute(stmt(
                backend,
                "UPDATE jobs SET lease_expires_at = $1, heartbeat_at = $2 \
                     WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
                [expires.into(), now.into(), id.into(), inner.owner.to_string().into()],
            ))
            .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Records the outcome if this runner still holds the job.
    async fn finish(
        &self,
        job: &RunningJob,
        state: JobState,
        error: Option<&str>,
        run_at: Option<DateTime<Utc>>,
    ) -> ServiceResult<bool> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let done = matches!(state, JobState::Succeeded | JobState::Failed);
        let backend = inner.db.get_database_backend();
        let res = inner
            .db
            .execute(stmt(
                backend,
                "UPDATE jobs SET state = $1, last_error = COALESCE($2, last_error), \
                     run_at = COALESCE($3, run_at), lease_owner = NULL, lease_expires_at = NULL, \
                     finished_at = $4, updated_at = $5 \
                     WHERE id = $6 AND lease_owner = $7 AND state = 'running'",
                [
                    state.as_str().into(),
                    error.map(str::to_string).into(),
                    run_at.into(),
                    done.then_some(now).into(),
                    now.into(),
                    job.id.into(),
                    inner.owner.to_string().into(),
                ],
            ))
            .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Jobs whose runner died on their last attempt: failed for good, and
    /// their handler told.
    async fn give_up_exhausted(&self) -> ServiceResult<()> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let backend = inner.db.get_database_backend();
        let kinds: Vec<&str> = inner.handlers.keys().copied().collect();
        if kinds.is_empty() {
            return Ok(());
        }
        let placeholders: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 2)).collect();
        let text = format!(
            "UPDATE jobs SET state = 'failed', last_error = COALESCE(last_error, 'lease expired'), \
             lease_owner = NULL, lease_expires_at = NULL, finished_at = $1, updated_at = $1 \
             WHERE kind IN ({}) AND state = 'running' AND attempts >= max_attempts AND lease_expires_at < $1 \
             RETURNING id, payload",
            placeholders.join(", ")
        );
        let mut values: Vec<DbValue> = vec![now.into()];
        values.extend(kinds.iter().map(|k| (*k).into()));
        let rows = inner.db.query_all(stmt(backend, &text, values)).await?;
        for r in rows {
            let id: Uuid = r.try_get("", "id")?;
            let payload: Value = r.try_get("", "payload")?;
            if let Some(info) = get(&inner.db, id).await? {
                if let Some(h) = inner.handlers.get(info.kind.as_str()) {
                    tracing::warn!(job = %id, kind = %info.kind, "job's runner died on its last attempt: failed");
                    h.gave_up(&inner.db, &info, &payload).await;
                }
            }
        }
        Ok(())
    }
}

/// Delay before attempt `attempt + 1`: `base`, doubled per attempt, at most an hour.
pub fn backoff(base: StdDuration, attempt: i32) -> Duration {
    let factor = 1u32 << attempt.clamp(1, 16).saturating_sub(1);
    let d = base.saturating_mul(factor).min(StdDuration::from_secs(3600));
    Duration::from_std(d).unwrap_or(Duration::hours(1))
}

const COLUMNS: &str =
    "id, kind, org_id, state, attempts, max_attempts, last_error, progress, run_at, lease_owner, finished_at";

fn info(r: &QueryResult) -> ServiceResult<JobInfo> {
    let state: String = r.try_get("", "state")?;
    Ok(JobInfo {
        id: r.try_get("", "id")?,
        kind: r.try_get("", "kind")?,
        org_id: r.try_get("", "org_id")?,
        state: JobState::parse(&state).ok_or_else(ServiceError::internal)?,
        attempts: r.try_get("", "attempts")?,
        max_attempts: r.try_get("", "max_attempts")?,
        last_error: r.try_get("", "last_error")?,
        progress: r.try_get("", "progress")?,
        run_at: r.try_get("", "run_at")?,
        lease_owner: r.try_get("", "lease_owner")?,
        finished_at: r.try_get("", "finished_at")?,
    })
}

/// A statement for `backend` from PostgreSQL-style text (`$n` placeholders).
fn stmt(backend: DbBackend, text: &str, values: impl IntoIterator<Item = DbValue>) -> Statement {
    Statement::from_sql_and_values(backend, sql_of(backend, text), values)
}

/// `$n` placeholders are PostgreSQL's; SQLite takes `?n` with the same meaning.
fn sql_of(backend: DbBackend, text: &str) -> String {
    match backend {
        DbBackend::Postgres => text.to_string(),
        _ => text.replace('$', "?"),
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "node".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = StdDuration::from_secs(5);
        assert_eq!(backoff(base, 1), Duration::seconds(5));
        assert_eq!(backoff(base, 2), Duration::seconds(10));
        assert_eq!(backoff(base, 4), Duration::seconds(40));
        assert_eq!(backoff(base, 30), Duration::hours(1));
    }

    #[test]
    fn placeholders_follow_the_database() {
        assert_eq!(sql_of(DbBackend::Sqlite, "a = $1 AND b = $12"), "a = ?1 AND b = ?12");
        assert_eq!(sql_of(DbBackend::Postgres, "a = $1"), "a = $1");
    }
}
