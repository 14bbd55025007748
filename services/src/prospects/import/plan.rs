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

pub(super) struct Plan {
    pub(super) report: DryRunReport,
    pub(super) creates: Vec<NewRow>,
    /// Existing prospect, and the row's values to merge into it.
    pub(super) updates: Vec<(Uuid, NewRow)>,
}

/// What the database already holds, for duplicate detection.
#[derive(Default)]
pub(super) struct Existing {
    pub(super) by_phone: HashMap<String, Uuid>,
    pub(super) by_email: HashMap<String, Uuid>,
}

pub(super) async fn existing<C: ConnectionTrait>(db: &C, ctx: &OrgCtx) -> ServiceResult<Existing> {
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

/// Reads every row, validates it and classifies it. Pure CPU: run it on a
/// blocking thread.
#[allow(clippy::too_many_arguments)]
pub(super) fn plan(
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

pub(super) async fn prepare<C: ConnectionTrait>(
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
