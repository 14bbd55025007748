//! Upload: size, quota and shape checks, the preview with a suggested mapping,
//! and dropping files nobody imported.

#[allow(unused_imports)]
use super::*;

/// Uploads waiting to be imported that one organisation may hold, and
/// their total size: past either, it must import or discard some first.
pub const MAX_PENDING_UPLOADS: u64 = 10;
pub const MAX_PENDING_UPLOAD_BYTES: i64 = 200 * 1024 * 1024;

/// What the first pass over an uploaded file found.
pub(super) struct Scanned {
    pub(super) text: String,
    pub(super) encoding: Encoding,
    pub(super) delimiter: u8,
    pub(super) headers: Vec<String>,
    pub(super) total: u64,
    pub(super) sample: Vec<Vec<String>>,
}

/// Decodes, sniffs and counts a whole file: CPU-bound (tens of MB), so
/// it runs on the blocking pool, never on the request threads.
pub(super) fn scan(data: &[u8]) -> ServiceResult<Scanned> {
    let (text, encoding) = decode(data)?;
    let delimiter = sniff_delimiter(&text);
    let mut rdr = reader(&text, delimiter);
    let headers = headers_of(&mut rdr)?;
    let mut total = 0u64;
    let mut sample = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(csv_error)?;
        if is_blank(&rec) {
            continue;
        }
        total += 1;
        if total > MAX_IMPORT_ROWS {
            return Err(ServiceError::new(ErrorCode::CsvTooManyRows).with_detail(MAX_IMPORT_ROWS.to_string()));
        }
        if sample.len() < 5 {
            // As wide as the header: a row of 10,000 stray cells is not shown.
            sample.push(rec.iter().take(headers.len()).map(|s| s.chars().take(200).collect()).collect());
        }
    }
    if total == 0 {
        return Err(ServiceError::new(ErrorCode::CsvEmpty));
    }
    drop(rdr);
    Ok(Scanned { text, encoding, delimiter, headers, total, sample })
}

/// Refuses a new upload when the organisation already holds its quota of
/// files waiting to be imported (count or bytes).
pub(super) async fn check_upload_quota(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    incoming: usize,
) -> ServiceResult<()> {
    let (count, bytes): (i64, i64) = imports::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(Expr::cust("COALESCE(SUM(LENGTH(data)), 0)"), "bytes")
        .filter(imports::Column::OrgId.eq(ctx.org_id()))
        .filter(imports::Column::State.is_in([JobState::Pending.as_str(), JobState::Failed.as_str()]))
        .filter(imports::Column::Data.is_not_null())
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or((0, 0));
    if count as u64 >= MAX_PENDING_UPLOADS {
        return Err(
            ServiceError::new(ErrorCode::UploadQuota).with_detail(format!("{MAX_PENDING_UPLOADS} files"))
        );
    }
    if bytes.saturating_add(incoming as i64) > MAX_PENDING_UPLOAD_BYTES {
        return Err(ServiceError::new(ErrorCode::UploadQuota).with_detail("200 MB"));
    }
    Ok(())
}

pub async fn upload(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    file_name: &str,
    data: Vec<u8>,
) -> ServiceResult<ImportPreview> {
    ctx.require(Permission::UseWorkspace)?;
    if data.len() > MAX_IMPORT_BYTES {
        return Err(ServiceError::new(ErrorCode::CsvTooLarge).with_detail("50 MB"));
    }
    check_upload_quota(db, ctx, data.len()).await?;
    let Scanned { text, encoding, delimiter, headers, total, sample } =
        tokio::task::spawn_blocking(move || scan(&data)).await.map_err(|e| {
            tracing::error!(error = %e, "upload scan panicked");
            ServiceError::internal()
        })??;
    let defs = custom_fields::defs(db, ctx).await?;
    let known: Vec<(String, String)> = defs.iter().map(|d| (d.key.clone(), d.label.clone())).collect();
    let suggested = suggest_mapping(&headers, &known);
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
    imports::ActiveModel {
        id: Set(id),
        org_id: Set(ctx.org_id()),
        created_by: Set(ctx.user_id()),
        file_name: Set(file_name.clone()),
        data: Set(Some(text.into_bytes())),
        encoding: Set(serde_json::to_value(encoding)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()),
        delimiter: Set((delimiter as char).to_string()),
        total_rows: Set(total as i64),
        state: Set(JobState::Pending.as_str().into()),
        options: Set(None),
        processed_rows: Set(0),
        created: Set(0),
        updated: Set(0),
        skipped: Set(0),
        error: Set(None),
        created_at: Set(now()),
        finished_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(ImportPreview {
        id,
        file_name,
        encoding,
        delimiter: delimiter as char,
        headers,
        sample,
        total_rows: total,
        suggested,
    })
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

pub(super) fn text_of(m: &imports::Model) -> ServiceResult<(String, u8)> {
    let data = m.data.clone().ok_or_else(|| ServiceError::new(ErrorCode::ImportNotReady))?;
    let text = String::from_utf8(data).map_err(|_| ServiceError::internal())?;
    Ok((text, m.delimiter.bytes().next().unwrap_or(b',')))
}

/// How long an uploaded file waits for its import to be started (or
/// restarted after a failure) before it is dropped.
pub const UPLOAD_TTL_HOURS: i64 = 24;

/// Drops the files of imports that were never run, or failed, more than
/// [`UPLOAD_TTL_HOURS`] ago: they are personal data nobody is using. Run
/// periodically; returns how many were dropped.
pub async fn forget_stale_uploads(db: &DatabaseConnection) -> ServiceResult<u64> {
    let cutoff = now() - chrono::Duration::hours(UPLOAD_TTL_HOURS);
    let res = imports::Entity::update_many()
        .col_expr(imports::Column::Data, Expr::value(Option::<Vec<u8>>::None))
        .filter(imports::Column::State.is_in([JobState::Pending.as_str(), JobState::Failed.as_str()]))
        .filter(imports::Column::Data.is_not_null())
        .filter(imports::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
