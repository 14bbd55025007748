//! The sales-technique library: seeded per organisation in English and
//! French, rated by reps (1–5, one rating per rep, changeable) and scored by
//! the outcomes of the calls where the copilot showed them.

use std::collections::HashMap;

use domain::copilot::outcome::CallOutcome;
use domain::copilot::script::Phase;
use domain::copilot::views::Technique;
use domain::{ErrorCode, Locale, Permission};
use entity::{copilot_sessions, sales_techniques as techniques, technique_feedback as feedback};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::defaults::{self, seeded_id};
use crate::{new_id, now, OrgCtx, ServiceError, ServiceResult};

/// Seeds the starter library once per organisation (idempotent, race-safe).
pub async fn ensure_defaults<C: ConnectionTrait>(db: &C, org_id: Uuid) -> ServiceResult<()> {
    let probe = seeded_id(org_id, "technique/en/spin");
    if techniques::Entity::find_by_id(probe).one(db).await?.is_some() {
        return Ok(());
    }
    let at = now();
    let mut rows = Vec::new();
    for lang in Locale::ALL {
        for t in defaults::techniques(lang) {
            rows.push(techniques::ActiveModel {
                id: Set(seeded_id(org_id, &format!("technique/{}/{}", lang.as_str(), t.key))),
                org_id: Set(org_id),
                phase: Set(t.phase.as_str().to_string()),
                language: Set(lang.as_str().to_string()),
                name: Set(t.name.to_string()),
                summary: Set(t.summary.to_string()),
                steps: Set(serde_json::json!(t.steps)),
                psychological_basis: Set(t.basis.to_string()),
                example_phrases: Set(serde_json::json!(t.examples)),
                rating_sum: Set(0),
                rating_count: Set(0),
                created_at: Set(at),
                updated_at: Set(at),
            });
        }
    }
    techniques::Entity::insert_many(rows)
        .on_conflict(OnConflict::column(techniques::Column::Id).do_nothing().to_owned())
        .do_nothing()
        .exec(db)
        .await?;
    Ok(())
}

/// Average outcome score per technique over the organisation's recent ended
/// calls that showed it.
async fn outcome_scores<C: ConnectionTrait>(db: &C, org_id: Uuid) -> ServiceResult<HashMap<Uuid, u8>> {
    #[derive(FromQueryResult)]
    struct Row {
        outcome: Option<String>,
        technique_ids: serde_json::Value,
    }
    let rows = copilot_sessions::Entity::find()
        .select_only()
        .column(copilot_sessions::Column::Outcome)
        .column(copilot_sessions::Column::TechniqueIds)
        .filter(copilot_sessions::Column::OrgId.eq(org_id))
        .filter(copilot_sessions::Column::Outcome.is_not_null())
        .order_by_desc(copilot_sessions::Column::StartedAt)
        .limit(2_000)
        .into_model::<Row>()
        .all(db)
        .await?;
    let mut acc: HashMap<Uuid, (u64, u64)> = HashMap::new();
    for r in rows {
        let Some(outcome) = r.outcome.as_deref().and_then(CallOutcome::parse) else { continue };
        let ids: Vec<Uuid> = serde_json::from_value(r.technique_ids).unwrap_or_default();
        for id in ids {
            let e = acc.entry(id).or_default();
            e.0 += u64::from(outcome.score());
            e.1 += 1;
        }
    }
    Ok(acc.into_iter().map(|(id, (sum, n))| (id, (sum / n.max(1)) as u8)).collect())
}

fn view(
    t: techniques::Model,
    scores: &HashMap<Uuid, u8>,
    mine: &HashMap<Uuid, i16>,
) -> ServiceResult<Technique> {
    Ok(Technique {
        id: t.id,
        phase: Phase::parse(&t.phase).map_err(|_| ServiceError::internal())?,
        language: Locale::parse(&t.language).unwrap_or_default(),
        steps: serde_json::from_value(t.steps).unwrap_or_default(),
        example_phrases: serde_json::from_value(t.example_phrases).unwrap_or_default(),
        rating: (t.rating_count > 0).then(|| t.rating_sum as f32 / t.rating_count as f32),
        ratings: t.rating_count,
        outcome_score: scores.get(&t.id).copied(),
        my_rating: mine.get(&t.id).copied(),
        name: t.name,
        summary: t.summary,
        psychological_basis: t.psychological_basis,
    })
}

/// The library in `language`, optionally for one phase, best rated first
/// within each phase.
pub async fn list(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    language: Locale,
    phase: Option<Phase>,
) -> ServiceResult<Vec<Technique>> {
    ctx.require(Permission::UseWorkspace)?;
    ensure_defaults(db, ctx.org_id()).await?;
    let mut q = techniques::Entity::find()
        .filter(techniques::Column::OrgId.eq(ctx.org_id()))
        .filter(techniques::Column::Language.eq(language.as_str()));
    if let Some(p) = phase {
        q = q.filter(techniques::Column::Phase.eq(p.as_str()));
    }
    let rows = q.all(db).await?;
    let scores = outcome_scores(db, ctx.org_id()).await?;
    let mine: HashMap<Uuid, i16> = feedback::Entity::find()
        .filter(feedback::Column::OrgId.eq(ctx.org_id()))
        .filter(feedback::Column::UserId.eq(ctx.user_id()))
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.technique_id, f.rating))
        .collect();
    let mut out = rows.into_iter().map(|t| view(t, &scores, &mine)).collect::<ServiceResult<Vec<_>>>()?;
    out.sort_by(|a, b| {
        a.phase
            .cmp(&b.phase)
            .then(b.rating.unwrap_or(0.0).total_cmp(&a.rating.unwrap_or(0.0)))
            .then(a.name.cmp(&b.name))
    });
    Ok(out)
}

/// The caller rates a technique 1–5; rating again replaces their rating.
pub async fn rate(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid, rating: i16) -> ServiceResult<Technique> {
    ctx.require(Permission::UseWorkspace)?;
    let me = ctx.person()?;
    if !(1..=5).contains(&rating) {
        return Err(ServiceError::field(ErrorCode::OutOfRange, "rating").with_detail("1–5"));
    }
    techniques::Entity::find_by_id(id)
        .filter(techniques::Column::OrgId.eq(ctx.org_id()))
        .one(db)
        .await?
        .ok_or_else(ServiceError::not_found)?;
    // The rating, then the aggregate recomputed from all ratings.
    let txn = crate::db::begin_write(db).await?;
    feedback::Entity::insert(feedback::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        technique_id: Set(id),
        user_id: Set(me),
        rating: Set(rating),
        created_at: Set(now()),
    })
    .on_conflict(
        OnConflict::columns([feedback::Column::TechniqueId, feedback::Column::UserId])
            .update_columns([feedback::Column::Rating, feedback::Column::CreatedAt])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    // Recomputed from the ratings themselves, inside the transaction, so the
    // aggregate can never drift from them.
    #[derive(FromQueryResult)]
    struct Agg {
        total: Option<i64>,
        n: i64,
    }
    let agg = feedback::Entity::find()
        .select_only()
        .column_as(Expr::col(feedback::Column::Rating).sum(), "total")
        .column_as(Expr::col(feedback::Column::Id).count(), "n")
        .filter(feedback::Column::TechniqueId.eq(id))
        .into_model::<Agg>()
        .one(&txn)
        .await?
        .ok_or_else(ServiceError::internal)?;
    techniques::Entity::update_many()
        .col_expr(techniques::Column::RatingSum, Expr::value(agg.total.unwrap_or(0)))
        .col_expr(techniques::Column::RatingCount, Expr::value(agg.n))
        .col_expr(techniques::Column::UpdatedAt, Expr::value(now()))
        .filter(techniques::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    let row = techniques::Entity::find_by_id(id).one(db).await?.ok_or_else(ServiceError::not_found)?;
    view(row, &outcome_scores(db, ctx.org_id()).await?, &HashMap::from([(id, rating)]))
}
