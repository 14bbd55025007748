//! The job runner against real databases: retries and backoff on a clock
//! the test moves, fatal failures, deduplication, takeover of a dead
//! runner's job — and, on PostgreSQL, two runner *processes* that never run
//! one job twice, and a runner killed with SIGKILL mid-job whose job the
//! other finishes once the lease expires.
//!
//! The runner processes are this test binary itself, re-run with
//! `child_runner` (an ignored test) and the database in the environment.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Duration as ChronoDuration;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{json, Value};
use services::clock::{Clock, ManualClock, SharedClock};
use services::jobs::{
    self, Handler, JobFailure, JobInfo, JobState, NewJob, Runner, RunnerConfig, RunningJob,
};
use uuid::Uuid;

// ---- databases ------------------------------------------------------------------------

enum Db {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

struct TestDb {
    url: String,
    kind: Db,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.kind {
            Db::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Db::Postgres(name) => {
                let (admin, name) = (pg_admin(), name.clone());
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                    rt.block_on(async move {
                        if let Ok(db) = Database::connect(&admin).await {
                            let _ = db
                                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

fn pg_admin() -> String {
    std::env::var("HANDOO_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn sqlite() -> (TestDb, DatabaseConnection) {
    let dir = std::env::temp_dir().join(format!("handoo-jobs-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/jobs.db", dir.display());
    let db = services::db::connect_and_migrate(&url).await.unwrap();
    (TestDb { url, kind: Db::Sqlite(dir) }, db)
}

/// A fresh PostgreSQL database; `None` only with `HANDOO_SKIP_POSTGRES=1`.
async fn postgres() -> Option<(TestDb, DatabaseConnection)> {
    let admin = match Database::connect(&pg_admin()).await {
        Ok(a) => a,
        Err(e) if std::env::var("HANDOO_SKIP_POSTGRES").as_deref() == Ok("1") => {
            eprintln!("SKIPPED (HANDOO_SKIP_POSTGRES=1): {e}");
            return None;
        }
        Err(e) => panic!("PostgreSQL at {} is unreachable: {e} (HANDOO_SKIP_POSTGRES=1 to skip)", pg_admin()),
    };
    let name = format!("handoo_j_{}", Uuid::now_v7().simple());
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
    let url = format!("{}/{name}", pg_admin().rsplit_once('/').unwrap().0);
    let db = services::db::connect_and_migrate(&url).await.unwrap();
    Some((TestDb { url, kind: Db::Postgres(name) }, db))
}

// ---- handlers -------------------------------------------------------------------------

/// Fails with `Retry` until its `fail_times` runs have failed.
#[derive(Default)]
struct Flaky {
    runs: AtomicUsize,
    fail_times: usize,
    gave_up: Mutex<Vec<Uuid>>,
}

#[async_trait::async_trait]
impl Handler for Flaky {
    async fn run(&self, _job: &RunningJob) -> Result<(), JobFailure> {
        let n = self.runs.fetch_add(1, Ordering::SeqCst);
        if n < self.fail_times {
            Err(JobFailure::Retry(format!("transient failure {n}")))
        } else {
            Ok(())
        }
    }

    async fn gave_up(&self, _db: &DatabaseConnection, job: &JobInfo, _payload: &Value) {
        self.gave_up.lock().unwrap().push(job.id);
    }
}

struct Fatal;

#[async_trait::async_trait]
impl Handler for Fatal {
    async fn run(&self, _job: &RunningJob) -> Result<(), JobFailure> {
        Err(JobFailure::Fatal("bad input".into()))
    }
}

/// Appends `<job id> <attempt> <pid>` to the file in its payload, then
/// sleeps `first_ms` on a first attempt and `later_ms` after.
struct Append;

#[async_trait::async_trait]
impl Handler for Append {
    async fn run(&self, job: &RunningJob) -> Result<(), JobFailure> {
        use std::io::Write;
        let path = job.payload["file"].as_str().unwrap().to_string();
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
        // One write per line: with O_APPEND, two processes' lines never interleave.
        let line = format!("{} {} {}\n", job.id, job.attempt, std::process::id());
        f.write_all(line.as_bytes()).unwrap();
        drop(f);
        let ms = if job.attempt == 1 { &job.payload["first_ms"] } else { &job.payload["later_ms"] };
        tokio::time::sleep(Duration::from_millis(ms.as_u64().unwrap_or(0))).await;
        Ok(())
    }
}

fn runner(db: &DatabaseConnection, clock: SharedClock, kind: &'static str, h: Arc<dyn Handler>) -> Runner {
    let config = RunnerConfig {
        lease: Duration::from_millis(1_000),
        poll: Duration::from_millis(20),
        concurrency: 4,
        backoff: Duration::from_secs(5),
    };
    Runner::new(db.clone(), clock, config, HashMap::from([(kind, h)]))
}

async fn state(db: &DatabaseConnection, id: Uuid) -> JobInfo {
    jobs::get(db, id).await.unwrap().expect("job exists")
}

// ---- in-process ---------------------------------------------------------------------------

async fn retries_back_off_on_the_clock(db: DatabaseConnection) {
    let clock = ManualClock::starting_now();
    let shared: SharedClock = Arc::new(clock.clone());
    let flaky = Arc::new(Flaky { fail_times: 2, ..Default::default() });
    let r = runner(&db, shared.clone(), "test.flaky", flaky.clone());
    let id = jobs::enqueue(&db, &shared, NewJob::new("test.flaky", None, json!({}))).await.unwrap();

    assert_eq!(r.run_one().await.unwrap(), Some(id));
    let j = state(&db, id).await;
    assert_eq!((j.state, j.attempts), (JobState::Queued, 1));
    assert_eq!(j.run_at - clock.now(), ChronoDuration::seconds(5), "first retry after the base delay");
    assert_eq!(j.last_error.as_deref(), Some("transient failure 0"));
    assert_eq!(r.run_one().await.unwrap(), None, "not due before its time");

    clock.advance(ChronoDuration::seconds(5));
    assert_eq!(r.run_one().await.unwrap(), Some(id));
    let j = state(&db, id).await;
    assert_eq!((j.state, j.attempts), (JobState::Queued, 2));
    assert_eq!(j.run_at - clock.now(), ChronoDuration::seconds(10), "then doubled");

    clock.advance(ChronoDuration::seconds(10));
    assert_eq!(r.run_one().await.unwrap(), Some(id));
    let j = state(&db, id).await;
    assert_eq!((j.state, j.attempts), (JobState::Succeeded, 3));
    assert!(j.finished_at.is_some() && j.lease_owner.is_none());
    assert!(flaky.gave_up.lock().unwrap().is_empty());

    // Attempts run out: failed for good, and the handler is told once.
    let mut job = NewJob::new("test.flaky", None, json!({}));
    job.max_attempts = 2;
    flaky.runs.store(0, Ordering::SeqCst);
    let id = jobs::enqueue(&db, &shared, job).await.unwrap();
    r.run_one().await.unwrap();
    clock.advance(ChronoDuration::seconds(5));
    r.run_one().await.unwrap();
    let j = state(&db, id).await;
    assert_eq!((j.state, j.attempts), (JobState::Failed, 2));
    assert_eq!(*flaky.gave_up.lock().unwrap(), vec![id]);
}

async fn fatal_failures_stop_at_once_and_keys_deduplicate(db: DatabaseConnection) {
    let shared: SharedClock = Arc::new(ManualClock::starting_now());
    let r = runner(&db, shared.clone(), "test.fatal", Arc::new(Fatal));
    let id = jobs::enqueue(&db, &shared, NewJob::new("test.fatal", None, json!({}))).await.unwrap();
    r.run_one().await.unwrap();
    let j = state(&db, id).await;
    assert_eq!((j.state, j.attempts, j.last_error.as_deref()), (JobState::Failed, 1, Some("bad input")));

    let mut a = NewJob::new("test.fatal", None, json!({"n": 1}));
    a.dedupe_key = Some("report:2026-12".into());
    let first = jobs::enqueue(&db, &shared, a.clone()).await.unwrap();
    let again = jobs::enqueue(&db, &shared, a).await.unwrap();
    assert_eq!(first, again, "one job per key");
}

async fn a_dead_runner_s_job_is_taken_over_after_its_lease(db: DatabaseConnection) {
    let clock = ManualClock::starting_now();
    let shared: SharedClock = Arc::new(clock.clone());
    let flaky = Arc::new(Flaky::default());
    let r = runner(&db, shared.clone(), "test.flaky", flaky.clone());
    let id = jobs::enqueue(&db, &shared, NewJob::new("test.flaky", None, json!({}))).await.unwrap();
    // Another runner claimed it and died: its lease runs until now + 30 s.
    let backend = db.get_database_backend();
    let sql = if backend == sea_orm::DbBackend::Postgres {
        "UPDATE jobs SET state = 'running', lease_owner = 'dead', attempts = 1, lease_expires_at = $1 WHERE id = $2"
    } else {
        "UPDATE jobs SET state = 'running', lease_owner = 'dead', attempts = 1, lease_expires_at = ?1 WHERE id = ?2"
    };
    db.execute(sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [(clock.now() + ChronoDuration::seconds(30)).into(), id.into()],
    ))
    .await
    .unwrap();
    assert_eq!(r.run_one().await.unwrap(), None, "a live lease is respected");
    clock.advance(ChronoDuration::seconds(31));
    assert_eq!(r.run_one().await.unwrap(), Some(id), "an expired one is taken over");
    let j = state(&db, id).await;
    assert_eq!((j.state, j.attempts), (JobState::Succeeded, 2));
}

/// `/metrics` reads the queue: depth per kind and state, and how long the
/// oldest due job has waited — measured on the runner's clock.
async fn the_queue_reports_depth_and_the_oldest_job_s_age(db: DatabaseConnection) {
    let clock = ManualClock::starting_now();
    let shared: SharedClock = Arc::new(clock.clone());
    assert!(jobs::queue_depth(&db, &shared).await.unwrap().is_empty());
    jobs::enqueue(&db, &shared, NewJob::new("test.depth", None, json!({}))).await.unwrap();
    clock.advance(ChronoDuration::seconds(90));
    jobs::enqueue(&db, &shared, NewJob::new("test.depth", None, json!({}))).await.unwrap();
    clock.advance(ChronoDuration::seconds(30));
    let depth = jobs::queue_depth(&db, &shared).await.unwrap();
    assert_eq!(depth.len(), 1, "{depth:?}");
    let (kind, state, n, oldest) = &depth[0];
    assert_eq!((kind.as_str(), state.as_str(), *n), ("test.depth", "queued", 2));
    let age = oldest.expect("the oldest job's age is known on every database");
    assert!((age - 120.0).abs() < 1.0, "oldest waited 120 s, reported {age}");
}

/// Answers one ping from its test, after telling it that it started.
struct Ping {
    started: tokio::sync::mpsc::Sender<()>,
    ping: tokio::sync::Mutex<tokio::sync::mpsc::Receiver<()>>,
    pong: tokio::sync::mpsc::Sender<()>,
}

#[async_trait::async_trait]
impl Handler for Ping {
    async fn run(&self, _job: &RunningJob) -> Result<(), JobFailure> {
        self.started.send(()).await.unwrap();
        self.ping.lock().await.recv().await;
        self.pong.send(()).await.unwrap();
        Ok(())
    }
}

/// A lease renewal that cannot write (SQLite: another transaction holds the
/// write lock, as a long import does; PostgreSQL: the job's row is locked)
/// must not pause the job: the renewal runs beside it. Awaited in its place,
/// it held a million-row import still for the busy timeout at every beat.
async fn a_stuck_lease_renewal_does_not_pause_the_job(db: DatabaseConnection) {
    use tokio::sync::mpsc::channel;
    let shared: SharedClock = Arc::new(services::clock::SystemClock);
    let ((started, mut started_rx), (ping, ping_rx), (pong, mut pong_rx)) =
        (channel(1), channel(1), channel(1));
    let handler = Ping { started, ping: tokio::sync::Mutex::new(ping_rx), pong };
    // A one-second lease: a renewal every 333 ms.
    let r = runner(&db, shared.clone(), "test.ping", Arc::new(handler));
    let id = jobs::enqueue(&db, &shared, NewJob::new("test.ping", None, json!({}))).await.unwrap();
    let running = tokio::spawn(async move { r.run_one().await.unwrap() });
    started_rx.recv().await.unwrap();

    let blocker = services::db::begin_write(&db).await.unwrap();
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        blocker
            .execute(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT id FROM jobs WHERE id = $1 FOR UPDATE",
                [id.into()],
            ))
            .await
            .unwrap();
    }
    // Past the first beat: its renewal now waits on the lock (SQLite's busy
    // timeout is 5 s; PostgreSQL waits as long as the row stays locked).
    tokio::time::sleep(Duration::from_millis(500)).await;
    ping.send(()).await.unwrap();
    let answered = tokio::time::timeout(Duration::from_secs(2), pong_rx.recv()).await;
    blocker.commit().await.unwrap();
    assert!(answered.is_ok(), "the job was not polled while its lease renewal waited for a lock");
    assert_eq!(running.await.unwrap(), Some(id));
    assert_eq!(state(&db, id).await.state, JobState::Succeeded);
}

/// Waits until told to finish, counting how many wait at once.
#[derive(Default)]
struct Waiting {
    now: AtomicUsize,
    most: AtomicUsize,
    release: tokio::sync::Notify,
    released: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Handler for Waiting {
    async fn run(&self, _job: &RunningJob) -> Result<(), JobFailure> {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(n, Ordering::SeqCst);
        while !self.released.load(Ordering::SeqCst) {
            tokio::select! {
                _ = self.release.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
        }
        self.now.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Jobs that wait on someone else (dials) run in a lane of their own: they
/// fill it to its own limit, never past it, while the shared lane still
/// runs everything else.
async fn a_lane_runs_its_kind_beside_the_shared_lane(db: DatabaseConnection) {
    let clock: SharedClock = Arc::new(services::clock::SystemClock);
    let waiting = Arc::new(Waiting::default());
    let quick = Arc::new(Flaky::default());
    let config = RunnerConfig {
        lease: Duration::from_millis(5_000),
        poll: Duration::from_millis(20),
        concurrency: 1,
        backoff: Duration::from_secs(5),
    };
    let handlers: HashMap<&'static str, Arc<dyn Handler>> = HashMap::from([
        ("test.wait", waiting.clone() as Arc<dyn Handler>),
        ("test.quick", quick.clone() as _),
    ]);
    let r = Runner::new(db.clone(), clock.clone(), config, handlers).with_lane("test.wait", 3);
    let handle = r.start();
    for _ in 0..5 {
        jobs::enqueue(&db, &clock, NewJob::new("test.wait", None, json!({}))).await.unwrap();
    }
    wait_until("three waiting jobs", async || waiting.now.load(Ordering::SeqCst) == 3).await;
    // The shared lane (one slot) is free for other kinds meanwhile.
    let id = jobs::enqueue(&db, &clock, NewJob::new("test.quick", None, json!({}))).await.unwrap();
    r.wake();
    wait_until("the quick job done", async || state(&db, id).await.state == JobState::Succeeded).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(waiting.most.load(Ordering::SeqCst), 3, "the lane held its limit");
    waiting.released.store(true, Ordering::SeqCst);
    waiting.release.notify_waiters();
    wait_until("every waiting job done", async || {
        jobs::queue_depth(&db, &clock).await.unwrap().iter().all(|(kind, ..)| kind != "test.wait")
    })
    .await;
    r.stop(Duration::from_secs(1)).await;
    handle.abort();
}

macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (_keep, db) = super::sqlite().await;
                super::$name(db).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some((_keep, db)) = super::postgres().await else { return };
                super::$name(db).await;
            }
        }
    };
}

on_both!(retries_back_off_on_the_clock);
on_both!(fatal_failures_stop_at_once_and_keys_deduplicate);
on_both!(a_dead_runner_s_job_is_taken_over_after_its_lease);
on_both!(the_queue_reports_depth_and_the_oldest_job_s_age);
on_both!(a_stuck_lease_renewal_does_not_pause_the_job);
on_both!(a_lane_runs_its_kind_beside_the_shared_lane);

// ---- separate processes on PostgreSQL --------------------------------------------------

/// A runner process: this binary re-run as `child_runner`.
struct ChildRunner(Child);

impl ChildRunner {
    fn start(db_url: &str) -> ChildRunner {
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["child_runner", "--exact", "--ignored", "--nocapture", "--test-threads", "1"])
            .env("JOBS_CHILD_DB", db_url)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        ChildRunner(child)
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// SIGKILL: no chance to release anything.
    fn kill_9(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for ChildRunner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the process tests below as a separate runner"]
async fn child_runner() {
    let Ok(url) = std::env::var("JOBS_CHILD_DB") else { return };
    let db = services::db::connect(&url).await.unwrap();
    let r = runner(&db, services::clock::system(), "test.append", Arc::new(Append));
    r.start();
    tokio::time::sleep(Duration::from_secs(600)).await;
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn count(db: &DatabaseConnection, state: &str) -> i64 {
    let row = db
        .query_one(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT COUNT(*) AS n FROM jobs WHERE state = $1",
            [state.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

fn lines(path: &std::path::Path) -> Vec<(String, u32, u32)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        // A line being appended by another process may be read half-written.
        .filter_map(|l| {
            let mut p = l.split(' ');
            Some((p.next()?.to_string(), p.next()?.parse().ok()?, p.next()?.parse().ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runner_processes_never_run_one_job_twice() {
    let Some((keep, db)) = postgres().await else { return };
    let file = std::env::temp_dir().join(format!("handoo-jobs-{}.log", Uuid::now_v7().simple()));
    let clock = services::clock::system();
    for _ in 0..200 {
        let payload = json!({"file": file, "first_ms": 5, "later_ms": 5});
        jobs::enqueue(&db, &clock, NewJob::new("test.append", None, payload)).await.unwrap();
    }
    let (a, b) = (ChildRunner::start(&keep.url), ChildRunner::start(&keep.url));
    wait_until("all 200 jobs succeeded", async || count(&db, "succeeded").await == 200).await;
    let runs = lines(&file);
    let ids: HashSet<&String> = runs.iter().map(|(id, _, _)| id).collect();
    assert_eq!((runs.len(), ids.len()), (200, 200), "each job ran exactly once");
    let pids: HashSet<u32> = runs.iter().map(|(_, _, pid)| *pid).collect();
    assert!(pids.contains(&a.pid()) && pids.contains(&b.pid()), "both runners worked: {pids:?}");
    let _ = std::fs::remove_file(file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_killed_mid_job_has_its_job_finished_by_another() {
    let Some((keep, db)) = postgres().await else { return };
    let file = std::env::temp_dir().join(format!("handoo-jobs-{}.log", Uuid::now_v7().simple()));
    let clock = services::clock::system();
    // The first attempt would take ten minutes; a takeover is quick.
    let payload = json!({"file": file, "first_ms": 600_000, "later_ms": 10});
    let id = jobs::enqueue(&db, &clock, NewJob::new("test.append", None, payload)).await.unwrap();
    let mut a = ChildRunner::start(&keep.url);
    wait_until("runner A started the job", async || lines(&file).len() == 1).await;
    assert_eq!(jobs::get(&db, id).await.unwrap().unwrap().state, JobState::Running);
    let killed = a.pid();
    a.kill_9();
    let b = ChildRunner::start(&keep.url);
    wait_until("runner B finished it", async || count(&db, "succeeded").await == 1).await;
    let j = jobs::get(&db, id).await.unwrap().unwrap();
    assert_eq!(j.attempts, 2, "one attempt each");
    let runs = lines(&file);
    assert_eq!(
        runs.iter().map(|(_, attempt, pid)| (*attempt, *pid)).collect::<Vec<_>>(),
        [(1, killed), (2, b.pid())]
    );
    let _ = std::fs::remove_file(file);
}
