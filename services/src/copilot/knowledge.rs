//! The knowledge base: vehicle insights and objection handlers written by the
//! team, reviewed by Admins/Owners, searched and used in the copilot.
//!
//! Visibility is one rule, in [`visible`]: reviewers see everything; members
//! see approved items plus their own drafts. Status changes all go through
//! `domain::copilot::knowledge::KnowledgeStatus::apply`.
//!
//! Every content edit bumps the item's `version`; approve and reject name the
//! version the reviewer read and are written with one conditional UPDATE on
//! id, organisation, version and status, so a decision never lands on text
//! edited after the reviewer loaded it.

use std::collections::BTreeMap;

use domain::copilot::knowledge::{
    content_words, keyword_relevance, KnowledgeDraft, KnowledgeKind, KnowledgeStatus, ReviewAction, UsageKind,
};
use domain::copilot::objection::ObjectionKind;
use domain::copilot::views::{KnowledgeItem, KnowledgeQuery, KnowledgeRef};
use domain::prospect::{decode_tags, encode_tags, fold};
use domain::{ErrorCode, Permission};
use entity::{knowledge_items as items, knowledge_usage as usage};
use sea_orm::sea_query::{Expr, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::prospects::{like_pattern, user_names};
use crate::{new_id, now, OrgCtx, ServiceError, ServiceResult};

pub const LIST_LIMIT_MAX: u64 = 200;

/// What search matches: folded title, body, tags and field values, plus an
/// `objection:<kind>` token so handlers can be found by objection.
fn search_text(d: &KnowledgeDraft) -> String {
    let mut s = format!("{} {} {}", fold(&d.title), fold(&d.body), d.tags.join(" "));
    for (k, v) in &d.fields {
        s.push(' ');
        s.push_str(&fold(v));
        if k == "objection" {
            s.push_str(" objection:");
            s.push_str(v);
        }
    }
    s
}

/// Objection-handler items for `kind` (found by the token [`search_text`] writes).
fn handlers_of(kind: ObjectionKind) -> Condition {
    Condition::all().add(items::Column::Kind.eq(KnowledgeKind::ObjectionHandler.as_str())).add(
        Expr::col(items::Column::SearchText)
            .like(LikeExpr::new(like_pattern(&format!("objection:{}", kind.as_str()))).escape('\\')),
    )
}

/// Approved items of one organisation: what the copilot offers reps.
fn approved_in(org_id: Uuid) -> Condition {
    Condition::all()
        .add(items::Column::OrgId.eq(org_id))
        .add(items::Column::Status.eq(KnowledgeStatus::Approved.as_str()))
}

/// Rows this caller may see.
fn visible(ctx: &OrgCtx) -> Condition {
    let c = Condition::all().add(items::Column::OrgId.eq(ctx.org_id()));
    if ctx.allows(Permission::ReviewKnowledge) {
        c
    } else {
        c.add(
            Condition::any()
                .add(items::Column::Status.eq(KnowledgeStatus::Approved.as_str()))
                .add(items::Column::AuthorId.eq(ctx.user_id())),
        )
    }
}

async fn find<C: ConnectionTrait>(db: &C, ctx: &OrgCtx, id: Uuid) -> ServiceResult<items::Model> {
    items::Entity::find_by_id(id).filter(visible(ctx)).one(db).await?.ok_or_else(ServiceError::not_found)
}

fn draft_of(d: &KnowledgeDraft) -> ServiceResult<KnowledgeDraft> {
    d.normalized().map_err(|errors| {
        errors.into_iter().next().map(ServiceError::from).unwrap_or_else(ServiceError::internal)
    })
}

fn status_of(m: &items::Model) -> ServiceResult<KnowledgeStatus> {
    KnowledgeStatus::parse(&m.status).ok_or_else(|| {
        tracing::error!(item = %m.id, status = %m.status, "unknown knowledge status in database");
        ServiceError::internal()
    })
}

async fn to_views<C: ConnectionTrait>(db: &C, rows: Vec<items::Model>) -> ServiceResult<Vec<KnowledgeItem>> {
    let ids: Vec<Uuid> = rows.iter().flat_map(|r| [r.author_id, r.reviewer_id]).flatten().collect();
    let names = user_names(db, &ids).await?;
    rows.into_iter()
        .map(|r| {
            Ok(KnowledgeItem {
                id: r.id,
                kind: KnowledgeKind::parse(&r.kind).ok_or_else(ServiceError::internal)?,
                status: status_of(&r)?,
                version: r.version,
                title: r.title,
                body: r.body,
                tags: decode_tags(&r.tags),
                fields: serde_json::from_value::<BTreeMap<String, String>>(r.fields).unwrap_or_default(),
                author_id: r.author_id,
                author_name: r.author_id.and_then(|u| names.get(&u).cloned()),
                reviewer_name: r.reviewer_id.and_then(|u| names.get(&u).cloned()),
                review_comment: r.review_comment,
                reviewed_at: r.reviewed_at,
                shown: r.shown_count,
                copied: r.copied_count,
                helpful: r.helpful_count,
                updated_at: r.updated_at,
            })
        })
        .collect()
}

async fn one(db: &DatabaseConnection, row: items::Model) -> ServiceResult<KnowledgeItem> {
    to_views(db, vec![row]).await?.pop().ok_or_else(ServiceError::internal)
}

/// A new draft by the caller.
pub async fn create(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    draft: &KnowledgeDraft,
) -> ServiceResult<KnowledgeItem> {
    ctx.require(Permission::UseWorkspace)?;
    let d = draft_of(draft)?;
    let at = now();
    let row = items::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        kind: Set(d.kind.as_str().to_string()),
        title: Set(d.title.clone()),
        body: Set(d.body.clone()),
        tags: Set(encode_tags(&d.tags)),
        fields: Set(serde_json::to_value(&d.fields).map_err(|_| ServiceError::internal())?),
        status: Set(KnowledgeStatus::Draft.as_str().to_string()),
        version: Set(1),
        author_id: Set(ctx.user_id()),
        reviewer_id: Set(None),
        review_comment: Set(None),
        reviewed_at: Set(None),
        search_text: Set(search_text(&d)),
        shown_count: Set(0),
        copied_count: Set(0),
        helpful_count: Set(0),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?;
    one(db, row).await
}

/// Edits an item: its author or a reviewer. Every edit bumps the version, so
/// a review decision made on the previous text is refused. A member's edit of
/// an approved item sends it back to review, of a rejected one back to draft
/// (see `KnowledgeStatus::after_edit`).
pub async fn update(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
    draft: &KnowledgeDraft,
) -> ServiceResult<KnowledgeItem> {
    ctx.require(Permission::UseWorkspace)?;
    let d = draft_of(draft)?;
    let row = find(db, ctx, id).await?;
    let is_author = ctx.is_user(row.author_id);
    if !is_author && !ctx.allows(Permission::ReviewKnowledge) {
        return Err(ServiceError::forbidden());
    }
    let from = status_of(&row)?;
    let status = from.after_edit(ctx.allows(Permission::ReviewKnowledge));
    // One conditional statement: an edit racing a review does not resurrect
    // the status it read (the loser is told, and can reload). The version is
    // bumped in the same statement, so a review that read the old text and
    // runs after this edit no longer matches it.
    let mut update = items::Entity::update_many();
    if status == KnowledgeStatus::Approved {
        // Only a reviewer's edit keeps an item approved: it is their review
        // of the new text, and the item says so.
        update = update
            .col_expr(items::Column::ReviewerId, Expr::value(ctx.user_id()))
            .col_expr(items::Column::ReviewedAt, Expr::value(Some(now())));
    }
    let res = update
        .col_expr(items::Column::Kind, Expr::value(d.kind.as_str()))
        .col_expr(items::Column::Title, Expr::value(d.title.clone()))
        .col_expr(items::Column::Body, Expr::value(d.body.clone()))
        .col_expr(items::Column::Tags, Expr::value(encode_tags(&d.tags)))
        .col_expr(
            items::Column::Fields,
            Expr::value(serde_json::to_value(&d.fields).map_err(|_| ServiceError::internal())?),
        )
        .col_expr(items::Column::SearchText, Expr::value(search_text(&d)))
        .col_expr(items::Column::Status, Expr::value(status.as_str()))
        .col_expr(items::Column::Version, Expr::col(items::Column::Version).add(1))
        .col_expr(items::Column::UpdatedAt, Expr::value(now()))
        .filter(items::Column::Id.eq(id))
        .filter(items::Column::OrgId.eq(ctx.org_id()))
        .filter(items::Column::Status.eq(from.as_str()))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(ServiceError::new(ErrorCode::Conflict));
    }
    let row = find(db, ctx, id).await?;
    one(db, row).await
}

/// Submit, withdraw, approve or reject. The status is changed only if it is
/// still the one the decision was made on (a concurrent review loses
/// cleanly), and an approval or rejection only if the item is still at the
/// version the reviewer read (`expected_version`): otherwise nothing changes
/// and `stale_version` names the current version.
pub async fn review(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
    action: &ReviewAction,
) -> ServiceResult<KnowledgeItem> {
    ctx.require(Permission::UseWorkspace)?;
    let row = find(db, ctx, id).await?;
    let from = status_of(&row)?;
    let to =
        from.apply(action, ctx.allows(Permission::ReviewKnowledge), ctx.is_user(row.author_id), row.version)?;
    let mut update = items::Entity::update_many()
        .col_expr(items::Column::Status, Expr::value(to.as_str()))
        .col_expr(items::Column::UpdatedAt, Expr::value(now()));
    match action {
        ReviewAction::Approve { .. } | ReviewAction::Reject { .. } => {
            let comment = match action {
                ReviewAction::Reject { comment, .. } => Some(comment.trim().to_string()),
                _ => None,
            };
            update = update
                .col_expr(items::Column::ReviewerId, Expr::value(ctx.user_id()))
                .col_expr(items::Column::ReviewedAt, Expr::value(Some(now())))
                .col_expr(items::Column::ReviewComment, Expr::value(comment));
        }
        ReviewAction::Submit | ReviewAction::Withdraw => {}
    }
    let expected = action.expected_version();
    if let Some(v) = expected {
        // The version check is part of the write, not a read before it: an
        // edit landing between the read above and this statement bumps the
        // version and this matches no row.
        update = update.filter(items::Column::Version.eq(v));
    }
    let res = update
        .filter(items::Column::Id.eq(id))
        .filter(items::Column::OrgId.eq(ctx.org_id()))
        .filter(items::Column::Status.eq(from.as_str()))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        // Lost a race; say to what (nothing was written either way).
        let current = find(db, ctx, id).await?;
        if expected.is_some_and(|v| v != current.version) {
            return Err(ServiceError::field(ErrorCode::StaleVersion, "expected_version")
                .with_detail(current.version.to_string()));
        }
        return Err(ServiceError::field(ErrorCode::InvalidTransition, "status"));
    }
    one(db, find(db, ctx, id).await?).await
}

pub async fn get(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<KnowledgeItem> {
    ctx.require(Permission::UseWorkspace)?;
    one(db, find(db, ctx, id).await?).await
}

/// Search and filter, newest first. Every word of `q` must appear.
pub async fn list(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    q: &KnowledgeQuery,
) -> ServiceResult<Vec<KnowledgeItem>> {
    ctx.require(Permission::UseWorkspace)?;
    if q.q.chars().count() > 200 {
        return Err(ServiceError::field(ErrorCode::TextTooLong, "q").with_detail("200"));
    }
    let mut cond = visible(ctx);
    for word in fold(&q.q).split_whitespace().take(8) {
        cond = cond
            .add(Expr::col(items::Column::SearchText).like(LikeExpr::new(like_pattern(word)).escape('\\')));
    }
    if let Some(kind) = q.kind {
        cond = cond.add(items::Column::Kind.eq(kind.as_str()));
    }
    if let Some(status) = q.status {
        cond = cond.add(items::Column::Status.eq(status.as_str()));
    }
    if let Some(tag) = q.tag.as_deref().map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()) {
        cond = cond.add(
            Expr::col(items::Column::Tags)
                .like(LikeExpr::new(like_pattern(&format!("|{tag}|"))).escape('\\')),
        );
    }
    if let Some(o) = q.objection {
        cond = cond.add(handlers_of(o));
    }
    let rows = items::Entity::find()
        .filter(cond)
        .order_by_desc(items::Column::UpdatedAt)
        .limit(q.limit.unwrap_or(50).clamp(1, LIST_LIMIT_MAX))
        .all(db)
        .await?;
    to_views(db, rows).await
}

/// Approved items reps used most (copied and marked helpful weigh more than shown).
pub async fn most_used(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    limit: u64,
) -> ServiceResult<Vec<KnowledgeItem>> {
    ctx.require(Permission::UseWorkspace)?;
    let score = Expr::col(items::Column::ShownCount)
        .add(Expr::col(items::Column::CopiedCount).mul(3))
        .add(Expr::col(items::Column::HelpfulCount).mul(5));
    let rows = items::Entity::find()
        .filter(approved_in(ctx.org_id()))
        .order_by(score, sea_orm::Order::Desc)
        .order_by_desc(items::Column::UpdatedAt)
        .limit(limit.clamp(1, 50))
        .all(db)
        .await?;
    to_views(db, rows).await
}

/// Records that the caller was shown, copied or found helpful an approved item.
pub async fn record_usage(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
    kind: UsageKind,
) -> ServiceResult<()> {
    ctx.require(Permission::UseWorkspace)?;
    let row = find(db, ctx, id).await?;
    if status_of(&row)? != KnowledgeStatus::Approved {
        return Err(ServiceError::field(ErrorCode::InvalidTransition, "status"));
    }
    let txn = crate::db::begin_write(db).await?;
    usage::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        item_id: Set(id),
        user_id: Set(ctx.user_id()),
        kind: Set(kind.as_str().to_string()),
        created_at: Set(now()),
    }
    .insert(&txn)
    .await?;
    let col = match kind {
        UsageKind::Shown => items::Column::ShownCount,
        UsageKind::Copied => items::Column::CopiedCount,
        UsageKind::Helpful => items::Column::HelpfulCount,
    };
    items::Entity::update_many()
        .col_expr(col, Expr::col(col).add(1))
        .filter(items::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Deletes an item: its author while it is a draft, or a reviewer.
pub async fn delete(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<()> {
    ctx.require(Permission::UseWorkspace)?;
    let row = find(db, ctx, id).await?;
    let own_draft = ctx.is_user(row.author_id) && status_of(&row)? == KnowledgeStatus::Draft;
    if !own_draft && !ctx.allows(Permission::ReviewKnowledge) {
        return Err(ServiceError::forbidden());
    }
    items::Entity::delete_many()
        .filter(items::Column::Id.eq(id))
        .filter(items::Column::OrgId.eq(ctx.org_id()))
        .exec(db)
        .await?;
    Ok(())
}

/// Longest text [`related`] accepts, in characters (a few utterances).
pub const RELATED_TEXT_MAX: usize = 2_000;
/// Approved items [`related`] considers: the most recently updated.
const RELATED_CANDIDATES: u64 = 300;
/// Cosine similarity below which the embedding model's opinion adds
/// nothing; each 0.1 above it weighs like one word found in a body.
const SEMANTIC_FLOOR: f32 = 0.4;

/// Approved items relevant to what was just said, most relevant first: the
/// utterance's content words found in each item (see
/// [`domain::copilot::knowledge::keyword_relevance`]), plus, with an
/// embedding model, closeness in meaning. Small talk ("yes, sure") finds
/// nothing rather than padding the panel.
pub async fn related(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    semantic: &super::Semantic,
    text: &str,
    limit: u64,
) -> ServiceResult<Vec<KnowledgeItem>> {
    ctx.require(Permission::UseWorkspace)?;
    if text.chars().count() > RELATED_TEXT_MAX {
        return Err(
            ServiceError::field(ErrorCode::TextTooLong, "text").with_detail(RELATED_TEXT_MAX.to_string())
        );
    }
    let terms = content_words(text);
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let rows = items::Entity::find()
        .filter(approved_in(ctx.org_id()))
        .order_by_desc(items::Column::UpdatedAt)
        .limit(RELATED_CANDIDATES)
        .all(db)
        .await?;
    let documents =
        rows.iter().map(|r| (r.id, r.updated_at.timestamp_millis(), format!("{}. {}", r.title, r.body)));
    let similar = semantic.similarities(text, documents.collect()).await.unwrap_or_default();
    let mut scored: Vec<(f32, items::Model)> = rows
        .into_iter()
        .filter_map(|r| {
            let words = keyword_relevance(&terms, &r.title, &r.body, &decode_tags(&r.tags)) as f32;
            let meaning = similar.get(&r.id).map_or(0.0, |s| ((s - SEMANTIC_FLOOR) * 10.0).max(0.0));
            let score = words + meaning;
            (score > 0.0).then_some((score, r))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.truncate(limit.clamp(1, 10) as usize);
    to_views(db, scored.into_iter().map(|(_, r)| r).collect()).await
}

/// Approved handlers for `kind`, most helpful first (for objection cards).
pub(crate) async fn handlers_for<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    kind: ObjectionKind,
) -> ServiceResult<Vec<KnowledgeRef>> {
    let rows = items::Entity::find()
        .filter(approved_in(org_id))
        .filter(handlers_of(kind))
        .order_by_desc(items::Column::HelpfulCount)
        .limit(3)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| KnowledgeRef { id: r.id, title: r.title, body: r.body }).collect())
}
