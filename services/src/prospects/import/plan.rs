//! Planning, shared by the dry run and the job: each row mapped, validated,
//! normalised and matched against existing prospects, with a report per row.

#[allow(unused_imports)]
use super::*;

/// A row ready to insert.
pub(super) struct NewRow {
    pub(super) first: String,
    pub(super) last: String,
    pub(super) company: String,
    pub(super) title: String,
    pub(super) phone: Option<String>,
    pub(super) national: Option<String>,
    pub(super) email: Option<String>,
    pub(super) timezone: String,
    /// The zone came from the file, not inferred from the number.
    pub(super) timezone_given: bool,
    pub(super) status: ProspectStatus,
    pub(super) tags: Vec<String>,
    pub(super) custom: BTreeMap<String, Value>,
    pub(super) note: Option<String>,
}

/// What the database already holds, for duplicate detection.
#[derive(Default)]
pub(super) struct Existing {
    pub(super) by_phone: HashMap<String, Uuid>,
    pub(super) by_email: HashMap<String, Uuid>,
}

impl Existing {
    /// The prospect a row duplicates, and by what: the phone first.
    pub(super) fn matching(&self, row: &NewRow) -> Option<(Uuid, &'static str)> {
        row.phone
            .as_ref()
            .and_then(|p| self.by_phone.get(p).map(|id| (*id, "phone")))
            .or_else(|| row.email.as_ref().and_then(|e| self.by_email.get(e).map(|id| (*id, "email"))))
    }
}

/// Checks the options against the file's columns and the organisation's
/// custom fields; returns every definition the rows will be checked against.
pub(super) fn check_options(
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

pub(super) fn target_name(t: &Target) -> String {
    match t {
        Target::Custom(k) => format!("custom.{k}"),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.get("to").and_then(|s| s.as_str()).map(str::to_string))
            .unwrap_or_default(),
    }
}

pub(super) fn issue_key(i: &RowIssue) -> String {
    serde_json::to_value(i)
        .ok()
        .and_then(|v| v.get("kind").and_then(|s| s.as_str()).map(str::to_string))
        .unwrap_or_default()
}

/// Validates rows one at a time, and finds duplicates within the file.
/// Holds nothing per row but two small maps of hashed phones and emails
/// (to name the first row of a duplicate): a million rows cost ~40 MB.
pub(super) struct Planner<'a> {
    headers: Vec<String>,
    mapping: &'a [Target],
    custom_defs: Vec<Option<CustomFieldDef>>,
    extra_tags: &'a [String],
    region: Option<&'a str>,
    seen_phone: HashMap<u64, u32>,
    seen_email: HashMap<u64, u32>,
}

/// One row after validation and the in-file duplicate check.
pub(super) enum Checked {
    /// Invalid, or a duplicate of an earlier row: not imported.
    Problem(Vec<RowIssue>),
    /// Valid and first of its kind in the file; whether it exists already
    /// is for the database to say. (Boxed: a row is ten times an issue list.)
    Candidate(Box<NewRow>),
}

/// A row as read: its numbers, its cells (for the problems file) and verdict.
pub(super) struct RowOut {
    pub(super) row: u64,
    pub(super) line: u64,
    pub(super) cells: Vec<String>,
    pub(super) checked: Checked,
}

/// Hashing with fixed keys: the same value hashes the same in every run.
fn key(s: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(s)
}

impl<'a> Planner<'a> {
    pub(super) fn new(
        headers: Vec<String>,
        options: &'a ImportOptions,
        defs: &[CustomFieldDef],
        extra_tags: &'a [String],
        region: Option<&'a str>,
    ) -> Self {
        let custom_defs = options
            .mapping
            .iter()
            .map(|t| match t {
                Target::Custom(k) => defs.iter().find(|d| &d.key == k).cloned(),
                _ => None,
            })
            .collect();
        Planner {
            headers,
            mapping: &options.mapping,
            custom_defs,
            extra_tags,
            region,
            seen_phone: HashMap::new(),
            seen_email: HashMap::new(),
        }
    }

    pub(super) fn check(&mut self, rec: &csv::StringRecord, row_no: u64) -> Checked {
        let headers = &self.headers;
        let mapping = self.mapping;
        let region = self.region;
        let mut issues: Vec<RowIssue> = Vec::new();
        // Spreadsheets often end every row with a delimiter: empty cells past
        // the header are not data. A short row, or text past the header, is.
        if rec.len() < headers.len() || rec.iter().skip(headers.len()).any(|c| !c.trim().is_empty()) {
            issues.push(RowIssue::Ragged { expected: headers.len(), found: rec.len() });
            return Checked::Problem(issues);
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
            tags: self.extra_tags.to_vec(),
            custom: BTreeMap::new(),
            note: None,
        };
        let mut tz_given = String::new();
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
                        let p = normalize_phone(cell, region)
                            .map_err(|_| RowIssue::InvalidPhone { value: cell.chars().take(60).collect() })?;
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
                            return Err(RowIssue::InvalidTimezone { value: cell.chars().take(64).collect() });
                        }
                        tz_given = cell.to_string();
                        row.timezone = tz_given.clone();
                        row.timezone_given = true;
                    }
                    Target::Status => {
                        row.status = ProspectStatus::parse(cell).ok_or_else(|| RowIssue::InvalidStatus {
                            value: cell.chars().take(60).collect(),
                        })?
                    }
                    Target::Tags => {
                        let mut all = split_tags(cell).into_iter().map(str::to_string).collect::<Vec<_>>();
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
                        let Some(def) = &self.custom_defs[i] else { return Ok(()) };
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
        let contact_issue =
            issues.iter().any(|i| matches!(i, RowIssue::InvalidPhone { .. } | RowIssue::InvalidEmail { .. }));
        if row.phone.is_none() && row.email.is_none() && !contact_issue {
            issues.push(RowIssue::MissingContact);
        }
        if issues.iter().any(RowIssue::is_error) {
            return Checked::Problem(issues);
        }
        let phone_key = row.phone.as_deref().map(key);
        let email_key = row.email.as_deref().map(key);
        let in_file = phone_key
            .and_then(|k| self.seen_phone.get(&k).map(|r| (*r, "phone")))
            .or_else(|| email_key.and_then(|k| self.seen_email.get(&k).map(|r| (*r, "email"))));
        if let Some((first_row, by)) = in_file {
            issues.push(RowIssue::DuplicateInFile { first_row: first_row as u64, by: by.into() });
            return Checked::Problem(issues);
        }
        let at = u32::try_from(row_no).unwrap_or(u32::MAX);
        if let Some(k) = phone_key {
            self.seen_phone.insert(k, at);
        }
        if let Some(k) = email_key {
            self.seen_email.insert(k, at);
        }
        Checked::Candidate(Box::new(row))
    }
}

/// Counts a row in the report, with its final issues (none for a row to
/// create), and keeps the first [`MAX_REPORTED_ROWS`] rows with an issue.
pub(super) fn record(report: &mut DryRunReport, row: u64, line: u64, issues: Vec<RowIssue>) {
    report.total_rows += 1;
    for i in &issues {
        *report.issue_counts.entry(issue_key(i)).or_default() += 1;
    }
    if issues.is_empty() {
        return;
    }
    report.problem_rows += 1;
    if report.rows.len() < MAX_REPORTED_ROWS {
        report.rows.push(RowReport { row, line, issues });
    }
}

/// The pure plan over a whole text, for tests: what the streaming pipeline
/// does, with the database's prospects given as maps.
#[cfg(test)]
pub(super) struct Plan {
    pub(super) report: DryRunReport,
    pub(super) creates: Vec<NewRow>,
    /// Existing prospect, and the row's values to merge into it.
    pub(super) updates: Vec<(Uuid, NewRow)>,
}

#[allow(clippy::too_many_arguments)]
#[cfg(test)]
pub(super) fn plan(
    text: &str,
    delimiter: u8,
    options: &ImportOptions,
    defs: &[CustomFieldDef],
    extra_tags: &[String],
    region: Option<&str>,
    existing: &Existing,
) -> ServiceResult<Plan> {
    let mut rdr = reader(text, delimiter);
    let headers = headers_of(&mut rdr)?;
    let mut planner = Planner::new(headers, options, defs, extra_tags, region);
    let mut report = DryRunReport::default();
    let (mut creates, mut updates) = (Vec::new(), Vec::new());
    let mut row_no = 0u64;
    for rec in rdr.records() {
        let rec = rec.map_err(csv_error)?;
        if is_blank(&rec) {
            continue;
        }
        row_no += 1;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        match planner.check(&rec, row_no) {
            Checked::Problem(issues) => {
                count_problem(&mut report, &issues);
                record(&mut report, row_no, line, issues);
            }
            Checked::Candidate(row) => {
                let found = existing.matching(&row);
                let issues = classify(&mut report, found, options.duplicates);
                match (found, options.duplicates) {
                    (None, _) => creates.push(*row),
                    (Some((id, _)), DuplicatePolicy::Update) => updates.push((id, *row)),
                    _ => {}
                }
                record(&mut report, row_no, line, issues);
            }
        }
    }
    if row_no == 0 {
        return Err(ServiceError::new(ErrorCode::CsvEmpty));
    }
    Ok(Plan { report, creates, updates })
}

/// Counts a row refused before the database is asked.
pub(super) fn count_problem(report: &mut DryRunReport, issues: &[RowIssue]) {
    if issues.iter().any(|i| matches!(i, RowIssue::DuplicateInFile { .. })) {
        report.duplicates_in_file += 1;
    } else {
        report.invalid += 1;
    }
}

/// Counts a valid row by what the database holds; returns its issues.
pub(super) fn classify(
    report: &mut DryRunReport,
    found: Option<(Uuid, &str)>,
    policy: DuplicatePolicy,
) -> Vec<RowIssue> {
    match found {
        Some((prospect_id, by)) => {
            report.duplicates_existing += 1;
            if policy == DuplicatePolicy::Update {
                report.to_update += 1;
            }
            vec![RowIssue::DuplicateExisting { prospect_id, by: by.into() }]
        }
        None => {
            report.to_create += 1;
            Vec::new()
        }
    }
}

/// Rows per batch between the reader thread and the database: one
/// duplicate lookup and one insert per batch. PostgreSQL takes a batch as
/// one JSON document; SQLite's inserts are split by its parameter limit.
const BATCH_ROWS: usize = 1000;
const PG_BATCH_ROWS: usize = 5000;

/// What a run does with the rows it reads.
pub(super) enum Mode<'t> {
    /// Counts, and keeps every problem row in the problems file.
    DryRun,
    /// Writes them in this transaction.
    Write { txn: &'t DatabaseTransaction, import_id: Uuid, at: chrono::DateTime<chrono::Utc> },
}

/// What a write run did.
#[derive(Default)]
pub(super) struct Outcome {
    pub(super) report: DryRunReport,
    pub(super) created: u64,
    pub(super) updated: u64,
}

pub(super) fn encoding_of(m: &imports::Model) -> Encoding {
    serde_json::from_value(Value::String(m.encoding.clone())).unwrap_or(Encoding::Utf8)
}

fn delimiter_of(m: &imports::Model) -> u8 {
    m.delimiter.bytes().next().unwrap_or(b',')
}

/// The stored file's header row (reads only its first block).
pub(super) async fn stored_headers(
    db: &DatabaseConnection,
    m: &imports::Model,
) -> ServiceResult<Vec<String>> {
    if m.file_bytes <= 0 || m.total_rows <= 0 {
        return Err(ServiceError::new(ErrorCode::ImportNotReady));
    }
    let text = DecodingReader::new(store::chunk_reader(db.clone(), m.id, store::FILE), encoding_of(m));
    let delimiter = delimiter_of(m);
    blocking(move || {
        let (_, mut rdr) = stream_reader(text, Some(delimiter)).map_err(io_error)?;
        headers_of(&mut rdr)
    })
    .await
}

/// Runs CPU-bound work on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ServiceResult<T> + Send + 'static,
) -> ServiceResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "import worker panicked");
        ServiceError::internal()
    })?
}

pub(super) fn io_error(e: std::io::Error) -> ServiceError {
    ServiceError::new(ErrorCode::CsvMalformed).with_detail(match e.kind() {
        std::io::ErrorKind::InvalidData => e.to_string(),
        _ => "unreadable data".into(),
    })
}

/// Reads the stored file once, as a stream: a thread decodes and checks
/// rows and hands batches to this task, which asks the database about
/// duplicates and, in [`Mode::Write`], writes them. Memory stays flat
/// whatever the file's size (two batches in flight, the duplicate maps).
pub(super) async fn pipeline(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    m: &imports::Model,
    options: &ImportOptions,
    mode: Mode<'_>,
    progress: Option<&AtomicU64>,
) -> ServiceResult<Outcome> {
    let headers = stored_headers(db, m).await?;
    let defs = custom_fields::defs(db, ctx).await?;
    let (defs, extra_tags) = check_options(options, headers.len(), &defs)?;
    let settings = compliance::settings(db, ctx).await?;
    let region = match options.default_region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) if domain::phone::is_region(r) => Some(r.to_ascii_uppercase()),
        Some(r) => return Err(ServiceError::field(ErrorCode::InvalidValue, "default_region").with_detail(r)),
        None => settings.default_region,
    };
    let dry = matches!(mode, Mode::DryRun);
    let mut problems = dry.then(|| store::ChunkWriter::new(m.id, store::PROBLEMS));
    if let Some(w) = problems.as_mut() {
        store::forget(db, m.id, store::PROBLEMS).await?;
        let mut head = csv::Writer::from_writer(Vec::new());
        let mut cols = vec!["row".to_string(), "line".into(), "issues".into()];
        cols.extend(headers.iter().cloned());
        head.write_record(&cols).map_err(|_| ServiceError::internal())?;
        let bytes = head.into_inner().map_err(|_| ServiceError::internal())?;
        w.write(db, &bytes).await?;
    }

    let preloaded = preload(db, ctx).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<ServiceResult<Vec<RowOut>>>(2);
    let text = DecodingReader::new(store::chunk_reader(db.clone(), m.id, store::FILE), encoding_of(m));
    let delimiter = delimiter_of(m);
    let opts = options.clone();
    let batch_rows =
        if db.get_database_backend() == sea_orm::DbBackend::Postgres { PG_BATCH_ROWS } else { BATCH_ROWS };
    let parser = tokio::task::spawn_blocking(move || {
        let read = || -> ServiceResult<()> {
            let (_, mut rdr) = stream_reader(text, Some(delimiter)).map_err(io_error)?;
            let headers = headers_of(&mut rdr)?;
            let width = headers.len();
            let mut planner = Planner::new(headers, &opts, &defs, &extra_tags, region.as_deref());
            let mut batch = Vec::with_capacity(batch_rows);
            let mut rec = csv::StringRecord::new();
            let mut row_no = 0u64;
            while rdr.read_record(&mut rec).map_err(csv_error)? {
                if is_blank(&rec) {
                    continue;
                }
                row_no += 1;
                let line = rec.position().map(|p| p.line()).unwrap_or(0);
                let checked = planner.check(&rec, row_no);
                // The problems file repeats a row's cells (as wide as the header).
                // (Padded, so that the problems file stays rectangular.)
                let cells = if dry {
                    let mut cells: Vec<String> = rec.iter().take(width).map(str::to_string).collect();
                    cells.resize(width, String::new());
                    cells
                } else {
                    Vec::new()
                };
                batch.push(RowOut { row: row_no, line, cells, checked });
                if batch.len() == batch_rows {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_rows));
                    if tx.blocking_send(Ok(full)).is_err() {
                        return Ok(());
                    }
                }
            }
            if !batch.is_empty() {
                let _ = tx.blocking_send(Ok(batch));
            }
            Ok(())
        };
        if let Err(e) = read() {
            let _ = tx.blocking_send(Err(e));
        }
    });

    let mut out = Outcome::default();
    let mut report = DryRunReport::default();
    // Each batch's inserts are built on a blocking thread while the
    // database runs the previous batch's: both work at the same time.
    let backend = db.get_database_backend();
    let mut built: Option<Vec<sea_orm::Statement>> = None;
    while let Some(batch) = rx.recv().await {
        let batch = batch?;
        // Outside the transaction, even when writing: it sees the prospects
        // that existed before the import, which is what a row is compared
        // with (rows of this file are already compared with each other, and
        // the organisation's write lock keeps anyone else from committing
        // one meanwhile). Inside it, every lookup would also walk the rows
        // this import has written so far: a million-row import slowed down
        // as it grew.
        let fetched;
        let existing = match &preloaded {
            Some(all) => all,
            None => {
                let (mut phones, mut emails) = (Vec::new(), Vec::new());
                for r in &batch {
                    if let Checked::Candidate(row) = &r.checked {
                        phones.extend(row.phone.clone());
                        emails.extend(row.email.clone());
                    }
                }
                fetched = lookup(db, ctx, phones, emails).await?;
                &fetched
            }
        };
        let mut creates: Vec<NewRow> = Vec::new();
        let mut updates: Vec<(Uuid, NewRow)> = Vec::new();
        let mut problem_text = csv::Writer::from_writer(Vec::new());
        for r in batch {
            let issues = match r.checked {
                Checked::Problem(issues) => {
                    count_problem(&mut report, &issues);
                    issues
                }
                Checked::Candidate(row) => {
                    let found = existing.matching(&row);
                    let issues = classify(&mut report, found, options.duplicates);
                    if !dry {
                        match (found, options.duplicates) {
                            (None, _) => creates.push(*row),
                            (Some((id, _)), DuplicatePolicy::Update) => updates.push((id, *row)),
                            _ => {}
                        }
                    }
                    issues
                }
            };
            if dry && !issues.is_empty() {
                let kinds: Vec<String> = issues.iter().map(issue_key).collect();
                let mut record = vec![r.row.to_string(), r.line.to_string(), kinds.join("; ")];
                record.extend(r.cells);
                problem_text.write_record(&record).map_err(|_| ServiceError::internal())?;
            }
            record(&mut report, r.row, r.line, issues);
        }
        if let Some(w) = problems.as_mut() {
            let bytes = problem_text.into_inner().map_err(|_| ServiceError::internal())?;
            w.write(db, &bytes).await?;
        }
        if let Mode::Write { txn, import_id, at } = &mode {
            out.created += creates.len() as u64;
            out.updated += updates.len() as u64;
            let (ctx, import_id, at) = (*ctx, *import_id, *at);
            let building = blocking(move || Ok(insert_statements(backend, ctx, import_id, &creates, at)));
            let (ran, next) = tokio::join!(run_statements(txn, built.take()), building);
            ran?;
            built = Some(next?);
            // Merges touch prospects that existed before the import, never
            // rows it creates: their order against the inserts is free.
            for (prospect_id, row) in &updates {
                merge(txn, &ctx, *prospect_id, row, import_id).await?;
            }
        }
        if let Some(p) = progress {
            p.store(report.total_rows, Ordering::Relaxed);
        }
    }
    if let Mode::Write { txn, .. } = &mode {
        run_statements(txn, built.take()).await?;
    }
    parser.await.map_err(|_| ServiceError::internal())?;
    if let Some(w) = problems.as_mut() {
        w.flush(db).await?;
    }
    if report.total_rows == 0 {
        return Err(ServiceError::new(ErrorCode::CsvEmpty));
    }
    out.report = report;
    Ok(out)
}

/// Runs a batch's insert statements in order.
async fn run_statements(
    txn: &DatabaseTransaction,
    statements: Option<Vec<sea_orm::Statement>>,
) -> ServiceResult<()> {
    for stmt in statements.into_iter().flatten() {
        txn.execute(stmt).await?;
    }
    Ok(())
}

/// Up to this many live prospects, an import reads the organisation's
/// phones and addresses once (a few MB) instead of asking per batch.
const PRELOAD_MAX: u64 = 100_000;

/// Every phone and address of the organisation's live prospects, when there
/// are at most [`PRELOAD_MAX`]; `None` for larger organisations, which are
/// looked up batch by batch.
///
/// Why not always per batch: while a write runs, PostgreSQL's statistics
/// still describe the table before the import (an organisation absent from
/// them is estimated at a few hundred rows), so the planner answers
/// `org_id = $1 AND phone IN (…)` with the organisation-only index and then
/// visits every row the import has written so far, visible or not: 330 ms
/// per lookup at 1,100,000 rows, most of a million-row import's time.
/// An organisation past `PRELOAD_MAX` has statistics that make that plan
/// expensive, so its lookups keep to the `(org_id, phone)` index.
async fn preload<C: ConnectionTrait>(db: &C, ctx: &OrgCtx) -> ServiceResult<Option<Existing>> {
    let live = prospects::Entity::find()
        .filter(prospects::Column::OrgId.eq(ctx.org_id()))
        .filter(prospects::Column::DeletedAt.is_null());
    let n = crate::prospects::query::capped_count(db, live.clone(), PRELOAD_MAX).await?;
    if n > PRELOAD_MAX {
        return Ok(None);
    }
    let rows: Vec<(Uuid, Option<String>, Option<String>)> = live
        .select_only()
        .column(prospects::Column::Id)
        .column(prospects::Column::Phone)
        .column(prospects::Column::Email)
        .into_tuple()
        .all(db)
        .await?;
    let mut e = Existing::default();
    for (id, phone, email) in rows {
        if let Some(p) = phone {
            e.by_phone.entry(p).or_insert(id);
        }
        if let Some(m) = email {
            e.by_email.entry(m).or_insert(id);
        }
    }
    Ok(Some(e))
}

/// The organisation's prospects holding any of these numbers or addresses.
async fn lookup<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    phones: Vec<String>,
    emails: Vec<String>,
) -> ServiceResult<Existing> {
    let mut e = Existing::default();
    for (is_phone, values) in [(true, phones), (false, emails)] {
        let col = if is_phone { prospects::Column::Phone } else { prospects::Column::Email };
        for chunk in values.chunks(500) {
            let rows: Vec<(Uuid, Option<String>)> = prospects::Entity::find()
                .select_only()
                .column(prospects::Column::Id)
                .column(col)
                .filter(prospects::Column::OrgId.eq(ctx.org_id()))
                .filter(prospects::Column::DeletedAt.is_null())
                .filter(col.is_in(chunk.iter().cloned()))
                .into_tuple()
                .all(db)
                .await?;
            let map = if is_phone { &mut e.by_phone } else { &mut e.by_email };
            for (id, v) in rows {
                if let Some(v) = v {
                    map.insert(v, id);
                }
            }
        }
    }
    Ok(e)
}

pub async fn dry_run(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
    options: &ImportOptions,
) -> ServiceResult<DryRunReport> {
    ctx.require(Permission::UseWorkspace)?;
    let m = find_import(db, ctx, id).await?;
    Ok(pipeline(db, ctx, &m, options, Mode::DryRun, None).await?.report)
}

/// The last dry run's problem rows as CSV (row, line, issues, then the
/// row's own cells), for download.
pub async fn problems_csv(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<impl futures::Stream<Item = ServiceResult<Vec<u8>>> + Send + 'static> {
    ctx.require(Permission::UseWorkspace)?;
    find_import(db, ctx, id).await?;
    Ok(store::stream(db.clone(), id, store::PROBLEMS))
}
