//! Turning a [`ProspectFilter`] into SQL (shared by the list, bulk actions and
//! export, so "every row matching the filter" means the same thing in all three).

use domain::data_schema::FieldKind;
use domain::prospect::{fold, ListQuery, ProspectFilter, SortKey, LIST_COUNT_CAP, SEARCH_COUNT_CAP};
use domain::ErrorCode;
use entity::prospects;
use sea_orm::sea_query::{Expr, LikeExpr, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, IntoSimpleExpr, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Value,
};

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

/// The WHERE clause for `filter` in the caller's organisation (live rows only).
pub async fn filter_condition<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    filter: &ProspectFilter,
) -> ServiceResult<Condition> {
    Ok(filter_plan(db, ctx, filter).await?.0)
}

/// The WHERE clause, and whether counting its matches should stop at
/// [`SEARCH_COUNT_CAP`] (a search whose matches no index narrows down).
pub(crate) async fn filter_plan<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    filter: &ProspectFilter,
) -> ServiceResult<(Condition, bool)> {
    let mut cond = Condition::all()
        .add(prospects::Column::OrgId.eq(ctx.org_id()))
        .add(prospects::Column::DeletedAt.is_null());
    let pg = db.get_database_backend() == DbBackend::Postgres;
    let terms = search_terms(&filter.search);
    let mut cap_count = !terms.is_empty();
    if !pg {
        if let Some(narrow) = fts_candidates(db, &terms).await? {
            cond = cond.add(narrow);
            cap_count = false;
        }
    }
    for term in terms {
        cond = cond.add(if pg {
            // LIKE, so the trigram index can answer it.
            Expr::col(prospects::Column::SearchText).like(LikeExpr::new(like_pattern(&term)).escape('\\'))
        } else {
            // The exact test (the FTS narrowing above is only a pre-filter).
            // `instr` is a plain substring search, several times cheaper
            // than LIKE's pattern matcher; text and term are both folded.
            Expr::cust_with_values("instr(search_text, ?) > 0", [Value::String(Some(Box::new(term)))])
        });
    }
    if !filter.status.is_empty() {
        cond = cond.add(prospects::Column::Status.is_in(filter.status.iter().map(|s| s.as_str())));
    }
    if let Some(tag) = filter.tag.as_deref().filter(|t| !t.trim().is_empty()) {
        let needle = format!("|{}|", domain::prospect::normalize_tag(tag)?);
        let sql = if pg { "strpos(tags, $1) > 0" } else { "instr(tags, ?) > 0" };
        cond = cond.add(Expr::cust_with_values(sql, [Value::String(Some(Box::new(needle)))]));
    }
    match filter.owner {
        Some(Some(owner)) => cond = cond.add(prospects::Column::OwnerId.eq(owner)),
        Some(None) => cond = cond.add(prospects::Column::OwnerId.is_null()),
        None => {}
    }
    match filter.do_not_call {
        // Spelled as m0013's partial index is, so that it serves the few
        // do-not-call prospects instead of a scan of all of them.
        Some(true) => cond = cond.add(Expr::cust(migrations::m0013_prospect_sorts::DNC_SQL)),
        Some(false) => cond = cond.add(prospects::Column::DoNotCall.eq(false)),
        None => {}
    }
    if let Some((key, value)) = &filter.custom {
        cond = cond.add(custom_condition(db, ctx, key, value).await?);
    }
    Ok((cond, cap_count))
}

/// SQLite: when the trigram index (m0004) narrows the search to a few
/// candidates, the condition `rowid IN (candidates)`. `None` when it cannot
/// help: no term of three characters or more (a trigram), terms with LIKE
/// wildcards (the index ignores LIKE … ESCAPE), or too many candidates. The
/// probe stops at the threshold, so it costs a few milliseconds at most.
async fn fts_candidates<C: ConnectionTrait>(db: &C, terms: &[String]) -> ServiceResult<Option<SimpleExpr>> {
    let usable: Vec<&String> =
        terms.iter().filter(|t| t.chars().count() >= 3 && !t.contains(['%', '_', '\\'])).collect();
    if usable.is_empty() {
        return Ok(None);
    }
    let where_ = vec!["search_text LIKE ?"; usable.len()].join(" AND ");
    let patterns: Vec<Value> =
        usable.iter().map(|t| Value::String(Some(Box::new(format!("%{t}%"))))).collect();
    let probe = format!(
        "SELECT count(*) AS n FROM (SELECT 1 FROM prospects_fts WHERE {where_} LIMIT {})",
        FTS_MAX_CANDIDATES + 1
    );
    let n: i64 = db
        .query_one(sea_orm::Statement::from_sql_and_values(DbBackend::Sqlite, probe, patterns.clone()))
        .await?
        .map(|r| r.try_get("", "n"))
        .transpose()?
        .unwrap_or(0);
    if n > FTS_MAX_CANDIDATES {
        return Ok(None);
    }
    Ok(Some(Expr::cust_with_values(
        format!("rowid IN (SELECT rowid FROM prospects_fts WHERE {where_})"),
        patterns,
    )))
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

/// One sorted page and the count for `cond`, stopped at [`LIST_COUNT_CAP`]
/// (or [`SEARCH_COUNT_CAP`] when `cap_count`); the flag says it was reached.
pub(crate) async fn page<C: ConnectionTrait>(
    db: &C,
    cond: Condition,
    cap_count: bool,
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
    let base = prospects::Entity::find().filter(cond);
    let cap = if cap_count { SEARCH_COUNT_CAP } else { LIST_COUNT_CAP };
    let n = capped_count(db, base.clone(), cap).await?;
    let (total, capped) = (n.min(cap), n > cap);
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
        let rows = sorted_page(db, base, col, order, offset, per_page).await?;
        return Ok((rows, total, capped));
    };
    let with_value = base.clone().filter(column.is_not_null());
    let mut rows = sorted_page(db, with_value.clone(), col, order.clone(), offset, per_page).await?;
    if (rows.len() as u64) < per_page {
        // Where the rows without a value start: just after the last one with
        // a value, or (a page past all of them) after counting them.
        let valued = if rows.is_empty() { with_value.count(db).await? } else { offset + rows.len() as u64 };
        let id = prospects::Column::Id.into_simple_expr();
        let rest = base.filter(column.is_null());
        let skip = offset.saturating_sub(valued);
        rows.extend(sorted_page(db, rest, id, order, skip, per_page - rows.len() as u64).await?);
    }
    Ok((rows, total, capped))
}

/// `base` ordered by `col` then `id` (ties must not shuffle between pages).
async fn sorted_page<C: ConnectionTrait>(
    db: &C,
    base: sea_orm::Select<prospects::Entity>,
    col: SimpleExpr,
    order: Order,
    offset: u64,
    limit: u64,
) -> ServiceResult<Vec<prospects::Model>> {
    Ok(base
        .order_by(col, order.clone())
        .order_by(prospects::Column::Id, order)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?)
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
    use sea_orm::sea_query::{Alias, Query};
    use sea_orm::QueryTrait;
    let mut inner = base.select_only().expr(Expr::val(1)).limit(cap + 1).into_query();
    let stmt = Query::select()
        .expr_as(Expr::cust("count(*)"), Alias::new("n"))
        .from_subquery(std::mem::take(&mut inner), Alias::new("matches"))
        .to_owned();
    let row = db.query_one(db.get_database_backend().build(&stmt)).await?;
    Ok(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0).max(0) as u64)
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
