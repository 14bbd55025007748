//! CSV export of every prospect matching a filter, streamed in chunks of
//! [`CHUNK`] rows (keyset pagination on creation time and id), so memory stays
//! constant whatever the size of the base. Consent is exported with each
//! prospect (its latest record).

use std::collections::HashMap;

use domain::prospect::{CustomFieldDef, ProspectFilter};
use domain::Permission;
use entity::{consent_records as consents, prospects, users};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{custom_fields, custom_of, filter_condition};
use crate::{OrgCtx, ServiceError, ServiceResult};

pub const CHUNK: u64 = 1000;

const FIXED: &[&str] = &[
    "id",
    "first_name",
    "last_name",
    "company",
    "title",
    "phone",
    "email",
    "timezone",
    "status",
    "owner_email",
    "tags",
    "do_not_call",
    "opted_out",
    "consent_source",
    "consent_method",
    "consent_granted",
    "consent_captured_at",
    "consent_captured_by",
    "created_at",
    "updated_at",
];

/// Spreadsheet formula injection (OWASP "CSV injection"): a cell starting
/// with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`,
/// unless the whole cell is a plain number or phone number (`+33 6 12…`,
/// `-5`, `1.5`), which a spreadsheet cannot run.
pub(crate) fn safe(cell: &str) -> String {
    let numeric = cell.chars().any(|c| c.is_ascii_digit())
        && cell.chars().enumerate().all(|(i, c)| {
            c.is_ascii_digit() || matches!(c, ' ' | '.' | '(' | ')') || (i == 0 && matches!(c, '+' | '-'))
        });
    let risky = !numeric && matches!(cell.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'));
    if risky {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// Starts the export; chunks of CSV bytes arrive on the receiver. The
/// filter and permission are checked before anything is sent, so the caller
/// can still answer with an error status.
pub async fn start(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    filter: ProspectFilter,
) -> ServiceResult<mpsc::Receiver<Result<Vec<u8>, ServiceError>>> {
    ctx.require(Permission::ExportProspects)?;
    let txn = crate::db::begin_planned_read(db).await?;
    let cond = filter_condition(&txn, ctx, &filter).await?;
    txn.commit().await?;
    let defs = custom_fields::defs(db, ctx).await?;
    let (tx, rx) = mpsc::channel(4);
    let db = db.clone();
    let org = ctx.org_id();
    tokio::spawn(async move {
        if let Err(e) = pump(&db, org, cond, &defs, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    Ok(rx)
}

async fn pump(
    db: &DatabaseConnection,
    org: Uuid,
    cond: sea_orm::Condition,
    defs: &[CustomFieldDef],
    tx: &mpsc::Sender<Result<Vec<u8>, ServiceError>>,
) -> ServiceResult<()> {
    let mut header: Vec<String> = FIXED.iter().map(|s| s.to_string()).collect();
    header.extend(defs.iter().map(|d| format!("custom.{}", d.key)));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).map_err(|_| ServiceError::internal())?;
    if tx.send(Ok(take(&mut w)?)).await.is_err() {
        return Ok(());
    }
    // Chunks in creation order, each starting after the last row of the
    // previous one: the `(org_id, created_at, id)` index walks straight to
    // it. (Keyed by `id` alone, no index served `org_id` + `id` order and
    // every chunk re-read the organisation: 326 s for a million rows.)
    let mut after: Option<(chrono::DateTime<chrono::Utc>, Uuid)> = None;
    let mut emails: HashMap<Uuid, String> = HashMap::new();
    loop {
        let mut q = prospects::Entity::find()
            .filter(cond.clone())
            .order_by_asc(prospects::Column::CreatedAt)
            .order_by_asc(prospects::Column::Id)
            .limit(CHUNK);
        if let Some((at, id)) = after {
            let key = Expr::tuple([
                Expr::col(prospects::Column::CreatedAt).into(),
                Expr::col(prospects::Column::Id).into(),
            ]);
            q = q.filter(key.gt(Expr::tuple([Expr::value(at), Expr::value(id)])));
        }
        // Each chunk in its own short transaction: planned for this
        // search's terms without holding a connection for the whole export.
        let txn = crate::db::begin_planned_read(db).await?;
        let rows = q.all(&txn).await?;
        txn.commit().await?;
        let Some(last) = rows.last() else { break };
        after = Some((last.created_at, last.id));
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let latest = latest_consents(db, org, &ids).await?;
        let mut missing: Vec<Uuid> = rows.iter().filter_map(|r| r.owner_id).collect();
        missing.extend(latest.values().filter_map(|c| c.captured_by));
        missing.retain(|u| !emails.contains_key(u));
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            for u in users::Entity::find().filter(users::Column::Id.is_in(missing)).all(db).await? {
                emails.insert(u.id, u.email);
            }
        }
        for r in &rows {
            let email_of = |u: Option<Uuid>| u.and_then(|u| emails.get(&u).cloned()).unwrap_or_default();
            let c = latest.get(&r.id);
            let custom = custom_of(r);
            let mut rec: Vec<String> = vec![
                r.id.to_string(),
                safe(&r.first_name),
                safe(&r.last_name),
                safe(&r.company),
                safe(&r.title),
                r.phone.clone().unwrap_or_default(),
                safe(r.email.as_deref().unwrap_or_default()),
                r.timezone.clone(),
                r.status.clone(),
                safe(&email_of(r.owner_id)),
                safe(&domain::prospect::decode_tags(&r.tags).join(", ")),
                r.do_not_call.to_string(),
                r.opted_out.to_string(),
                c.map(|c| safe(&c.source)).unwrap_or_default(),
                c.map(|c| c.method.clone()).unwrap_or_default(),
                c.map(|c| c.granted.to_string()).unwrap_or_default(),
                c.map(|c| c.captured_at.to_rfc3339()).unwrap_or_default(),
                safe(&email_of(c.and_then(|c| c.captured_by))),
                r.created_at.to_rfc3339(),
                r.updated_at.to_rfc3339(),
            ];
            for d in defs {
                rec.push(match custom.get(&d.key) {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(s)) => safe(s),
                    Some(v) => v.to_string(),
                });
            }
            w.write_record(&rec).map_err(|_| ServiceError::internal())?;
        }
        if tx.send(Ok(take(&mut w)?)).await.is_err() {
            // The client went away: stop reading the database.
            return Ok(());
        }
        if (rows.len() as u64) < CHUNK {
            break;
        }
    }
    Ok(())
}

/// The bytes written so far; the writer starts over with an empty buffer.
pub(crate) fn take(w: &mut csv::Writer<Vec<u8>>) -> ServiceResult<Vec<u8>> {
    let full = std::mem::replace(w, csv::Writer::from_writer(Vec::new()));
    full.into_inner().map_err(|_| ServiceError::internal())
}

async fn latest_consents(
    db: &DatabaseConnection,
    org: Uuid,
    ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, consents::Model>> {
    let rows = consents::Entity::find()
        .filter(consents::Column::OrgId.eq(org))
        .filter(consents::Column::ProspectId.is_in(ids.to_vec()))
        .order_by_asc(consents::Column::CapturedAt)
        .order_by_asc(consents::Column::CreatedAt)
        .all(db)
        .await?;
    // Ascending order: the last insert per prospect is its latest record.
    Ok(rows.into_iter().map(|c| (c.prospect_id, c)).collect())
}

#[cfg(test)]
mod tests {
    use super::safe;

    #[test]
    fn formulas_are_neutralised_but_phone_numbers_are_not() {
        assert_eq!(safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(safe("+33612345678"), "+33612345678");
        assert_eq!(safe("-5"), "-5");
        assert_eq!(safe("+1 (415) 555-0100"), "'+1 (415) 555-0100", "a dash after the start is not a number");
        assert_eq!(safe("+1 (415) 555 0100"), "+1 (415) 555 0100");
        assert_eq!(safe("-1.5"), "-1.5");
        assert_eq!(safe("Dupont"), "Dupont");
        assert_eq!(safe("Jean-Pierre"), "Jean-Pierre");
        // A digit after the sign used to be enough to pass; a formula can start so.
        assert_eq!(safe("-2+3+cmd|' /C calc'!A0"), "'-2+3+cmd|' /C calc'!A0");
        assert_eq!(safe("+1+HYPERLINK(\"http://x\")"), "'+1+HYPERLINK(\"http://x\")");
        assert_eq!(safe("\t=1+1"), "'\t=1+1");
        assert_eq!(safe("-"), "'-");
        assert_eq!(safe(""), "");
    }
}
