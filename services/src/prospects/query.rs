//! Turning a [`ProspectFilter`] into SQL (shared by the list, bulk actions and
//! export, so "every row matching the filter" means the same thing in all three).

use domain::data_schema::FieldKind;
use domain::prospect::{
    fold, ListQuery, ProspectFilter, ProspectStatus, SortKey, LIST_COUNT_CAP, SEARCH_COUNT_CAP,
};
use domain::ErrorCode;
use entity::prospects;
use sea_orm::sea_query::{Alias, Expr, LikeExpr, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, IntoSimpleExpr, Order, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Value,
};

use super::pg_trigrams;
use crate::{OrgCtx, ServiceError, ServiceResult};

pub const MAX_SEARCH_TERMS: usize = 8;

/// A search word as stored in `search_text`: folded; phone-looking input
/// (`06 12 34`, `+33 (6) 12`) reduced to its digits (and leading `+`).
pub(crate) fn search_term(word: &str) -> String {
    let digits = word.chars().filter(|c| c.is_ascii_digit()).count();
    let phoneish = word.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c));
    if phoneish && digits >= 3 {
        let plus = word.trim_start().starts_with('+');
        let d: String = word.chars().filter(|c| c.is_ascii_digit()).collect();
        return if plus { format!("+{d}") } else { d };
    }
    fold(word)
}

/// Splits a query into terms; digit groups separated by spaces form one
/// phone term ("06 12 34" is one term, not three).
pub(crate) fn search_terms(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut phone = String::new();
    for w in q.split_whitespace() {
        let phoneish = w.chars().all(|c| c.is_ascii_digit() || "+-.()".contains(c));
        if phoneish {
            phone.push_str(w);
            continue;
        }
        if !phone.is_empty() {
            out.push(search_term(&phone));
            phone.clear();
        }
        out.push(search_term(w));
    }
    if !phone.is_empty() {
        out.push(search_term(&phone));
    }
    out.retain(|t| !t.is_empty());
    out.dedup();
    out.truncate(MAX_SEARCH_TERMS);
    out
}

pub(crate) fn like_pattern(term: &str) -> String {
    let mut p = String::with_capacity(term.len() + 2);
    p.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Above this many candidates from SQLite's trigram index, a search is
/// "dense": walking the table in sort order finds a page sooner than
/// fetching every candidate, and the count is capped.
const FTS_MAX_CANDIDATES: i64 = 2_000;

/// How the list reads the prospects matching a filter.
pub(crate) struct Plan {
    /// The exact conditions (live rows of the caller's organisation).
    pub cond: Condition,
    /// SQLite: where the candidates come from when an index yields them
    /// directly — `SELECT rid …` over the search index (m0004). The count
    /// starts from it (stopping at the cap), and so does a page when the
    /// matches are fewer than the cap; otherwise a page walks the sort
    /// column's index, where matches that many are found within a few
    /// thousand rows.
    pub driver: Option<SelectStatement>,
    /// Where counting stops: [`LIST_COUNT_CAP`], or [`SEARCH_COUNT_CAP`]
    /// when a condition is tested row by row (a search no index narrows to
    /// a few matches, a tag, a custom value).
    pub count_cap: u64,
    /// Count by walking the organisation in creation order: set when every
    /// narrowing condition is tested row by row (a tag, a custom value). Any
    /// other index the database might walk instead (status, name…) orders
    /// the rows by something the tested value may follow — at a million
    /// rows SQLite counted a tag that no `new` prospect holds through the
    /// status index, reading all 175,000 `new` ones first (450 ms). Creation
    /// order is also the table's own, so the rows are read nearly in order.
    pub count_in_creation_order: bool,
    /// SQLite: the search index's few candidates as a condition
    /// (`rowid IN (…)`), for bulk actions and export.
    narrow: Option<SimpleExpr>,
    /// PostgreSQL, for a page of a search with more matches than the
    /// count's cap: the same conditions with the search written so that no
    /// index can answer it (`strpos`). Matches that many are found within a
    /// few thousand rows of the sort column's index; given the trigram
    /// index instead, the planner (which cannot tell how many rows hold
    /// `martin`) read all 65,000 of them and sorted them, 80 ms.
    walk: Option<Condition>,
}

/// The WHERE clause for `filter` in the caller's organisation (live rows only).
pub async fn filter_condition<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    filter: &ProspectFilter,
) -> ServiceResult<Condition> {
    let plan = filter_plan(db, ctx, filter).await?;
    Ok(match plan.narrow {
        Some(n) => plan.cond.add(n),
        None => plan.cond,
    })
}

/// The conditions for `filter`, and on SQLite the index to start from.
pub(crate) async fn filter_plan<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    filter: &ProspectFilter,
) -> ServiceResult<Plan> {
    let mut cond = Condition::all()
        .add(prospects::Column::OrgId.eq(ctx.org_id()))
        .add(prospects::Column::DeletedAt.is_null());
    let pg = db.get_database_backend() == DbBackend::Postgres;
    let terms = search_terms(&filter.search);
    let searching = !terms.is_empty();
    let fts = if pg { None } else { fts_candidates(db, &terms).await? };
    let sparse_search = fts.as_ref().is_some_and(|f| f.sparse);
    // In a large organisation, conditions tested row by row (no index
    // narrows them) stop the count sooner: at a million rows, 10,000 matches
    // of a tag held by one row in twenty meant reading 200,000 rows (350 ms
    // on SQLite) for the figure. A small one is read whole in a few ms.
    let mut row_by_row = !terms.is_empty() && !sparse_search;
    let mut walk = (pg && !terms.is_empty()).then(|| cond.clone());
    let common = if pg && !terms.is_empty() { Some(pg_trigrams::common(db).await?) } else { None };
    for term in terms {
        if let Some(common) = &common {
            // The index is asked for the term's rare trigrams only, or the
            // whole term when it has none, or nothing when its trigrams are
            // in most rows; the exact test is `strpos`.
            let exact = Expr::cust_with_values("strpos(search_text, $1) > 0", [Value::from(term.clone())]);
            let rare = common.rare_trigrams(&term);
            if common.useless_for(&term) {
                cond = cond.add(exact.clone());
            } else if rare.is_empty() {
                let like = LikeExpr::new(like_pattern(&term)).escape('\\');
                cond = cond.add(Expr::col(prospects::Column::SearchText).like(like));
            } else {
                for g in rare {
                    cond = cond.add(Expr::col(prospects::Column::SearchText).like(format!("%{g}%")));
                }
                cond = cond.add(exact.clone());
            }
            walk = walk.map(|w| w.add(exact));
        } else {
            // The exact test (the search index only yields candidates).
            // `instr` is a plain substring search, several times cheaper
            // than LIKE's pattern matcher; text and term are both folded.
            cond = cond.add(Expr::cust_with_values(
                "instr(search_text, ?) > 0",
                [Value::String(Some(Box::new(term)))],
            ));
        }
    }
    let mut rest = Condition::all();
    if !filter.status.is_empty() {
        rest = rest.add(status_in(&filter.status));
    }
    if let Some(tag) = filter.tag.as_deref().filter(|t| !t.trim().is_empty()) {
        let needle = format!("|{}|", domain::prospect::normalize_tag(tag)?);
        let sql = if pg { "strpos(tags, $1) > 0" } else { "instr(tags, ?) > 0" };
        rest = rest.add(Expr::cust_with_values(sql, [Value::String(Some(Box::new(needle)))]));
        row_by_row = true;
    }
    match filter.owner {
        Some(Some(owner)) => rest = rest.add(prospects::Column::OwnerId.eq(owner)),
        Some(None) => rest = rest.add(prospects::Column::OwnerId.is_null()),
        None => {}
    }
    match filter.do_not_call {
        // Spelled as m0013's partial index is, so that it serves the few
        // do-not-call prospects instead of a scan of all of them.
        Some(true) => rest = rest.add(Expr::cust(migrations::m0013_prospect_sorts::DNC_SQL)),
        Some(false) => rest = rest.add(prospects::Column::DoNotCall.eq(false)),
        None => {}
    }
    if let Some((key, value)) = &filter.custom {
        rest = rest.add(custom_condition(db, ctx, key, value).await?);
        row_by_row = true;
    }
    let cond = cond.add(rest.clone());
    let walk = walk.map(|w| w.add(rest));
    let count_cap = if row_by_row && is_large(db, ctx).await? { SEARCH_COUNT_CAP } else { LIST_COUNT_CAP };
    let indexed =
        !filter.status.is_empty() || filter.owner.is_some() || filter.do_not_call == Some(true) || searching;
    let count_in_creation_order = row_by_row && !indexed;
    let driver = fts.map(|f| f.source);
    let narrow = driver
        .as_ref()
        .filter(|_| sparse_search)
        .map(|d| Expr::col(Alias::new("rowid")).in_subquery(d.clone()).into_simple_expr());
    Ok(Plan { cond, driver, count_cap, count_in_creation_order, narrow, walk })
}

/// Past this many live prospects an organisation is "large": there a
/// count of matches tested row by row stops at [`SEARCH_COUNT_CAP`].
const LARGE_ORG: u64 = 20_000;
/// How long an organisation's size class is reused before it is counted again.
const LARGE_ORG_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether the caller's organisation has more than [`LARGE_ORG`] live
/// prospects. Counting that far is cheap but not free (20,000 index
/// entries), and the answer changes slowly, so it is kept for a minute on
/// this node (a stale answer only moves where a count stops).
async fn is_large<C: ConnectionTrait>(db: &C, ctx: &OrgCtx) -> ServiceResult<bool> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    use std::time::Instant;
    type Sizes = Mutex<HashMap<uuid::Uuid, (bool, Instant)>>;
    static SIZES: LazyLock<Sizes> = LazyLock::new(Default::default);
    let org = ctx.org_id();
    if let Some((large, at)) = SIZES.lock().unwrap_or_else(|e| e.into_inner()).get(&org) {
        if at.elapsed() < LARGE_ORG_TTL {
            return Ok(*large);
        }
    }
    let live = prospects::Entity::find()
        .filter(prospects::Column::OrgId.eq(org))
        .filter(prospects::Column::DeletedAt.is_null());
    let large = capped_count(db, live, LARGE_ORG).await? > LARGE_ORG;
    let mut sizes = SIZES.lock().unwrap_or_else(|e| e.into_inner());
    if sizes.len() >= 10_000 {
        sizes.retain(|_, (_, at)| at.elapsed() < LARGE_ORG_TTL);
    }
    sizes.insert(org, (large, Instant::now()));
    Ok(large)
}

/// `count(*)` of the rows `inner` yields.
async fn count_rows<C: ConnectionTrait>(db: &C, inner: SelectStatement) -> ServiceResult<u64> {
    let stmt = Query::select()
        .expr_as(Expr::cust("count(*)"), Alias::new("n"))
        .from_subquery(inner, Alias::new("matches"))
        .to_owned();
    let row = db.query_one(db.get_database_backend().build(&stmt)).await?;
    Ok(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0).max(0) as u64)
}

/// The search index's candidates for a search, as `SELECT rid …`.
struct FtsCandidates {
    source: SelectStatement,
    /// At most [`FTS_MAX_CANDIDATES`] of them.
    sparse: bool,
}

/// Trigrams probed per search at most (eight terms of a few letters each).
const MAX_PROBED_TRIGRAMS: usize = 48;
/// Trigrams the index is asked for together at most.
const MAX_ASKED_TRIGRAMS: usize = 4;

/// SQLite: the search index's candidates for the terms, and whether they
/// are few. `None` when it cannot help: no term of three characters or more,
/// or only trigrams found in most rows.
///
/// The index answers a term through its trigrams, and the cost of a lookup
/// is the length of the lists it reads: `company4217` is in 209 rows, but
/// asking for all nine of its trigrams read the million-entry lists of
/// `com`, `omp`… (50 ms), while `y42` and `217` together answer in 0.6 ms.
/// So each trigram's frequency is estimated first — its first
/// [`FTS_MAX_CANDIDATES`] + 1 rows are read, and how far apart they lie
/// tells how many there are — and the index is asked for the rarest few
/// only: a superset of the matches, fetched once, that the exact conditions
/// then filter.
async fn fts_candidates<C: ConnectionTrait>(
    db: &C,
    terms: &[String],
) -> ServiceResult<Option<FtsCandidates>> {
    // Each term's trigrams, as indexes into one list without repeats.
    let mut trigrams: Vec<String> = Vec::new();
    let mut of_term: Vec<Vec<usize>> = Vec::new();
    for t in terms {
        let chars: Vec<char> = t.chars().collect();
        let mut mine = Vec::new();
        for w in chars.windows(3) {
            let g: String = w.iter().collect();
            let i = match trigrams.iter().position(|x| *x == g) {
                Some(i) => i,
                None if trigrams.len() < MAX_PROBED_TRIGRAMS => {
                    trigrams.push(g);
                    trigrams.len() - 1
                }
                None => continue,
            };
            mine.push(i);
        }
        if !mine.is_empty() {
            of_term.push(mine);
        }
    }
    if trigrams.is_empty() {
        return Ok(None);
    }
    let (estimates, table_rows) = trigram_estimates(db, &trigrams).await?;
    // Every term's rarest trigram (a row must hold them all), then the
    // rarest of the others while they are not much more common than the
    // rarest of all: each one more narrows the candidates, but one ten
    // times more common costs more to read than it saves.
    let by_estimate = |a: &usize, b: &usize| estimates[*a].total_cmp(&estimates[*b]);
    let mut asked: Vec<usize> =
        of_term.iter().filter_map(|mine| mine.iter().copied().min_by(by_estimate)).collect();
    asked.sort_unstable();
    asked.dedup();
    let mut rest: Vec<usize> = (0..trigrams.len()).filter(|i| !asked.contains(i)).collect();
    rest.sort_by(by_estimate);
    let rarest = estimates.iter().copied().fold(f64::INFINITY, f64::min);
    let limit = (rarest * 4.0).max(FTS_MAX_CANDIDATES as f64);
    let room = MAX_ASKED_TRIGRAMS.saturating_sub(asked.len());
    asked.extend(rest.into_iter().take_while(|i| estimates[*i] <= limit).take(room));
    // A trigram in most rows narrows nothing: reading its list costs more
    // than checking the rows themselves.
    asked.retain(|i| estimates[*i] < table_rows / 2.0);
    if asked.is_empty() {
        return Ok(None);
    }
    let asked: Vec<&String> = asked.iter().map(|i| &trigrams[*i]).collect();
    let query = all_of(asked.into_iter());
    let rows = db
        .query_all(sea_orm::Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT rowid AS rid FROM prospects_fts WHERE prospects_fts MATCH ? LIMIT ?",
            [query.clone().into(), (FTS_MAX_CANDIDATES + 1).into()],
        ))
        .await?;
    let rids = rows.iter().map(|r| r.try_get::<i64>("", "rid")).collect::<Result<Vec<_>, _>>()?;
    if rids.len() as i64 > FTS_MAX_CANDIDATES {
        // Many: a page walks the table in sort order instead; counting reads
        // the same index query (it stops at the cap).
        let source = Query::select()
            .expr_as(Expr::col(Alias::new("rowid")), Alias::new("rid"))
            .from(Alias::new("prospects_fts"))
            .and_where(Expr::cust_with_values(
                "prospects_fts MATCH ?",
                [Value::String(Some(Box::new(query)))],
            ))
            .to_owned();
        return Ok(Some(FtsCandidates { sparse: false, source }));
    }
    // Few: handed back as a list, so the count and the page do not ask the
    // index again.
    let list = serde_json::to_string(&rids).map_err(|_| ServiceError::internal())?;
    let source = Query::select()
        .expr_as(Expr::col(Alias::new("value")), Alias::new("rid"))
        .from_function(
            sea_orm::sea_query::Func::cust(Alias::new("json_each")).arg(Expr::val(list)),
            Alias::new("candidates"),
        )
        .to_owned();
    Ok(Some(FtsCandidates { sparse: true, source }))
}

/// An FTS5 query requiring every one of `trigrams` (each quoted: a trigram
/// may hold any character, quotes included).
fn all_of<'a>(trigrams: impl Iterator<Item = &'a String>) -> String {
    trigrams.map(|g| format!("\"{}\"", g.replace('"', "\"\""))).collect::<Vec<_>>().join(" AND ")
}

/// How many rows hold each trigram, estimated in one statement: the exact
/// number up to [`FTS_MAX_CANDIDATES`]; past it, from how far apart the
/// first [`FTS_MAX_CANDIDATES`] + 1 lie among the table's rowids. Each
/// estimate reads at most that many index entries, so a trigram in every
/// row costs no more than a rare one.
/// Also returns the rows the estimates are relative to (the highest rowid).
async fn trigram_estimates<C: ConnectionTrait>(
    db: &C,
    trigrams: &[String],
) -> ServiceResult<(Vec<f64>, f64)> {
    let one = "(SELECT count(*) || ' ' || ifnull(max(rid) - min(rid), 0) FROM \
               (SELECT rowid AS rid FROM prospects_fts WHERE prospects_fts MATCH ? LIMIT ?))";
    let sql = format!(
        "SELECT ifnull((SELECT max(rowid) FROM prospects), 0) AS top, {}",
        (0..trigrams.len()).map(|i| format!("{one} AS n{i}")).collect::<Vec<_>>().join(", ")
    );
    let mut values: Vec<Value> = Vec::with_capacity(trigrams.len() * 2);
    for g in trigrams {
        values.push(all_of(std::iter::once(g)).into());
        values.push((FTS_MAX_CANDIDATES + 1).into());
    }
    let row = db
        .query_one(sea_orm::Statement::from_sql_and_values(DbBackend::Sqlite, sql, values))
        .await?
        .ok_or_else(ServiceError::internal)?;
    let top = row.try_get::<i64>("", "top")? as f64;
    let estimates = (0..trigrams.len())
        .map(|i| {
            let text: String = row.try_get("", &format!("n{i}"))?;
            let mut parts = text.split(' ').map(|p| p.parse::<f64>().unwrap_or(0.0));
            let (n, span) = (parts.next().unwrap_or(0.0), parts.next().unwrap_or(0.0));
            Ok(if n <= FTS_MAX_CANDIDATES as f64 { n } else { n / (span + 1.0) * top.max(n) })
        })
        .collect::<ServiceResult<Vec<f64>>>()?;
    Ok((estimates, top))
}

/// `custom.<key> = value`, compared by the field's type. The key is a
/// validated identifier of an existing definition, so it can be spliced
/// into the JSON path; the value is always bound.
async fn custom_condition<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    key: &str,
    value: &str,
) -> ServiceResult<SimpleExpr> {
    let defs = super::custom_fields::defs(db, ctx).await?;
    let def = defs.iter().find(|d| d.key == key).ok_or_else(|| {
        ServiceError::field(ErrorCode::InvalidFieldName, "custom").with_detail(key.to_string())
    })?;
    let v = def.check(&serde_json::Value::String(value.to_string()))?.ok_or_else(|| {
        ServiceError::field(ErrorCode::InvalidValue, "custom").with_detail(value.to_string())
    })?;
    let pg = db.get_database_backend() == DbBackend::Postgres;
    // sea-query's placeholder: `$1` for PostgreSQL, `?` for SQLite.
    let p = if pg { "$1" } else { "?" };
    let path = if pg { format!("(custom->>'{key}')") } else { format!("json_extract(custom, '$.{key}')") };
    Ok(match (&def.kind, v) {
        (FieldKind::Number, serde_json::Value::Number(n)) => {
            let n = n.as_f64().unwrap_or_default();
            let sql = if pg { format!("{path}::numeric = $1") } else { format!("{path} = ?") };
            Expr::cust_with_values(sql, [Value::Double(Some(n))])
        }
        (FieldKind::Boolean, serde_json::Value::Bool(b)) => {
            let sql = if pg { format!("{path}::boolean = $1") } else { format!("{path} = ?") };
            let v = if pg { Value::Bool(Some(b)) } else { Value::Int(Some(b as i32)) };
            Expr::cust_with_values(sql, [v])
        }
        (FieldKind::String, serde_json::Value::String(s)) => {
            let sql = format!("lower({path}) = {p}");
            Expr::cust_with_values(sql, [Value::String(Some(Box::new(s.to_lowercase())))])
        }
        (_, v) => {
            let s = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            let sql = format!("{path} = {p}");
            Expr::cust_with_values(sql, [Value::String(Some(Box::new(s)))])
        }
    })
}

/// One sorted page and the count of `plan`'s matches, stopped at its cap;
/// the flag says the cap was reached.
pub(crate) async fn page<C: ConnectionTrait>(
    db: &C,
    plan: Plan,
    q: &ListQuery,
) -> ServiceResult<(Vec<prospects::Model>, u64, bool)> {
    let order = if q.descending { Order::Desc } else { Order::Asc };
    let col: SimpleExpr = match q.sort {
        SortKey::CreatedAt => prospects::Column::CreatedAt.into_simple_expr(),
        SortKey::UpdatedAt => prospects::Column::UpdatedAt.into_simple_expr(),
        SortKey::LastName => prospects::Column::LastName.into_simple_expr(),
        SortKey::Company => prospects::Column::Company.into_simple_expr(),
        SortKey::Title => prospects::Column::Title.into_simple_expr(),
        SortKey::Phone => prospects::Column::Phone.into_simple_expr(),
        SortKey::Email => prospects::Column::Email.into_simple_expr(),
        SortKey::Timezone => prospects::Column::Timezone.into_simple_expr(),
        SortKey::Status => status_rank(),
    };
    let base = prospects::Entity::find().filter(plan.cond);
    let cap = plan.count_cap;
    let counted = if plan.count_in_creation_order {
        base.clone().order_by_asc(prospects::Column::CreatedAt).order_by_asc(prospects::Column::Id)
    } else {
        base.clone()
    };
    let n = count_through(db, counted, plan.driver.as_ref(), cap).await?;
    let (total, capped) = (n.min(cap), n > cap);
    let base = match plan.walk {
        Some(walk) if capped => prospects::Entity::find().filter(walk),
        _ => base,
    };
    // Fewer matches than the cap: read them through the index that yields
    // them (sorting at most that many). More: walking the sort column's
    // index finds a page within a few thousand rows.
    let through = plan.driver.as_ref().filter(|_| !capped);
    let per_page = q.per_page();
    let offset = (q.page() - 1) * per_page;
    // Prospects without a phone or email come last either way (PostgreSQL
    // and SQLite disagree on where NULLs sort): those with a value first,
    // through the `(org_id, column, id)` index, then the rest by id. One
    // `ORDER BY column IS NULL, …` would say the same but no index serves
    // it in both directions.
    let nullable = match q.sort {
        SortKey::Phone => Some(prospects::Column::Phone),
        SortKey::Email => Some(prospects::Column::Email),
        _ => None,
    };
    let Some(column) = nullable else {
        let rows = sorted_page(db, base, through, col, order, offset, per_page).await?;
        return Ok((rows, total, capped));
    };
    let with_value = base.clone().filter(column.is_not_null());
    let mut rows = sorted_page(db, with_value.clone(), through, col, order.clone(), offset, per_page).await?;
    if (rows.len() as u64) < per_page {
        // Where the rows without a value start: just after the last one with
        // a value, or (a page past all of them) after counting them.
        let valued = if rows.is_empty() {
            count_through(db, with_value, through, (i64::MAX - 1) as u64).await?
        } else {
            offset + rows.len() as u64
        };
        let id = prospects::Column::Id.into_simple_expr();
        let rest = base.filter(column.is_null());
        let skip = offset.saturating_sub(valued);
        rows.extend(sorted_page(db, rest, through, id, order, skip, per_page - rows.len() as u64).await?);
    }
    Ok((rows, total, capped))
}

/// `query` reading its prospects from `driver`'s candidates (the outer
/// loop: SQLite's CROSS JOIN keeps the order written) instead of the table.
fn read_through(query: &mut SelectStatement, driver: &SelectStatement) {
    query.from_clear().from_subquery(driver.clone(), Alias::new("d")).cross_join(
        prospects::Entity,
        Expr::col((prospects::Entity, Alias::new("rowid"))).equals((Alias::new("d"), Alias::new("rid"))),
    );
}

/// `base` ordered by `col` then `id` (ties must not shuffle between pages).
async fn sorted_page<C: ConnectionTrait>(
    db: &C,
    base: sea_orm::Select<prospects::Entity>,
    through: Option<&SelectStatement>,
    col: SimpleExpr,
    order: Order,
    offset: u64,
    limit: u64,
) -> ServiceResult<Vec<prospects::Model>> {
    let sorted =
        base.order_by(col, order.clone()).order_by(prospects::Column::Id, order).offset(offset).limit(limit);
    let Some(driver) = through else { return Ok(sorted.all(db).await?) };
    let mut query = sorted.into_query();
    read_through(&mut query, driver);
    let stmt = db.get_database_backend().build(&query);
    Ok(prospects::Entity::find().from_raw_sql(stmt).all(db).await?)
}

/// Prospects whose status is one of `statuses`, written on the status's
/// pipeline rank so that the sort's index (m0013) answers it: the plain
/// `(org_id, status)` index is gone (m0015), one index less for every
/// imported row. The rank is one-to-one with the status.
pub fn status_in(statuses: &[ProspectStatus]) -> SimpleExpr {
    let ranks = statuses.iter().map(|s| ProspectStatus::ALL.iter().position(|a| a == s).unwrap_or(99) as i32);
    Expr::expr(status_rank()).is_in(ranks)
}

/// The status's place in the pipeline, for sorting (the stored values are
/// the fixed wire names, never user input).
fn status_rank() -> SimpleExpr {
    let arms: String = domain::prospect::ProspectStatus::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| format!(" WHEN '{}' THEN {i}", s.as_str()))
        .collect();
    Expr::cust(format!("CASE status{arms} ELSE 99 END"))
}

/// `count(*)` over at most `cap + 1` rows: the scan stops there.
pub(crate) async fn capped_count<C: ConnectionTrait>(
    db: &C,
    base: sea_orm::Select<prospects::Entity>,
    cap: u64,
) -> ServiceResult<u64> {
    count_through(db, base, None, cap).await
}

/// [`capped_count`], reading the candidates from `driver` when given.
async fn count_through<C: ConnectionTrait>(
    db: &C,
    base: sea_orm::Select<prospects::Entity>,
    driver: Option<&SelectStatement>,
    cap: u64,
) -> ServiceResult<u64> {
    let mut inner = base.select_only().expr(Expr::val(1)).limit(cap + 1).into_query();
    if let Some(driver) = driver {
        read_through(&mut inner, driver);
    }
    count_rows(db, inner).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_like_words_become_digits() {
        assert_eq!(search_terms("06 12 34"), vec!["061234"]);
        assert_eq!(search_terms("+33 (6) 12"), vec!["+33612"]);
        assert_eq!(search_terms("Dupont 06 12 acme"), vec!["dupont", "0612", "acme"]);
        assert_eq!(search_terms("  Élodie  "), vec!["elodie"]);
        assert_eq!(search_terms("@acme.com"), vec!["@acme.com"]);
    }

    /// The status sort is answered by m0013's expression index only while
    /// both spell the expression alike.
    #[test]
    fn the_status_sort_is_the_indexed_expression() {
        let sql = sea_orm::sea_query::Query::select()
            .expr(status_rank())
            .to_string(sea_orm::sea_query::SqliteQueryBuilder);
        assert_eq!(sql, format!("SELECT {}", migrations::m0013_prospect_sorts::STATUS_RANK_SQL));
    }

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(like_pattern("50%_off"), "%50\\%\\_off%");
        assert_eq!(like_pattern("a\\b"), "%a\\\\b%");
    }
}
