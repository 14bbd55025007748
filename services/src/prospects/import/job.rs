//! The import as a job on the runner: started once, resumed as whoever
//! started it, progress written where any node can read it.

#[allow(unused_imports)]
use super::*;

pub(super) fn to_job(m: &imports::Model) -> ImportJob {
    let state = JobState::parse(&m.state).unwrap_or(JobState::Failed);
    ImportJob {
        id: m.id,
        file_name: m.file_name.clone(),
        state,
        total_rows: m.total_rows.max(0) as u64,
        // Written by the running job every half second, whichever node runs it.
        processed_rows: m.processed_rows.max(0) as u64,
        created: m.created.max(0) as u64,
        updated: m.updated.max(0) as u64,
        skipped: m.skipped.max(0) as u64,
        error: m.error.clone(),
        created_at: m.created_at,
        finished_at: m.finished_at,
    }
}

pub async fn job(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<ImportJob> {
    ctx.require(Permission::UseWorkspace)?;
    // Polled twice a second while a job runs: never read the file for it.
    let m = summaries(ctx)
        .filter(imports::Column::Id.eq(id))
        .into_model::<imports::Model>()
        .one(db)
        .await?
        .ok_or_else(ServiceError::not_found)?;
    Ok(to_job(&m))
}

/// Recent imports, newest first.
pub async fn list_jobs(db: &DatabaseConnection, ctx: &OrgCtx) -> ServiceResult<Vec<ImportJob>> {
    ctx.require(Permission::UseWorkspace)?;
    let rows = summaries(ctx)
        .order_by_desc(imports::Column::CreatedAt)
        .limit(20)
        .into_model::<imports::Model>()
        .all(db)
        .await?;
    Ok(rows.iter().map(to_job).collect())
}

/// The organisation's imports without their options.
pub(super) fn summaries(ctx: &OrgCtx) -> sea_orm::Select<imports::Entity> {
    summary_columns().filter(imports::Column::OrgId.eq(ctx.org_id()))
}

/// Every import's row without its options (what [`to_job`] reads).
fn summary_columns() -> sea_orm::Select<imports::Entity> {
    imports::Entity::find()
        .select_only()
        .columns([
            imports::Column::Id,
            imports::Column::OrgId,
            imports::Column::CreatedBy,
            imports::Column::FileName,
            imports::Column::Encoding,
            imports::Column::Delimiter,
            imports::Column::TotalRows,
            imports::Column::State,
            imports::Column::ProcessedRows,
            imports::Column::Created,
            imports::Column::Updated,
            imports::Column::Skipped,
            imports::Column::Error,
            imports::Column::CreatedAt,
            imports::Column::FinishedAt,
            imports::Column::FileBytes,
        ])
        .column_as(Expr::value(Option::<Vec<u8>>::None), "data")
        .column_as(Expr::value(Option::<Value>::None), "options")
}

/// The topic an import's state is published under on the event bus.
fn topic(id: Uuid) -> String {
    format!("prospects.import.{id}")
}

/// Publishes the import's state as stored, to its watchers on every node.
/// A lost publication costs a watcher nothing it cannot re-read.
pub(super) async fn announce(db: &DatabaseConnection, bus: &EventBus, id: Uuid) {
    let found =
        summary_columns().filter(imports::Column::Id.eq(id)).into_model::<imports::Model>().one(db).await;
    let Ok(Some(m)) = found else { return };
    if let Err(e) = bus.publish(m.org_id, &topic(id), &to_job(&m)).await {
        tracing::warn!(import = %id, code = e.code.as_str(), "import progress not published");
    }
}

/// The import's state now, then each change as it happens (from whichever
/// node runs it), ending with its final state. Subscribed before the first
/// read, so no change falls in between. (A job taken over by another node
/// starts again from row 0, and its progress says so.)
pub async fn watch(
    db: &DatabaseConnection,
    bus: &EventBus,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<impl futures::Stream<Item = ImportJob> + Send + 'static> {
    use futures::StreamExt;
    ctx.require(Permission::UseWorkspace)?;
    let live = bus.subscribe(ctx.org_id(), &topic(id)).filter_map(|ev| {
        futures::future::ready(serde_json::from_value::<ImportJob>(ev.payload.clone()).ok())
    });
    let now = job(db, ctx, id).await?;
    let all = futures::stream::once(futures::future::ready(now)).chain(live);
    Ok(crate::events::through_final(all, |j: &ImportJob| {
        !matches!(j.state, JobState::Pending | JobState::Running)
    }))
}

/// Starts the job in the background. Only a pending (or failed) import can
/// start, and only once: the state change is a conditional update.
pub async fn start(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
    options: ImportOptions,
) -> ServiceResult<ImportJob> {
    ctx.require(Permission::UseWorkspace)?;
    // Creating custom fields is an admin's decision, here as in settings.
    if !options.new_fields.is_empty() {
        ctx.require(Permission::ManageSettings)?;
    }
    let m = find_import(db, ctx, id).await?;
    // A job already running (or done) is refused before its options are
    // checked: a second start racing the first would otherwise report the
    // custom fields the first one just created as duplicates. The claim
    // below stays the atomic guard.
    let startable = [JobState::Pending.as_str(), JobState::Failed.as_str()].contains(&m.state.as_str());
    if m.file_bytes <= 0 || m.total_rows <= 0 || !startable {
        return Err(ServiceError::new(ErrorCode::ImportNotReady));
    }
    // Refuse bad options now, with a clear error, rather than in the job.
    {
        let headers = stored_headers(db, &m).await?;
        let defs = custom_fields::defs(db, ctx).await?;
        check_options(&options, headers.len(), &defs)?;
    }
    // The import's state and its job change together: a crash in between
    // can neither leave a `running` import without a job nor run one twice.
    let txn = crate::db::begin_write(db).await?;
    let claimed = imports::Entity::update_many()
        .col_expr(imports::Column::State, Expr::value(JobState::Running.as_str()))
        .col_expr(
            imports::Column::Options,
            Expr::value(serde_json::to_value(&options).unwrap_or(Value::Null)),
        )
        .col_expr(imports::Column::Error, Expr::value(Option::<String>::None))
        .col_expr(imports::Column::ProcessedRows, Expr::value(0i64))
        .filter(imports::Column::Id.eq(id))
        .filter(imports::Column::OrgId.eq(ctx.org_id()))
        .filter(imports::Column::State.is_in([JobState::Pending.as_str(), JobState::Failed.as_str()]))
        .filter(imports::Column::FileBytes.gt(0))
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 0 {
        return Err(ServiceError::new(ErrorCode::ImportNotReady));
    }
    let payload = ImportJobPayload { import_id: id, options, started_by: ctx.into() };
    let mut new_job = jobs::NewJob::new(
        IMPORT_JOB,
        Some(ctx.org_id()),
        serde_json::to_value(&payload).map_err(|_| ServiceError::internal())?,
    );
    // The import is one transaction: a retry starts from a clean slate.
    new_job.max_attempts = 3;
    jobs::enqueue(&txn, &crate::clock::system(), new_job).await?;
    txn.commit().await?;
    job(db, ctx, id).await
}

/// The job kind that runs imports.
pub const IMPORT_JOB: &str = "prospects.import";

#[derive(Serialize, Deserialize)]
pub(super) struct ImportJobPayload {
    pub(super) import_id: Uuid,
    pub(super) options: ImportOptions,
    pub(super) started_by: crate::authz::StartedBy,
}

/// Runs imports on the job runner: as whoever started them (still a member,
/// or a still-valid key), with progress written where any node can read it.
pub struct ImportHandler {
    /// Where progress goes out to watchers.
    pub bus: EventBus,
}

#[async_trait::async_trait]
impl jobs::Handler for ImportHandler {
    async fn run(&self, job: &jobs::RunningJob) -> Result<(), jobs::JobFailure> {
        let p: ImportJobPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| jobs::JobFailure::Fatal(format!("payload: {e}")))?;
        let org = job.org_id.ok_or_else(|| jobs::JobFailure::Fatal("no organisation".into()))?;
        let db = job.db();
        let outcome = async {
            let ctx = crate::authz::resume(db, org, p.started_by, IMPORT_JOB).await?;
            let progress = Arc::new(AtomicU64::new(0));
            let writer =
                tokio::spawn(write_progress(db.clone(), self.bus.clone(), p.import_id, progress.clone()));
            let out = run(db, &ctx, p.import_id, &p.options, progress).await;
            writer.abort();
            out
        }
        .await;
        let Err(e) = outcome else {
            announce(db, &self.bus, p.import_id).await;
            return Ok(());
        };
        let failure = jobs::JobFailure::from(e.clone());
        if matches!(failure, jobs::JobFailure::Fatal(_)) || job.is_last_attempt() {
            tracing::warn!(import = %p.import_id, error = %e, "import failed; nothing was written");
            mark_failed(db, p.import_id, e.code).await;
            announce(db, &self.bus, p.import_id).await;
        }
        Err(failure)
    }

    /// Its runner died on the last attempt: nothing was written (one
    /// transaction); say so on the import.
    async fn gave_up(&self, db: &DatabaseConnection, _job: &jobs::JobInfo, payload: &Value) {
        if let Some(id) =
            payload.get("import_id").and_then(|v| serde_json::from_value::<Uuid>(v.clone()).ok())
        {
            mark_failed(db, id, ErrorCode::ImportInterrupted).await;
            announce(db, &self.bus, id).await;
        }
    }
}

pub(super) async fn mark_failed(db: &DatabaseConnection, id: Uuid, code: ErrorCode) {
    let res = imports::Entity::update_many()
        .col_expr(imports::Column::State, Expr::value(JobState::Failed.as_str()))
        .col_expr(imports::Column::Error, Expr::value(code.as_str()))
        .col_expr(imports::Column::FinishedAt, Expr::value(now()))
        .filter(imports::Column::Id.eq(id))
        .filter(imports::Column::State.eq(JobState::Running.as_str()))
        .exec(db)
        .await;
    if let Err(e) = res {
        tracing::error!(import = %id, error = %e, "could not mark the import failed");
    }
}

/// Copies the running import's progress to its row, and out to its
/// watchers, twice a second.
pub(super) async fn write_progress(
    db: DatabaseConnection,
    bus: EventBus,
    id: Uuid,
    progress: Arc<AtomicU64>,
) {
    let mut last = u64::MAX;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let now = progress.load(Ordering::Relaxed);
        if now == last {
            continue;
        }
        last = now;
        let _ = imports::Entity::update_many()
            .col_expr(imports::Column::ProcessedRows, Expr::value(now as i64))
            .filter(imports::Column::Id.eq(id))
            .filter(imports::Column::State.eq(JobState::Running.as_str()))
            .exec(&db)
            .await;
        announce(&db, &bus, id).await;
    }
}
