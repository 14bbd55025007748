//! CSV import: upload (decode, sniff the delimiter, suggest a mapping), dry
//! run (a report per row), and the import itself as a background job.
//!
//! The job runs in **one transaction**: a failure at row 80,000 leaves no
//! partial rows, and a job can only be started once (a conditional
//! `pending → running` update), so a double click or a retried request never
//! imports twice. Progress lives in memory while the job runs; the job row
//! holds the state, so a reloaded page finds it again, and a job cut short
//! by a restart is marked failed (nothing was written) and can be restarted.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use domain::phone::{infer_timezone, normalize_phone};
use domain::prospect::{normalize_tags, normalize_text, split_tags, CustomFieldDef, ProspectStatus};
use domain::prospect_import::{
    suggest_mapping, DryRunReport, DuplicatePolicy, Encoding, ImportJob, ImportOptions, ImportPreview,
    JobState, RowIssue, RowReport, Target, MAX_REPORTED_ROWS,
};
use domain::{ErrorCode, Permission};
use entity::{prospect_imports as imports, prospect_notes as notes, prospects};
use sea_orm::sea_query::{Expr, Query, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{compliance, custom_fields, custom_of, search_text, timeline};
use crate::{jobs, new_id, now, OrgCtx, ServiceError, ServiceResult};

pub const MAX_IMPORT_BYTES: usize = 50 * 1024 * 1024;
pub const MAX_IMPORT_ROWS: u64 = 250_000;
pub const MAX_COLUMNS: usize = 200;
/// Rows per INSERT on SQLite (its parameter limit); PostgreSQL batches are
/// one JSON document each and can be larger.
const BATCH: usize = 400;
const PG_BATCH: usize = 5000;

// ---- decoding ----------------------------------------------------------------

/// Bytes → text. UTF-8 (BOM optional), UTF-16 with a BOM, and otherwise
/// Windows-1252, which is what spreadsheet software in Western Europe
/// writes when it does not write UTF-8. Line endings become `\n` (Windows
/// `\r\n`, old Mac `\r`), so reported line numbers match what an editor shows.
pub fn decode(data: &[u8]) -> ServiceResult<(String, Encoding)> {
    let (text, encoding) = decode_raw(data)?;
    let text = if text.contains('\r') { text.replace("\r\n", "\n").replace('\r', "\n") } else { text };
    Ok((text, encoding))
}

fn decode_raw(data: &[u8]) -> ServiceResult<(String, Encoding)> {
    if data.is_empty() {
        return Err(ServiceError::new(ErrorCode::CsvEmpty));
    }
    if let Some(rest) = data.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return std::str::from_utf8(rest).map(|s| (s.to_string(), Encoding::Utf8)).map_err(|_| {
            ServiceError::new(ErrorCode::CsvMalformed).with_detail("invalid UTF-8 after a UTF-8 mark")
        });
    }
    for (bom, enc) in [([0xFF, 0xFE], Encoding::Utf16le), ([0xFE, 0xFF], Encoding::Utf16be)] {
        if let Some(rest) = data.strip_prefix(&bom) {
            if rest.len() % 2 != 0 {
                return Err(ServiceError::new(ErrorCode::CsvMalformed).with_detail("truncated UTF-16"));
            }
            let units = rest.chunks_exact(2).map(|c| {
                if enc == Encoding::Utf16le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            });
            let text: String = char::decode_utf16(units)
                .collect::<Result<_, _>>()
                .map_err(|_| ServiceError::new(ErrorCode::CsvMalformed).with_detail("invalid UTF-16"))?;
            return Ok((text, enc));
        }
    }
    match std::str::from_utf8(data) {
        Ok(s) => {
            if s.contains('\0') {
                return Err(ServiceError::new(ErrorCode::CsvMalformed).with_detail("binary content"));
            }
            Ok((s.to_string(), Encoding::Utf8))
        }
        Err(_) => {
            if data.contains(&0) {
                return Err(ServiceError::new(ErrorCode::CsvMalformed).with_detail("binary content"));
            }
            Ok((data.iter().map(|&b| windows_1252(b)).collect(), Encoding::Windows1252))
        }
    }
}

fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}',
        '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[(b - 0x80) as usize],
        _ => b as char,
    }
}

/// The delimiter that splits the header line into the most fields
/// (`,` `;` tab `|`; quotes respected). French spreadsheets use `;`.
pub fn sniff_delimiter(text: &str) -> u8 {
    let mut counts = [0usize; 4];
    let cands = [b',', b';', b'\t', b'|'];
    let mut in_quotes = false;
    for b in text.bytes() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => break,
            _ if !in_quotes => {
                if let Some(i) = cands.iter().position(|c| *c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let best = (0..4).max_by_key(|i| (counts[*i], 3 - i)).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        cands[best]
    }
}

fn reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .trim(csv::Trim::None)
        .from_reader(text.as_bytes())
}

fn headers_of(rdr: &mut csv::Reader<&[u8]>) -> ServiceResult<Vec<String>> {
    let h = rdr.headers().map_err(csv_error)?;
    let headers: Vec<String> = h
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let s = s.trim();
            if s.is_empty() {
                format!("Column {}", i + 1)
            } else {
                s.chars().take(100).collect()
            }
        })
        .collect();
    if headers.is_empty() || (headers.len() == 1 && h.get(0).is_none_or(|s| s.trim().is_empty())) {
        return Err(ServiceError::new(ErrorCode::CsvEmpty));
    }
    if headers.len() > MAX_COLUMNS {
        return Err(ServiceError::new(ErrorCode::CsvMalformed)
            .with_detail(format!("more than {MAX_COLUMNS} columns")));
    }
    Ok(headers)
}

fn csv_error(e: csv::Error) -> ServiceError {
    let line = e.position().map(|p| format!(" (line {})", p.line())).unwrap_or_default();
    ServiceError::new(ErrorCode::CsvMalformed).with_detail(format!("{}{line}", e.kind_name()))
}

trait KindName {
    fn kind_name(&self) -> &'static str;
}

impl KindName for csv::Error {
    fn kind_name(&self) -> &'static str {
        match self.kind() {
            csv::ErrorKind::Utf8 { .. } => "invalid text encoding",
            csv::ErrorKind::UnequalLengths { .. } => "rows of unequal length",
            csv::ErrorKind::Io(_) => "unreadable data",
            _ => "unreadable CSV",
        }
    }
}

/// A record with every field blank (trailing empty lines, `;;;` rows).
fn is_blank(r: &csv::StringRecord) -> bool {
    r.iter().all(|f| f.trim().is_empty())
}

// ---- upload --------------------------------------------------------------------

/// Uploads waiting to be imported that one organisation may hold, and
/// their total size: past either, it must import or discard some first.
pub const MAX_PENDING_UPLOADS: u64 = 10;
pub const MAX_PENDING_UPLOAD_BYTES: i64 = 200 * 1024 * 1024;

/// What the first pass over an uploaded file found.
struct Scanned {
    text: String,
    encoding: Encoding,
    delimiter: u8,
    headers: Vec<String>,
    total: u64,
    sample: Vec<Vec<String>>,
}

/// Decodes, sniffs and counts a whole file: CPU-bound (tens of MB), so
/// it runs on the blocking pool, never on the request threads.
fn scan(data: &[u8]) -> ServiceResult<Scanned> {
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
async fn check_upload_quota(db: &DatabaseConnection, ctx: &OrgCtx, incoming: usize) -> ServiceResult<()> {
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

async fn find_import<C: ConnectionTrait>(db: &C, ctx: &OrgCtx, id: Uuid) -> ServiceResult<imports::Model> {
    imports::Entity::find_by_id(id)
        .filter(imports::Column::OrgId.eq(ctx.org_id()))
        .one(db)
        .await?
        .ok_or_else(ServiceError::not_found)
}

fn text_of(m: &imports::Model) -> ServiceResult<(String, u8)> {
    let data = m.data.clone().ok_or_else(|| ServiceError::new(ErrorCode::ImportNotReady))?;
    let text = String::from_utf8(data).map_err(|_| ServiceError::internal())?;
    Ok((text, m.delimiter.bytes().next().unwrap_or(b',')))
}

// ---- planning (shared by dry run and run) -----------------------------------------

/// A row ready to insert.
struct NewRow {
    first: String,
    last: String,
    company: String,
    title: String,
    phone: Option<String>,
    national: Option<String>,
    email: Option<String>,
    timezone: String,
    /// The zone came from the file, not inferred from the number.
    timezone_given: bool,
    status: ProspectStatus,
    tags: Vec<String>,
    custom: BTreeMap<String, Value>,
    note: Option<String>,
}

struct Plan {
    report: DryRunReport,
    creates: Vec<NewRow>,
    /// Existing prospect, and the row's values to merge into it.
    updates: Vec<(Uuid, NewRow)>,
}

/// What the database already holds, for duplicate detection.
#[derive(Default)]
struct Existing {
    by_phone: HashMap<String, Uuid>,
    by_email: HashMap<String, Uuid>,
}

async fn existing<C: ConnectionTrait>(db: &C, ctx: &OrgCtx) -> ServiceResult<Existing> {
    let rows: Vec<(Uuid, Option<String>, Option<String>)> = prospects::Entity::find()
        .select_only()
        .columns([prospects::Column::Id, prospects::Column::Phone, prospects::Column::Email])
        .filter(prospects::Column::OrgId.eq(ctx.org_id()))
        .filter(prospects::Column::DeletedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    let mut e = Existing::default();
    for (id, phone, email) in rows {
        if let Some(p) = phone {
            e.by_phone.insert(p, id);
        }
        if let Some(m) = email {
            e.by_email.insert(m, id);
        }
    }
    Ok(e)
}

/// Checks the options against the file's columns and the organisation's
/// custom fields; returns every definition the rows will be checked against.
fn check_options(
    options: &ImportOptions,
    columns: usize,
    defs: &[CustomFieldDef],
) -> ServiceResult<(Vec<CustomFieldDef>, Vec<String>)> {
    let bad = |detail: String| ServiceError::field(ErrorCode::MappingInvalid, "mapping").with_detail(detail);
    if options.mapping.len() != columns {
        return Err(bad(format!(
            "{} columns in the file, {} in the mapping",
            columns,
            options.mapping.len()
        )));
    }
    let mut all = defs.to_vec();
    for f in &options.new_fields {
        let def =
            CustomFieldDef { key: f.key.clone(), label: f.label.clone(), kind: f.kind.clone() }.validate()?;
        if all.iter().any(|d| d.key == def.key) {
            return Err(ServiceError::field(ErrorCode::DuplicateFieldName, "new_fields").with_detail(def.key));
        }
        all.push(def);
    }
    let mut seen: Vec<&Target> = Vec::new();
    for t in &options.mapping {
        if *t == Target::Ignore {
            continue;
        }
        if seen.contains(&t) {
            return Err(bad(format!("{} is mapped twice", target_name(t))));
        }
        if let Target::Custom(k) = t {
            if !all.iter().any(|d| &d.key == k) {
                return Err(
                    ServiceError::field(ErrorCode::InvalidFieldName, "mapping").with_detail(k.clone())
                );
            }
        }
        seen.push(t);
    }
    if !seen.iter().any(|t| matches!(t, Target::Phone | Target::Email)) {
        return Err(bad("map a phone or an email column".into()));
    }
    let extra_tags = normalize_tags(&options.tags)?;
    Ok((all, extra_tags))
}

fn target_name(t: &Target) -> String {
    match t {
        Target::Custom(k) => format!("custom.{k}"),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.get("to").and_then(|s| s.as_str()).map(str::to_string))
            .unwrap_or_default(),
    }
}

fn issue_key(i: &RowIssue) -> String {
    serde_json::to_value(i)
        .ok()
        .and_then(|v| v.get("kind").and_then(|s| s.as_str()).map(str::to_string))
        .unwrap_or_default()
}

/// Reads every row, validates it and classifies it. Pure CPU: run it on a
/// blocking thread.
#[allow(clippy::too_many_arguments)]
fn plan(
    text: &str,
    delimiter: u8,
    options: &ImportOptions,
    defs: &[CustomFieldDef],
    extra_tags: &[String],
    region: Option<&str>,
    existing: &Existing,
    progress: Option<&AtomicU64>,
) -> ServiceResult<Plan> {
    let mut rdr = reader(text, delimiter);
    let headers = headers_of(&mut rdr)?;
    let mapping = &options.mapping;
    let custom_defs: Vec<Option<&CustomFieldDef>> = mapping
        .iter()
        .map(|t| match t {
            Target::Custom(k) => defs.iter().find(|d| &d.key == k),
            _ => None,
        })
        .collect();
    let mut report = DryRunReport::default();
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    let mut seen_phone: HashMap<String, u64> = HashMap::new();
    let mut seen_email: HashMap<String, u64> = HashMap::new();
    let mut row_no = 0u64;
    for rec in rdr.records() {
        let rec = rec.map_err(csv_error)?;
        if is_blank(&rec) {
            continue;
        }
        row_no += 1;
        if let Some(p) = progress {
            p.store(row_no / 2, Ordering::Relaxed);
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let mut issues: Vec<RowIssue> = Vec::new();
        // Spreadsheets often end every row with a delimiter: empty cells past
        // the header are not data. A short row, or text past the header, is.
        if rec.len() < headers.len() || rec.iter().skip(headers.len()).any(|c| !c.trim().is_empty()) {
            issues.push(RowIssue::Ragged { expected: headers.len(), found: rec.len() });
        }
        let mut row = NewRow {
            first: String::new(),
            last: String::new(),
            company: String::new(),
            title: String::new(),
            phone: None,
            national: None,
            email: None,
            timezone: String::new(),
            timezone_given: false,
            status: ProspectStatus::New,
            tags: extra_tags.to_vec(),
            custom: BTreeMap::new(),
            note: None,
        };
        let mut tz_given = String::new();
        if issues.is_empty() {
            for (i, cell) in rec.iter().take(headers.len()).enumerate() {
                let cell = cell.trim();
                let target = &mapping[i];
                if cell.is_empty() || *target == Target::Ignore {
                    continue;
                }
                let column = &headers[i];
                let text = |field: &str| {
                    normalize_text(field, cell).map_err(|e| RowIssue::InvalidValue {
                        column: column.clone(),
                        message: e.code.as_str().to_string(),
                    })
                };
                let res: Result<(), RowIssue> = (|| {
                    match target {
                        Target::FirstName => row.first = text("first_name")?,
                        Target::LastName => row.last = text("last_name")?,
                        Target::FullName => {
                            let full = text("name")?;
                            match full.split_once(' ') {
                                Some((f, l)) => {
                                    row.first = f.to_string();
                                    row.last = l.to_string();
                                }
                                None => row.first = full,
                            }
                        }
                        Target::Company => row.company = text("company")?,
                        Target::Title => row.title = text("title")?,
                        Target::Phone => {
                            let p = normalize_phone(cell, region).map_err(|_| RowIssue::InvalidPhone {
                                value: cell.chars().take(60).collect(),
                            })?;
                            if tz_given.is_empty() {
                                row.timezone = infer_timezone(&p).unwrap_or_default().to_string();
                            }
                            row.national = Some(p.national);
                            row.phone = Some(p.e164);
                        }
                        Target::Email => {
                            row.email = Some(domain::validation::normalize_email(cell).map_err(|_| {
                                RowIssue::InvalidEmail { value: cell.chars().take(100).collect() }
                            })?)
                        }
                        Target::Timezone => {
                            if !domain::compliance::is_valid_timezone(cell) {
                                return Err(RowIssue::InvalidTimezone {
                                    value: cell.chars().take(64).collect(),
                                });
                            }
                            tz_given = cell.to_string();
                            row.timezone = tz_given.clone();
                            row.timezone_given = true;
                        }
                        Target::Status => {
                            row.status = ProspectStatus::parse(cell).ok_or_else(|| {
                                RowIssue::InvalidStatus { value: cell.chars().take(60).collect() }
                            })?
                        }
                        Target::Tags => {
                            let mut all =
                                split_tags(cell).into_iter().map(str::to_string).collect::<Vec<_>>();
                            all.extend(row.tags.iter().cloned());
                            row.tags = normalize_tags(&all).map_err(|e| RowIssue::InvalidValue {
                                column: column.clone(),
                                message: e.code.as_str().to_string(),
                            })?;
                        }
                        Target::Note => {
                            row.note = Some(cell.chars().take(domain::prospect::MAX_NOTE_CHARS).collect())
                        }
                        Target::Custom(k) => {
                            let Some(def) = custom_defs[i] else { return Ok(()) };
                            if let Some(v) = def.check(&Value::String(cell.to_string())).map_err(|e| {
                                RowIssue::InvalidValue {
                                    column: column.clone(),
                                    message: e.detail.unwrap_or_else(|| e.code.as_str().to_string()),
                                }
                            })? {
                                row.custom.insert(k.clone(), v);
                            }
                        }
                        Target::Ignore => {}
                    }
                    Ok(())
                })();
                if let Err(issue) = res {
                    issues.push(issue);
                }
            }
            if row.first.is_empty() && row.last.is_empty() && row.company.is_empty() {
                issues.push(RowIssue::MissingName);
            }
            let contact_issue = issues
                .iter()
                .any(|i| matches!(i, RowIssue::InvalidPhone { .. } | RowIssue::InvalidEmail { .. }));
            if row.phone.is_none() && row.email.is_none() && !contact_issue {
                issues.push(RowIssue::MissingContact);
            }
        }
        let invalid = issues.iter().any(RowIssue::is_error);
        if invalid {
            report.invalid += 1;
        } else {
            let in_file = row
                .phone
                .as_ref()
                .and_then(|p| seen_phone.get(p).map(|r| (*r, "phone")))
                .or_else(|| row.email.as_ref().and_then(|e| seen_email.get(e).map(|r| (*r, "email"))));
            if let Some((first_row, by)) = in_file {
                issues.push(RowIssue::DuplicateInFile { first_row, by: by.into() });
                report.duplicates_in_file += 1;
            } else {
                if let Some(p) = &row.phone {
                    seen_phone.insert(p.clone(), row_no);
                }
                if let Some(e) = &row.email {
                    seen_email.insert(e.clone(), row_no);
                }
                let found = row
                    .phone
                    .as_ref()
                    .and_then(|p| existing.by_phone.get(p).map(|id| (*id, "phone")))
                    .or_else(|| {
                        row.email.as_ref().and_then(|e| existing.by_email.get(e).map(|id| (*id, "email")))
                    });
                match found {
                    Some((prospect_id, by)) => {
                        issues.push(RowIssue::DuplicateExisting { prospect_id, by: by.into() });
                        report.duplicates_existing += 1;
                        if options.duplicates == DuplicatePolicy::Update {
                            report.to_update += 1;
                            updates.push((prospect_id, row));
                        }
                    }
                    None => {
                        report.to_create += 1;
                        creates.push(row);
                    }
                }
            }
        }
        for i in &issues {
            *report.issue_counts.entry(issue_key(i)).or_default() += 1;
        }
        if !issues.is_empty() && report.rows.len() < MAX_REPORTED_ROWS {
            report.rows.push(RowReport { row: row_no, line, issues });
        }
    }
    report.total_rows = row_no;
    if row_no == 0 {
        return Err(ServiceError::new(ErrorCode::CsvEmpty));
    }
    Ok(Plan { report, creates, updates })
}

async fn prepare<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    m: &imports::Model,
    options: &ImportOptions,
    progress: Option<Arc<AtomicU64>>,
) -> ServiceResult<Plan> {
    let (text, delimiter) = text_of(m)?;
    let headers = headers_of(&mut reader(&text, delimiter))?;
    let defs = custom_fields::defs(db, ctx).await?;
    let (defs, extra_tags) = check_options(options, headers.len(), &defs)?;
    let settings = compliance::settings(db, ctx).await?;
    let region = match options.default_region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) if domain::phone::is_region(r) => Some(r.to_ascii_uppercase()),
        Some(r) => return Err(ServiceError::field(ErrorCode::InvalidValue, "default_region").with_detail(r)),
        None => settings.default_region,
    };
    let existing = existing(db, ctx).await?;
    let options = options.clone();
    tokio::task::spawn_blocking(move || {
        plan(
            &text,
            delimiter,
            &options,
            &defs,
            &extra_tags,
            region.as_deref(),
            &existing,
            progress.as_deref(),
        )
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "import planning panicked");
        ServiceError::internal()
    })?
}

pub async fn dry_run(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
    options: &ImportOptions,
) -> ServiceResult<DryRunReport> {
    ctx.require(Permission::UseWorkspace)?;
    let m = find_import(db, ctx, id).await?;
    Ok(prepare(db, ctx, &m, options, None).await?.report)
}

// ---- running ------------------------------------------------------------------------

fn to_job(m: &imports::Model) -> ImportJob {
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

/// The organisation's imports without their file (up to 50 MB each) or options.
fn summaries(ctx: &OrgCtx) -> sea_orm::Select<imports::Entity> {
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
        ])
        .column_as(Expr::value(Option::<Vec<u8>>::None), "data")
        .column_as(Expr::value(Option::<Value>::None), "options")
        .filter(imports::Column::OrgId.eq(ctx.org_id()))
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
    if m.data.is_none() || !startable {
        return Err(ServiceError::new(ErrorCode::ImportNotReady));
    }
    // Refuse bad options now, with a clear error, rather than in the job.
    {
        let (text, delimiter) = text_of(&m)?;
        let headers = headers_of(&mut reader(&text, delimiter))?;
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
struct ImportJobPayload {
    import_id: Uuid,
    options: ImportOptions,
    started_by: crate::authz::StartedBy,
}

/// Runs imports on the job runner: as whoever started them (still a member,
/// or a still-valid key), with progress written where any node can read it.
pub struct ImportHandler;

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
            let writer = tokio::spawn(write_progress(db.clone(), p.import_id, progress.clone()));
            let out = run(db, &ctx, p.import_id, &p.options, progress).await;
            writer.abort();
            out
        }
        .await;
        let Err(e) = outcome else { return Ok(()) };
        let failure = jobs::JobFailure::from(e.clone());
        if matches!(failure, jobs::JobFailure::Fatal(_)) || job.is_last_attempt() {
            tracing::warn!(import = %p.import_id, error = %e, "import failed; nothing was written");
            mark_failed(db, p.import_id, e.code).await;
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
        }
    }
}

async fn mark_failed(db: &DatabaseConnection, id: Uuid, code: ErrorCode) {
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

/// Copies the running import's progress to its row twice a second.
async fn write_progress(db: DatabaseConnection, id: Uuid, progress: Arc<AtomicU64>) {
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
    }
}

/// Plans outside the transaction (parsing and validating 100,000 rows takes
/// a moment; SQLite allows one writer at a time), then writes everything in
/// one transaction: the custom fields it creates, the rows, and the job's
/// final state — "succeeded" and the rows appear together or not at all.
async fn run(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
    options: &ImportOptions,
    progress: Arc<AtomicU64>,
) -> ServiceResult<()> {
    let m = find_import(db, ctx, id).await?;
    let plan = prepare(db, ctx, &m, options, Some(progress.clone())).await?;
    let total = plan.report.total_rows;
    let half = total / 2;
    progress.store(half, Ordering::Relaxed);

    let txn = crate::db::begin_org_write(db, ctx.org_id()).await?;
    for f in &options.new_fields {
        let def = CustomFieldDef { key: f.key.clone(), label: f.label.clone(), kind: f.kind.clone() };
        custom_fields::create_in(&txn, ctx, def).await?;
    }
    // Prospects created since planning (by hand, by another import) win:
    // rows that now match one are skipped, never duplicated.
    let now_existing = existing(&txn, ctx).await?;
    let taken = |r: &NewRow| {
        r.phone.as_ref().is_some_and(|p| now_existing.by_phone.contains_key(p))
            || r.email.as_ref().is_some_and(|e| now_existing.by_email.contains_key(e))
    };
    let creates: Vec<&NewRow> = plan.creates.iter().filter(|r| !taken(r)).collect();
    let skipped = total - creates.len() as u64 - plan.updates.len() as u64;
    let step = |done: u64| progress.store(half + (done * (total - half)) / total.max(1), Ordering::Relaxed);

    let at = now();
    let mut done = skipped;
    let batch = if db.get_database_backend() == sea_orm::DbBackend::Postgres { PG_BATCH } else { BATCH };
    for chunk in creates.chunks(batch) {
        insert_batch(&txn, ctx, id, chunk, at).await?;
        done += chunk.len() as u64;
        step(done);
    }
    for (prospect_id, row) in &plan.updates {
        merge(&txn, ctx, *prospect_id, row, id).await?;
        done += 1;
        step(done);
    }
    imports::Entity::update_many()
        .col_expr(imports::Column::State, Expr::value(JobState::Succeeded.as_str()))
        .col_expr(imports::Column::ProcessedRows, Expr::value(total as i64))
        .col_expr(imports::Column::Created, Expr::value(creates.len() as i64))
        .col_expr(imports::Column::Updated, Expr::value(plan.updates.len() as i64))
        .col_expr(imports::Column::Skipped, Expr::value(skipped as i64))
        .col_expr(imports::Column::FinishedAt, Expr::value(now()))
        // The file is personal data: keep it no longer than needed.
        .col_expr(imports::Column::Data, Expr::value(Option::<Vec<u8>>::None))
        .filter(imports::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    // A large import changes the table's statistics; without fresh ones the
    // planner picks poor plans for searches until autovacuum gets to it.
    if creates.len() >= 1000 {
        let sql = match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => "ANALYZE prospects",
            _ => "ANALYZE prospects",
        };
        if let Err(e) = db.execute_unprepared(sql).await {
            tracing::warn!(error = %e, "ANALYZE after import failed");
        }
    }
    Ok(())
}

async fn insert_batch(
    txn: &DatabaseTransaction,
    ctx: &OrgCtx,
    import_id: Uuid,
    rows: &[&NewRow],
    at: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<()> {
    let ids: Vec<Uuid> = rows.iter().map(|_| new_id()).collect();
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        return insert_batch_pg(txn, ctx, import_id, rows, &ids, at).await;
    }
    use prospects::Column as C;
    let mut stmt = Query::insert()
        .into_table(prospects::Entity)
        .columns([
            C::Id,
            C::OrgId,
            C::FirstName,
            C::LastName,
            C::Company,
            C::Title,
            C::Phone,
            C::Email,
            C::Timezone,
            C::Status,
            C::Custom,
            C::Tags,
            C::DoNotCall,
            C::OptedOut,
            C::SearchText,
            C::ImportId,
            C::CreatedBy,
            C::CreatedAt,
            C::UpdatedAt,
        ])
        .to_owned();
    let mut note_rows: Vec<(Uuid, &String)> = Vec::new();
    for (r, id) in rows.iter().zip(ids.iter().copied()) {
        let values: [SimpleExpr; 19] = [
            id.into(),
            ctx.org_id().into(),
            r.first.clone().into(),
            r.last.clone().into(),
            r.company.clone().into(),
            r.title.clone().into(),
            r.phone.clone().into(),
            r.email.clone().into(),
            r.timezone.clone().into(),
            r.status.as_str().into(),
            json!(r.custom).into(),
            domain::prospect::encode_tags(&r.tags).into(),
            false.into(),
            false.into(),
            search_text(
                &r.first,
                &r.last,
                &r.company,
                r.email.as_deref(),
                r.phone.as_deref(),
                r.national.as_deref(),
            )
            .into(),
            Some(import_id).into(),
            ctx.user_id().into(),
            at.into(),
            at.into(),
        ];
        stmt.values_panic(values);
        if let Some(n) = &r.note {
            note_rows.push((id, n));
        }
    }
    let backend = txn.get_database_backend();
    txn.execute(backend.build(&stmt)).await?;
    insert_notes(txn, ctx, &note_rows, at).await
}

async fn insert_notes(
    txn: &DatabaseTransaction,
    ctx: &OrgCtx,
    note_rows: &[(Uuid, &String)],
    at: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<()> {
    let backend = txn.get_database_backend();
    for chunk in note_rows.chunks(1000) {
        let mut n = Query::insert()
            .into_table(notes::Entity)
            .columns([
                notes::Column::Id,
                notes::Column::OrgId,
                notes::Column::ProspectId,
                notes::Column::AuthorId,
                notes::Column::ActorApiKeyId,
                notes::Column::ActorSystem,
                notes::Column::Body,
                notes::Column::CreatedAt,
            ])
            .to_owned();
        for (pid, body) in chunk {
            n.values_panic([
                new_id().into(),
                ctx.org_id().into(),
                (*pid).into(),
                ctx.user_id().into(),
                ctx.actor().api_key_id.into(),
                ctx.actor().system.map(str::to_string).into(),
                (*body).clone().into(),
                at.into(),
            ]);
        }
        txn.execute(backend.build(&n)).await?;
    }
    Ok(())
}

/// PostgreSQL: the whole batch travels as one JSON parameter expanded by
/// `json_to_recordset`. A multi-row `VALUES` with thousands of parameters
/// spends most of its time binding and parsing; this does not.
async fn insert_batch_pg(
    txn: &DatabaseTransaction,
    ctx: &OrgCtx,
    import_id: Uuid,
    rows: &[&NewRow],
    ids: &[Uuid],
    at: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<()> {
    let mut records = Vec::with_capacity(rows.len());
    let mut note_rows: Vec<(Uuid, &String)> = Vec::new();
    for (r, id) in rows.iter().zip(ids.iter().copied()) {
        records.push(json!({
            "id": id,
            "first_name": r.first,
            "last_name": r.last,
            "company": r.company,
            "title": r.title,
            "phone": r.phone,
            "email": r.email,
            "timezone": r.timezone,
            "status": r.status.as_str(),
            "custom": r.custom,
            "tags": domain::prospect::encode_tags(&r.tags),
            "search_text": search_text(&r.first, &r.last, &r.company, r.email.as_deref(), r.phone.as_deref(), r.national.as_deref()),
        }));
        if let Some(n) = &r.note {
            note_rows.push((id, n));
        }
    }
    let stmt = sea_orm::Statement::from_sql_and_values(
        sea_orm::DbBackend::Postgres,
        "INSERT INTO prospects (id, org_id, first_name, last_name, company, title, phone, email, timezone, status, \
         custom, tags, do_not_call, opted_out, search_text, import_id, created_by, created_at, updated_at) \
         SELECT x.id, $1, x.first_name, x.last_name, x.company, x.title, x.phone, x.email, x.timezone, x.status, \
         x.custom, x.tags, false, false, x.search_text, $2, $3, $4, $4 \
         FROM json_to_recordset($5::json) AS x(id uuid, first_name text, last_name text, company text, title text, \
         phone text, email text, timezone text, status text, custom json, tags text, search_text text)",
        [
            ctx.org_id().into(),
            import_id.into(),
            ctx.user_id().into(),
            at.into(),
            serde_json::Value::Array(records).to_string().into(),
        ],
    );
    txn.execute(stmt).await?;
    insert_notes(txn, ctx, &note_rows, at).await
}

/// Policy `update`: the row's non-empty values overwrite the prospect's;
/// tags and custom values are added to what it has.
async fn merge(
    txn: &DatabaseTransaction,
    ctx: &OrgCtx,
    id: Uuid,
    row: &NewRow,
    import_id: Uuid,
) -> ServiceResult<()> {
    let Some(old) =
        prospects::Entity::find_by_id(id).filter(prospects::Column::OrgId.eq(ctx.org_id())).one(txn).await?
    else {
        return Ok(());
    };
    fn pick(new: &str, old: &str) -> String {
        if new.is_empty() { old } else { new }.to_string()
    }
    let first = pick(&row.first, &old.first_name);
    let last = pick(&row.last, &old.last_name);
    let company = pick(&row.company, &old.company);
    let phone = row.phone.clone().or(old.phone.clone());
    let email = row.email.clone().or(old.email.clone());
    let national = row.national.clone().or_else(|| phone.as_deref().and_then(super::national_of));
    let mut custom = custom_of(&old);
    custom.extend(row.custom.clone());
    let mut changed: Vec<&str> = Vec::new();
    for (name, a, b) in [
        ("first_name", &first, &old.first_name),
        ("last_name", &last, &old.last_name),
        ("company", &company, &old.company),
    ] {
        if a != b {
            changed.push(name);
        }
    }
    let mut m: prospects::ActiveModel = old.clone().into();
    m.search_text =
        Set(search_text(&first, &last, &company, email.as_deref(), phone.as_deref(), national.as_deref()));
    m.first_name = Set(first);
    m.last_name = Set(last);
    m.company = Set(company);
    m.title = Set(pick(&row.title, &old.title));
    // A zone someone set by hand is kept unless the file gives one or the
    // number changes (then the new number's zone, or none, as on an edit).
    let number_changed = row.phone.is_some() && row.phone != old.phone;
    if row.timezone_given || number_changed || old.timezone.is_empty() {
        m.timezone = Set(row.timezone.clone());
    }
    m.phone = Set(phone);
    m.email = Set(email);
    if row.status != ProspectStatus::New {
        m.status = Set(row.status.as_str().to_string());
    }
    m.custom = Set(json!(custom));
    if !row.tags.is_empty() {
        let mut all = domain::prospect::decode_tags(&old.tags);
        all.extend(row.tags.iter().cloned());
        all.sort();
        all.dedup();
        m.tags = Set(domain::prospect::encode_tags(&all));
    }
    m.updated_at = Set(now());
    m.update(txn).await?;
    if let Some(n) = &row.note {
        notes::ActiveModel {
            id: Set(new_id()),
            org_id: Set(ctx.org_id()),
            prospect_id: Set(id),
            author_id: Set(ctx.user_id()),
            actor_api_key_id: Set(ctx.actor().api_key_id),
            actor_system: Set(ctx.actor().system.map(str::to_string)),
            body: Set(n.clone()),
            created_at: Set(now()),
        }
        .insert(txn)
        .await?;
    }
    timeline::record(txn, ctx, id, "updated_by_import", json!({"import_id": import_id, "fields": changed}))
        .await?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_detected() {
        assert_eq!(decode(b"a,b\n1,2").unwrap().1, Encoding::Utf8);
        let (t, e) = decode(b"\xEF\xBB\xBFnom;pr\xC3\xA9nom").unwrap();
        assert_eq!((t.as_str(), e), ("nom;prénom", Encoding::Utf8));
        let (t, e) = decode(b"soci\xE9t\xE9;\x80").unwrap();
        assert_eq!((t.as_str(), e), ("société;€", Encoding::Windows1252));
        let utf16: Vec<u8> =
            [0xFF, 0xFE].into_iter().chain("é,b".encode_utf16().flat_map(|u| u.to_le_bytes())).collect();
        assert_eq!(decode(&utf16).unwrap(), ("é,b".to_string(), Encoding::Utf16le));
        assert_eq!(decode(b"").unwrap_err().code, ErrorCode::CsvEmpty);
        assert_eq!(decode(b"\x89PNG\r\n\x1a\n\0\0").unwrap_err().code, ErrorCode::CsvMalformed);
    }

    #[test]
    fn delimiters_are_sniffed_from_the_header_line() {
        assert_eq!(sniff_delimiter("a,b,c\n1;2;3;4;5"), b',');
        assert_eq!(sniff_delimiter("nom;prénom;\"a,b\"\n"), b';');
        assert_eq!(sniff_delimiter("a\tb\tc"), b'\t');
        assert_eq!(sniff_delimiter("single"), b',');
    }

    fn opts(mapping: Vec<Target>) -> ImportOptions {
        ImportOptions {
            mapping,
            new_fields: vec![],
            duplicates: DuplicatePolicy::Skip,
            default_region: None,
            tags: vec![],
        }
    }

    #[test]
    fn the_plan_reports_every_kind_of_bad_row() {
        let csv = "name,phone,email,status\n\
                   Jean Dupont,06 12 34 56 78,jean@acme.fr,interested\n\
                   Bad Phone,12,,\n\
                   No Contact,,,\n\
                   ,0612345679,,\n\
                   Dup In File,06 12 34 56 78,,\n\
                   Ragged,0612345670\n\
                   \"Multi\nLine\",0612345671,bad@,new\n\
                   Existing,0612345672,,maybe\n\
                   Existing Two,0612345673,,\n";
        let mapping = vec![Target::FullName, Target::Phone, Target::Email, Target::Status];
        let mut existing = Existing::default();
        let known = Uuid::now_v7();
        existing.by_phone.insert("+33612345673".into(), known);
        let plan = plan(csv, b',', &opts(mapping), &[], &[], Some("FR"), &existing, None).unwrap();
        let r = &plan.report;
        assert_eq!(r.total_rows, 9);
        assert_eq!(r.to_create, 1);
        assert_eq!(r.duplicates_in_file, 1);
        assert_eq!(r.duplicates_existing, 1);
        assert_eq!(r.invalid, 6);
        let kinds = |row: u64| -> Vec<String> {
            r.rows
                .iter()
                .find(|x| x.row == row)
                .map(|x| x.issues.iter().map(issue_key).collect())
                .unwrap_or_default()
        };
        assert_eq!(kinds(2), vec!["invalid_phone"]);
        assert_eq!(kinds(3), vec!["missing_contact"]);
        assert_eq!(kinds(4), vec!["missing_name"]);
        assert_eq!(kinds(5), vec!["duplicate_in_file"]);
        assert_eq!(kinds(6), vec!["ragged"]);
        assert_eq!(kinds(7), vec!["invalid_email"]);
        assert_eq!(kinds(8), vec!["invalid_status"]);
        assert_eq!(kinds(9), vec!["duplicate_existing"]);
        // The quoted newline makes row 8 start on line 9 of the file.
        assert_eq!(r.rows.iter().find(|x| x.row == 8).unwrap().line, 10);
        let created = &plan.creates[0];
        assert_eq!((created.first.as_str(), created.last.as_str()), ("Jean", "Dupont"));
        assert_eq!(created.phone.as_deref(), Some("+33612345678"));
        assert_eq!(created.timezone, "Europe/Paris");
        assert_eq!(created.status, ProspectStatus::Interested);
    }

    #[test]
    fn options_are_checked_against_the_file() {
        let e = check_options(&opts(vec![Target::Phone]), 2, &[]).unwrap_err();
        assert_eq!(e.code, ErrorCode::MappingInvalid);
        let e = check_options(&opts(vec![Target::Phone, Target::Phone]), 2, &[]).unwrap_err();
        assert_eq!(e.code, ErrorCode::MappingInvalid);
        let e = check_options(&opts(vec![Target::FirstName, Target::Company]), 2, &[]).unwrap_err();
        assert_eq!(e.detail.as_deref(), Some("map a phone or an email column"));
        let e = check_options(&opts(vec![Target::Phone, Target::Custom("nope".into())]), 2, &[]).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidFieldName);
        assert!(check_options(&opts(vec![Target::Phone, Target::Ignore]), 2, &[]).is_ok());
    }
}

/// Property tests of the pure import pipeline (decode → sniff → read →
/// plan): any bytes are either refused with a CSV error or read, never a
/// panic, and what is read is bounded by what was uploaded.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    fn is_csv_error(e: &ServiceError) -> bool {
        matches!(e.code, ErrorCode::CsvEmpty | ErrorCode::CsvMalformed)
    }

    /// Bytes built from what CSV files are made of — delimiters, quotes,
    /// line endings, byte-order marks, Windows-1252 and UTF-8 text, NULs —
    /// so inputs reach every branch of the decoder and the reader.
    fn csv_bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            8 => prop::sample::select(vec![
                &b","[..], b";", b"\t", b"|", b"\"", b"\"\"", b"\n", b"\n", b"\r", b"\r\n", b" ", b"a", b"Jean Dupont",
                b"name", b"phone", b"email", b"tags", b"Nom", b"06 12 34 56 78", b"+33612345678", b"x@y.fr", b"new",
                b"Europe/Paris", b"\xEF\xBB\xBF", b"\xFF\xFE", b"\xFE\xFF", b"\0", b"\xE9", b"\x80", b"\x9D",
                b"\xC3\xA9", b"\xC3", b"\xF0\x9F\x98\x80",
            ])
            .prop_map(<[u8]>::to_vec),
            1 => prop::collection::vec(any::<u8>(), 0..16),
        ];
        prop_oneof![
            6 => prop::collection::vec(piece, 0..96).prop_map(|p| p.concat()),
            2 => prop::collection::vec(any::<u8>(), 0..4096),
            // A quoted field that never ends, or ends far away.
            1 => (1usize..16_384, any::<bool>()).prop_map(|(n, close)| {
                let mut v = b"name,phone\n\"".to_vec();
                v.extend(std::iter::repeat_n(b'x', n));
                if close {
                    v.extend_from_slice(b"\",0612345678\n");
                }
                v
            }),
        ]
    }

    /// Files that look like real prospect lists, so the planner gets rows
    /// worth validating: known headers, valid and invalid values, quoted
    /// cells with delimiters and newlines, ragged and blank rows.
    fn prospect_file() -> impl Strategy<Value = String> {
        let header = prop::sample::select(vec![
            "name",
            "First name",
            "Nom",
            "Prénom",
            "Société",
            "phone",
            "Téléphone",
            "email",
            "Courriel",
            "tags",
            "status",
            "timezone",
            "note",
            "title",
            "",
            "Unknown",
            "phone",
        ]);
        let cell = prop::sample::select(vec![
            "",
            " ",
            "Jean Dupont",
            "Ada",
            "06 12 34 56 78",
            "+33 6 12 34 56 79",
            "0612345670",
            "12",
            "+1 415 555 2671",
            "x@y.fr",
            "bad@",
            "X@Y.FR",
            "new",
            "interested",
            "maybe",
            "Europe/Paris",
            "Mars/Base",
            "vip, salon;2026",
            "\"a,b\"",
            "\"multi\nline\"",
            "\"quote \"\"here\"\"\"",
            "é✓",
            "\"",
            "a\"b",
        ]);
        let delimiter = prop::sample::select(vec![",", ";", "\t", "|"]);
        (
            delimiter,
            prop::collection::vec(header, 1..8),
            prop::collection::vec(prop::collection::vec(cell, 0..9), 0..24),
            any::<bool>(),
        )
            .prop_map(|(d, headers, rows, crlf)| {
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut out = headers.join(d);
                for row in rows {
                    out.push_str(eol);
                    out.push_str(&row.join(d));
                }
                out
            })
    }

    fn plan_of(text: &str, delimiter: u8, duplicates: DuplicatePolicy) -> Option<Plan> {
        let headers = headers_of(&mut reader(text, delimiter)).ok()?;
        let options = ImportOptions {
            mapping: suggest_mapping(&headers, &[]),
            new_fields: vec![],
            duplicates,
            default_region: Some("FR".into()),
            tags: vec![],
        };
        let mut existing = Existing::default();
        existing.by_phone.insert("+33612345679".into(), Uuid::nil());
        existing.by_email.insert("x@y.fr".into(), Uuid::nil());
        plan(text, delimiter, &options, &[], &[], Some("FR"), &existing, None).ok()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, max_shrink_iters: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_bytes_decode_to_bounded_text_or_a_csv_error(data in csv_bytes()) {
            let (text, encoding) = match decode(&data) {
                Ok(ok) => ok,
                Err(e) => {
                    prop_assert!(is_csv_error(&e), "{:?}", e);
                    return Ok(());
                }
            };
            prop_assert!(!text.contains('\r'));
            prop_assert!(text.len() <= 3 * data.len());
            let crlf = data.windows(2).filter(|w| *w == b"\r\n").count();
            match encoding {
                Encoding::Windows1252 => {
                    prop_assert!(std::str::from_utf8(&data).is_err());
                    // One character per byte, less the `\r` of each `\r\n`.
                    prop_assert_eq!(text.chars().count(), data.len() - crlf);
                }
                Encoding::Utf8 if !data.starts_with(b"\xEF\xBB\xBF") => {
                    let raw = std::str::from_utf8(&data).unwrap();
                    prop_assert_eq!(text, raw.replace("\r\n", "\n").replace('\r', "\n"));
                }
                _ => {}
            }
        }

        #[test]
        fn any_file_is_scanned_within_bounds_or_refused(data in csv_bytes()) {
            match scan(&data) {
                Ok(s) => {
                    prop_assert_eq!(&s.text, &decode(&data).unwrap().0);
                    prop_assert!(b",;\t|".contains(&s.delimiter));
                    prop_assert_eq!(s.delimiter, sniff_delimiter(&s.text));
                    prop_assert!(!s.headers.is_empty() && s.headers.len() <= MAX_COLUMNS);
                    prop_assert!(s.headers.iter().all(|h| !h.is_empty() && h.chars().count() <= 100));
                    // Every record but the last ends a line, and the header is one.
                    prop_assert!(s.total >= 1 && s.total <= s.text.matches('\n').count() as u64);
                    prop_assert!(s.sample.len() <= 5 && s.sample.len() as u64 <= s.total);
                    prop_assert!(s.sample.iter().all(|r| r.len() <= s.headers.len()));
                    prop_assert!(s.sample.iter().flatten().all(|c| c.chars().count() <= 200));
                }
                Err(e) => prop_assert!(is_csv_error(&e), "{:?}", e),
            }
        }

        #[test]
        fn utf16_with_a_mark_decodes_to_the_same_text(s in "\\PC{0,256}", big_endian in any::<bool>()) {
            let mut data = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
            for unit in s.encode_utf16() {
                data.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
            }
            let want = s.replace("\r\n", "\n").replace('\r', "\n");
            let enc = if big_endian { Encoding::Utf16be } else { Encoding::Utf16le };
            prop_assert_eq!(decode(&data).unwrap(), (want.clone(), enc));
            // An odd byte count is a truncated file, refused.
            data.push(0);
            prop_assert_eq!(decode(&data).unwrap_err().code, ErrorCode::CsvMalformed);
            // And with a UTF-8 mark, UTF-8 text.
            let mut utf8 = b"\xEF\xBB\xBF".to_vec();
            utf8.extend_from_slice(s.as_bytes());
            prop_assert_eq!(decode(&utf8).unwrap(), (want, Encoding::Utf8));
        }

        #[test]
        fn the_sniffed_delimiter_splits_the_header_best(file in prospect_file()) {
            let Ok((text, _)) = decode(file.as_bytes()) else { return Ok(()) };
            let d = sniff_delimiter(&text);
            let header = text.lines().next().unwrap_or_default();
            // Counted outside quotes, no other candidate occurs more often.
            let count = |c: u8| {
                let mut quoted = false;
                header
                    .bytes()
                    .filter(|b| {
                        if *b == b'"' {
                            quoted = !quoted;
                        }
                        !quoted && *b == c
                    })
                    .count()
            };
            prop_assert!(b",;\t|".iter().all(|c| count(*c) <= count(d)));
        }

        #[test]
        fn the_plan_accounts_for_every_row(file in prospect_file(), update in any::<bool>()) {
            let Ok(scanned) = scan(file.as_bytes()) else { return Ok(()) };
            let policy = if update { DuplicatePolicy::Update } else { DuplicatePolicy::Skip };
            let Some(plan) = plan_of(&scanned.text, scanned.delimiter, policy) else { return Ok(()) };
            let r = &plan.report;
            // The dry run counts the rows the upload counted.
            prop_assert_eq!(r.total_rows, scanned.total);
            prop_assert_eq!(r.total_rows, r.invalid + r.duplicates_in_file + r.duplicates_existing + r.to_create);
            prop_assert_eq!(plan.creates.len() as u64, r.to_create);
            prop_assert_eq!(plan.updates.len() as u64, r.to_update);
            prop_assert_eq!(r.to_update, if update { r.duplicates_existing } else { 0 });
            prop_assert!(r.rows.len() <= MAX_REPORTED_ROWS);
            prop_assert!(r.rows.windows(2).all(|w| w[0].row < w[1].row && w[0].line <= w[1].line));
            prop_assert!(r.rows.iter().all(|x| x.row >= 1 && x.row <= r.total_rows && !x.issues.is_empty()));
            for row in plan.creates.iter().chain(plan.updates.iter().map(|(_, row)| row)) {
                prop_assert!(row.phone.is_some() || row.email.is_some());
                prop_assert!(row.phone.as_deref().is_none_or(|p| p.starts_with('+')));
                prop_assert!(!(row.first.is_empty() && row.last.is_empty() && row.company.is_empty()));
            }
        }
    }
}
