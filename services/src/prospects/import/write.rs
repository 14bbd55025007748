//! Writing a plan in one transaction: custom fields, new rows in batches
//! (SQLite multi-row inserts, PostgreSQL one JSON document per batch), merges.

#[allow(unused_imports)]
use super::*;
use sea_orm::{DbBackend, Statement};

/// The SQLite page cache an import's connection uses, in KiB (128 MiB).
const SQLITE_IMPORT_CACHE_KIB: u64 = 128 * 1024;
/// The search index's in-memory buffer during an import, and FTS5's default.
const SQLITE_IMPORT_FTS_HASH: u64 = 64 * 1024 * 1024;
const SQLITE_FTS_HASH_DEFAULT: u64 = 1024 * 1024;

async fn fts_hashsize(txn: &DatabaseTransaction, bytes: u64) -> ServiceResult<()> {
    txn.execute_unprepared(&format!(
        "INSERT INTO prospects_fts(prospects_fts, rank) VALUES ('hashsize', {bytes})"
    ))
    .await?;
    Ok(())
}

/// Reads the stored file once and writes it in **one transaction**: the
/// custom fields it creates, the rows (in batches, as they are read), the
/// job's final state and the file's removal — "succeeded" and the rows
/// appear together or not at all. A run cut short (a crash, a kill, a lost
/// lease) leaves nothing, and the job runs again from the start.
pub(super) async fn run(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
    options: &ImportOptions,
    progress: Arc<AtomicU64>,
) -> ServiceResult<()> {
    let txn = crate::db::begin_org_write(db, ctx.org_id()).await?;
    // Read under the write lock: a run that lost its lease (a renewal cannot
    // write while another transaction holds SQLite's lock) may find the
    // import already done by the run it was taken over from.
    let m = find_import(&txn, ctx, id).await?;
    if m.state != JobState::Running.as_str() {
        return Ok(());
    }
    let sqlite = db.get_database_backend() == sea_orm::DbBackend::Sqlite;
    if sqlite {
        // Eight indexes and the search index grow with every row: with
        // SQLite's default 2 MB page cache a million-row import spends
        // most of its time re-reading index pages. This connection only,
        // for this transaction (set back before it returns to the pool).
        txn.execute_unprepared(&format!("PRAGMA cache_size = -{}", SQLITE_IMPORT_CACHE_KIB)).await?;
        // The search index buffers new entries in memory up to `hashsize`
        // (1 MB by default) and writes a segment, later merged, each time:
        // most of a big import's time. Stored in the index's config table,
        // so set back before the commit.
        fts_hashsize(&txn, SQLITE_IMPORT_FTS_HASH).await?;
    } else {
        // Each inserted row's foreign key is checked by a query that
        // PostgreSQL plans again for every row while `organizations` is
        // small (there a custom plan looks cheaper than the generic one):
        // a fifth of a million-row import's time, per `perf`. The generic
        // plan is the same primary-key probe. This transaction only.
        txn.execute_unprepared("SET LOCAL plan_cache_mode = force_generic_plan").await?;
    }
    for f in &options.new_fields {
        let def = CustomFieldDef { key: f.key.clone(), label: f.label.clone(), kind: f.kind.clone() };
        custom_fields::create_in(&txn, ctx, def).await?;
    }
    // Rows matching a prospect are skipped (or merged), never duplicated;
    // the organisation's write lock, held to the end, keeps a prospect from
    // being created meanwhile by hand or by another import.
    let mode = Mode::Write { txn: &txn, import_id: id, at: now() };
    let out = pipeline(db, ctx, &m, options, mode, Some(&progress)).await?;
    let total = out.report.total_rows;
    imports::Entity::update_many()
        .col_expr(imports::Column::State, Expr::value(JobState::Succeeded.as_str()))
        .col_expr(imports::Column::ProcessedRows, Expr::value(total as i64))
        .col_expr(imports::Column::Created, Expr::value(out.created as i64))
        .col_expr(imports::Column::Updated, Expr::value(out.updated as i64))
        .col_expr(imports::Column::Skipped, Expr::value((total - out.created - out.updated) as i64))
        .col_expr(imports::Column::FinishedAt, Expr::value(now()))
        .col_expr(imports::Column::FileBytes, Expr::value(0i64))
        .filter(imports::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    // The file is personal data: keep it no longer than needed.
    store::forget(&txn, id, store::FILE).await?;
    store::forget(&txn, id, store::PROBLEMS).await?;
    // A large import changes the table's statistics; without fresh ones the
    // planner picks poor plans for searches until autovacuum gets to it.
    // Inside the transaction, so that the rows and their statistics arrive
    // together: run after the commit, the first minutes of lists after a
    // million-row import were planned either way depending on whether this
    // had finished (3.5 s on SQLite, 0.5 s on PostgreSQL), and competed with it.
    if out.created >= 1000 {
        txn.execute_unprepared("ANALYZE prospects").await?;
    }
    if sqlite {
        fts_hashsize(&txn, SQLITE_FTS_HASH_DEFAULT).await?;
        txn.execute_unprepared("PRAGMA cache_size = -2000").await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The statements that insert `rows` (and their notes), built apart from
/// running them: the import builds a batch's on a blocking thread while the
/// database runs the previous batch's, so neither waits for the other
/// (PostgreSQL: its backend sat idle for an eighth of a million-row import
/// while the next document was serialised).
pub(super) fn insert_statements(
    backend: DbBackend,
    ctx: OrgCtx,
    import_id: Uuid,
    rows: &[NewRow],
    at: chrono::DateTime<chrono::Utc>,
) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut note_rows: Vec<(Uuid, &String)> = Vec::new();
    let size = if backend == DbBackend::Postgres { PG_BATCH } else { BATCH };
    for chunk in rows.chunks(size) {
        let ids: Vec<Uuid> = chunk.iter().map(|_| new_id()).collect();
        note_rows.extend(chunk.iter().zip(&ids).filter_map(|(r, id)| r.note.as_ref().map(|n| (*id, n))));
        out.push(if backend == DbBackend::Postgres {
            prospects_pg(ctx, import_id, chunk, &ids, at)
        } else {
            prospects_sqlite(ctx, import_id, chunk, &ids, at)
        });
    }
    if backend == DbBackend::Postgres {
        out.extend(note_rows.chunks(PG_BATCH).map(|chunk| notes_pg(ctx, chunk, at)));
    } else {
        out.extend(note_rows.chunks(1000).map(|chunk| notes_sqlite(ctx, chunk, at)));
    }
    out
}

fn search_text_of(r: &NewRow) -> String {
    search_text(&r.first, &r.last, &r.company, r.email.as_deref(), r.phone.as_deref(), r.national.as_deref())
}

/// SQLite: one multi-row `INSERT`.
fn prospects_sqlite(
    ctx: OrgCtx,
    import_id: Uuid,
    rows: &[NewRow],
    ids: &[Uuid],
    at: chrono::DateTime<chrono::Utc>,
) -> Statement {
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
            search_text_of(r).into(),
            Some(import_id).into(),
            ctx.user_id().into(),
            at.into(),
            at.into(),
        ];
        stmt.values_panic(values);
    }
    DbBackend::Sqlite.build(&stmt)
}

/// SQLite: the notes of a batch, one multi-row `INSERT`.
fn notes_sqlite(ctx: OrgCtx, chunk: &[(Uuid, &String)], at: chrono::DateTime<chrono::Utc>) -> Statement {
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
    DbBackend::Sqlite.build(&n)
}

/// PostgreSQL: the whole batch travels as one JSON parameter expanded by
/// `json_to_recordset`. A multi-row `VALUES` with thousands of parameters
/// spends most of its time binding and parsing; this does not.
fn prospects_pg(
    ctx: OrgCtx,
    import_id: Uuid,
    rows: &[NewRow],
    ids: &[Uuid],
    at: chrono::DateTime<chrono::Utc>,
) -> Statement {
    let records: Vec<Value> = rows
        .iter()
        .zip(ids.iter().copied())
        .map(|(r, id)| {
            json!({
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
                "search_text": search_text_of(r),
            })
        })
        .collect();
    Statement::from_sql_and_values(
        DbBackend::Postgres,
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
            Value::Array(records).to_string().into(),
        ],
    )
}

/// PostgreSQL: a batch's notes as one JSON parameter, like its prospects.
fn notes_pg(ctx: OrgCtx, chunk: &[(Uuid, &String)], at: chrono::DateTime<chrono::Utc>) -> Statement {
    let records: Vec<Value> =
        chunk.iter().map(|(pid, body)| json!({"id": new_id(), "prospect_id": pid, "body": body})).collect();
    let actor = ctx.actor();
    Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO prospect_notes (id, org_id, prospect_id, author_id, actor_api_key_id, actor_system, body, created_at) \
         SELECT x.id, $1, x.prospect_id, $2, $3, $4, x.body, $5 \
         FROM json_to_recordset($6::json) AS x(id uuid, prospect_id uuid, body text)",
        [
            ctx.org_id().into(),
            ctx.user_id().into(),
            actor.api_key_id.into(),
            actor.system.map(str::to_string).into(),
            at.into(),
            Value::Array(records).to_string().into(),
        ],
    )
}

/// Policy `update`: the row's non-empty values overwrite the prospect's;
/// tags and custom values are added to what it has.
pub(super) async fn merge(
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
    let national = row.national.clone().or_else(|| phone.as_deref().and_then(crate::prospects::national_of));
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
