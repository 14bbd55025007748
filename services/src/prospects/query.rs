//! Turning a [`ProspectFilter`] into SQL (shared by the list, bulk actions and
//! export, so "every row matching the filter" means the same thing in all three).

use domain::data_schema::FieldKind;
use domain::prospect::{fold, ListQuery, ProspectFilter, SortKey};
use domain::ErrorCode;
use entity::prospects;
use sea_orm::sea_query::{Expr, LikeExpr, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Value,
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

fn like_pattern(term: &str) -> String {
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

/// The WHERE clause for `filter` in the caller's organisation (live rows only).
pub async fn filter_condition<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    filter: &ProspectFilter,
) -> ServiceResult<Condition> {
    let mut cond = Condition::all()
        .add(prospects::Column::OrgId.eq(ctx.org_id()))
        .add(prospects::Column::DeletedAt.is_null());
    let pg = db.get_database_backend() == DbBackend::Postgres;
    for term in search_terms(&filter.search) {
        cond = cond.add(if pg {
            // LIKE, so the trigram index can answer it.
            Expr::col(prospects::Column::SearchText).like(LikeExpr::new(like_pattern(&term)).escape('\\'))
        } else {
            // SQLite scans either way; `instr` is a plain substring search,
            // several times cheaper than LIKE's pattern matcher. The text and
            // the term are both folded already, so case needs no handling.
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
    if let Some(dnc) = filter.do_not_call {
        cond = cond.add(prospects::Column::DoNotCall.eq(dnc));
    }
    if let Some((key, value)) = &filter.custom {
        cond = cond.add(custom_condition(db, ctx, key, value).await?);
    }
    Ok(cond)
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

/// One sorted page and the total count for `cond`.
pub(crate) async fn page<C: ConnectionTrait>(
    db: &C,
    cond: Condition,
    q: &ListQuery,
) -> ServiceResult<(Vec<prospects::Model>, u64)> {
    let order = if q.descending { Order::Desc } else { Order::Asc };
    let col = match q.sort {
        SortKey::CreatedAt => prospects::Column::CreatedAt,
        SortKey::UpdatedAt => prospects::Column::UpdatedAt,
        SortKey::LastName => prospects::Column::LastName,
        SortKey::Company => prospects::Column::Company,
        SortKey::Status => prospects::Column::Status,
    };
    let base = prospects::Entity::find().filter(cond);
    let total = base.clone().count(db).await?;
    let per_page = q.per_page();
    let rows = base
        .order_by(col, order.clone())
        // Ties (same name, same status) must not shuffle between pages.
        .order_by(prospects::Column::Id, order)
        .offset((q.page() - 1) * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    Ok((rows, total))
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

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(like_pattern("50%_off"), "%50\\%\\_off%");
        assert_eq!(like_pattern("a\\b"), "%a\\\\b%");
    }
}
