//! Upload: the file streamed into storage as it arrives (size, quota and
//! encoding checked on the way), then read back once for the preview: its
//! delimiter, columns, row count and a suggested mapping.

#[allow(unused_imports)]
use super::*;

/// Uploads waiting to be imported that one organisation may hold.
pub const MAX_PENDING_UPLOADS: u64 = 10;

/// How large an import may be. The defaults are what HubSpot accepts (a
/// 512 MB file, 1,048,576 rows); `HANDOO_IMPORT_MAX_BYTES` and
/// `HANDOO_IMPORT_MAX_ROWS` change them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    pub max_bytes: u64,
    pub max_rows: u64,
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits { max_bytes: 512 * 1024 * 1024, max_rows: 1_048_576 }
    }
}

impl ImportLimits {
    /// Files waiting to be imported, in bytes, per organisation: two of the largest.
    pub fn pending_bytes(&self) -> u64 {
        self.max_bytes.saturating_mul(2)
    }
}

/// "512 MB" for error details.
pub fn human_bytes(n: u64) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MB", n / (1024 * 1024))
    } else if n >= 1024 * 1024 {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", n.div_ceil(1024))
    }
}

/// What the pass over an uploaded file found.
pub(super) struct Scanned {
    pub(super) delimiter: u8,
    pub(super) headers: Vec<String>,
    pub(super) total: u64,
    pub(super) sample: Vec<Vec<String>>,
}

/// Sniffs, reads the header and counts rows of decoded text, keeping five
/// for the preview. Blocking: run it on the blocking pool.
pub(super) fn scan<R: std::io::Read>(text: R, max_rows: u64) -> ServiceResult<Scanned> {
    let (delimiter, mut rdr) = stream_reader(text, None).map_err(io_error)?;
    let headers = headers_of(&mut rdr)?;
    let mut total = 0u64;
    let mut sample = Vec::new();
    let mut rec = csv::StringRecord::new();
    while rdr.read_record(&mut rec).map_err(csv_error)? {
        if is_blank(&rec) {
            continue;
        }
        total += 1;
        if total > max_rows {
            return Err(ServiceError::new(ErrorCode::CsvTooManyRows).with_detail(max_rows.to_string()));
        }
        if sample.len() < 5 {
            // As wide as the header: a row of 10,000 stray cells is not shown.
            sample.push(rec.iter().take(headers.len()).map(|s| s.chars().take(200).collect()).collect());
        }
    }
    if total == 0 {
        return Err(ServiceError::new(ErrorCode::CsvEmpty));
    }
    Ok(Scanned { delimiter, headers, total, sample })
}

/// Refuses a new upload when the organisation already holds its quota of
/// files waiting to be imported (count or bytes).
pub(super) async fn check_upload_quota(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    incoming: u64,
    limits: &ImportLimits,
) -> ServiceResult<()> {
    let (count, bytes): (i64, i64) = imports::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(Expr::cust("CAST(COALESCE(SUM(file_bytes), 0) AS BIGINT)"), "bytes")
        .filter(imports::Column::OrgId.eq(ctx.org_id()))
        .filter(imports::Column::State.is_in([JobState::Pending.as_str(), JobState::Failed.as_str()]))
        .filter(imports::Column::FileBytes.gt(0))
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or((0, 0));
    if count as u64 >= MAX_PENDING_UPLOADS {
        return Err(
            ServiceError::new(ErrorCode::UploadQuota).with_detail(format!("{MAX_PENDING_UPLOADS} files"))
        );
    }
    if (bytes.max(0) as u64).saturating_add(incoming) > limits.pending_bytes() {
        return Err(
            ServiceError::new(ErrorCode::UploadQuota).with_detail(human_bytes(limits.pending_bytes()))
        );
    }
    Ok(())
}

/// Stores an uploaded file as it arrives and previews it. `declared` is
/// the request's `Content-Length`, when it has one (refused early when too
/// large). A failure at any point leaves nothing behind.
pub async fn upload<S, E>(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    file_name: &str,
    declared: Option<u64>,
    body: S,
    limits: &ImportLimits,
) -> ServiceResult<ImportPreview>
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>> + Send,
    E: std::fmt::Display,
{
    ctx.require(Permission::UseWorkspace)?;
    let too_large = || ServiceError::new(ErrorCode::CsvTooLarge).with_detail(human_bytes(limits.max_bytes));
    if declared.is_some_and(|n| n > limits.max_bytes) {
        return Err(too_large());
    }
    check_upload_quota(db, ctx, declared.unwrap_or(0), limits).await?;
    let file_name: String = {
        let n = file_name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
        let n: String = n.chars().filter(|c| !c.is_control()).take(200).collect();
        if n.is_empty() {
            "import.csv".into()
        } else {
            n
        }
    };
    let id = new_id();
    // The row first (the chunks refer to it), with no rows counted: an
    // import cannot be started until its file is complete.
    imports::ActiveModel {
        id: Set(id),
        org_id: Set(ctx.org_id()),
        created_by: Set(ctx.user_id()),
        file_name: Set(file_name.clone()),
        data: Set(None),
        encoding: Set("utf8".into()),
        delimiter: Set(",".into()),
        total_rows: Set(0),
        state: Set(JobState::Pending.as_str().into()),
        options: Set(None),
        processed_rows: Set(0),
        created: Set(0),
        updated: Set(0),
        skipped: Set(0),
        error: Set(None),
        created_at: Set(now()),
        finished_at: Set(None),
        file_bytes: Set(0),
    }
    .insert(db)
    .await?;
    match receive(db, ctx, id, body, limits).await {
        Ok((encoding, size, scanned)) => {
            let defs = custom_fields::defs(db, ctx).await?;
            let known: Vec<(String, String)> =
                defs.iter().map(|d| (d.key.clone(), d.label.clone())).collect();
            let suggested = suggest_mapping(&scanned.headers, &known);
            imports::Entity::update_many()
                .col_expr(imports::Column::Encoding, Expr::value(encoding_name(encoding)))
                .col_expr(imports::Column::Delimiter, Expr::value((scanned.delimiter as char).to_string()))
                .col_expr(imports::Column::TotalRows, Expr::value(scanned.total as i64))
                .col_expr(imports::Column::FileBytes, Expr::value(size as i64))
                .filter(imports::Column::Id.eq(id))
                .exec(db)
                .await?;
            Ok(ImportPreview {
                id,
                file_name,
                encoding,
                delimiter: scanned.delimiter as char,
                headers: scanned.headers,
                sample: scanned.sample,
                total_rows: scanned.total,
                suggested,
            })
        }
        Err(e) => {
            // The chunks go with the row (foreign key, cascade).
            let _ = store::forget(db, id, store::FILE).await;
            let _ = imports::Entity::delete_by_id(id).exec(db).await;
            Err(e)
        }
    }
}

pub(super) fn encoding_name(e: Encoding) -> String {
    serde_json::to_value(e).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// Streams the body into storage, then scans what was stored.
async fn receive<S, E>(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
    body: S,
    limits: &ImportLimits,
) -> ServiceResult<(Encoding, u64, Scanned)>
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>> + Send,
    E: std::fmt::Display,
{
    use futures::StreamExt;
    let mut body = std::pin::pin!(body);
    let mut writer = store::ChunkWriter::new(id, store::FILE);
    let mut probe = EncodingProbe::new();
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|e| {
            tracing::info!(error = %e, "upload interrupted");
            ServiceError::new(ErrorCode::CsvMalformed).with_detail("the upload was interrupted")
        })?;
        if writer.written + piece.len() as u64 > limits.max_bytes {
            return Err(ServiceError::new(ErrorCode::CsvTooLarge).with_detail(human_bytes(limits.max_bytes)));
        }
        probe.feed(&piece);
        writer.write(db, &piece).await?;
    }
    writer.flush(db).await?;
    let size = writer.written;
    let encoding = probe.finish()?;
    // Counted again now that the size is known (a body without a length).
    check_upload_quota(db, ctx, 0, limits).await?;
    let text = DecodingReader::new(store::chunk_reader(db.clone(), id, store::FILE), encoding);
    let max_rows = limits.max_rows;
    let scanned = blocking(move || scan(text, max_rows)).await?;
    Ok((encoding, size, scanned))
}

pub(super) async fn find_import<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<imports::Model> {
    imports::Entity::find_by_id(id)
        .filter(imports::Column::OrgId.eq(ctx.org_id()))
        .one(db)
        .await?
        .ok_or_else(ServiceError::not_found)
}

/// How long an uploaded file waits for its import to be started (or
/// restarted after a failure) before it is dropped.
pub const UPLOAD_TTL_HOURS: i64 = 24;

/// Drops the files of imports that were never run, or failed, more than
/// [`UPLOAD_TTL_HOURS`] ago: they are personal data nobody is using. Run
/// periodically; returns how many were dropped.
pub async fn forget_stale_uploads(db: &DatabaseConnection) -> ServiceResult<u64> {
    let cutoff = now() - chrono::Duration::hours(UPLOAD_TTL_HOURS);
    let stale: Vec<Uuid> = imports::Entity::find()
        .select_only()
        .column(imports::Column::Id)
        .filter(imports::Column::State.is_in([JobState::Pending.as_str(), JobState::Failed.as_str()]))
        .filter(imports::Column::FileBytes.gt(0))
        .filter(imports::Column::CreatedAt.lt(cutoff))
        .into_tuple()
        .all(db)
        .await?;
    for id in &stale {
        let txn = crate::db::begin_write(db).await?;
        store::forget(&txn, *id, store::FILE).await?;
        store::forget(&txn, *id, store::PROBLEMS).await?;
        imports::Entity::update_many()
            .col_expr(imports::Column::FileBytes, Expr::value(0i64))
            .filter(imports::Column::Id.eq(*id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
    }
    Ok(stale.len() as u64)
}
