//! Honouring an opt-out heard on a call. The copilot's opt-out card (see
//! [`ObjectionKind::OptOut`]) offers the rep one click that marks the
//! prospect opted out and puts their number on the organisation's
//! do-not-call list, in one transaction, keeping what the prospect said as
//! evidence (timeline and audit log). The voice worker calls the same
//! service when its agent hears one.
//!
//! Idempotent: a second click, or a retried request, writes nothing again.

use domain::copilot::objection::ObjectionKind;
use domain::copilot::script::Speaker;
use domain::copilot::views::{CopilotEvent, OptOutRecorded};
use domain::{ErrorCode, Permission};
use entity::{copilot_events as events, prospects};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use crate::prospects::{self as prospect_svc, compliance, timeline};
use crate::{audit, now, OrgCtx, ServiceError, ServiceResult};

/// The timeline entry's kind.
pub const TIMELINE_KIND: &str = "opted_out_on_call";

/// Marks the session's prospect opted out because of the opt-out card
/// numbered `seq`. Any member may: refusing calls is always safe.
pub async fn honour(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    session_id: Uuid,
    seq: i64,
) -> ServiceResult<OptOutRecorded> {
    ctx.require(Permission::UseWorkspace)?;
    let session = super::sessions::find(db, ctx, session_id).await?;
    let card = event(db, ctx, session_id, seq).await?.ok_or_else(ServiceError::not_found)?;
    let detection = match card {
        CopilotEvent::Objection { detection, .. } if detection.kind == ObjectionKind::OptOut => detection,
        _ => {
            return Err(ServiceError::field(ErrorCode::InvalidValue, "seq")
                .with_detail("not an opt-out card".to_string()))
        }
    };
    // A late card (a second opinion) may follow other lines: it carries the
    // utterance it was raised on.
    let utterance = match detection.confirmed_by {
        Some(_) => detection.matched,
        None => said_before(db, ctx, session_id, seq).await?.unwrap_or(detection.matched),
    };

    let txn = crate::db::begin_write(db).await?;
    let p = prospect_svc::find(&txn, ctx, session.prospect_id).await?;
    let evidence = json!({"session_id": session_id, "seq": seq, "utterance": utterance});
    let already_recorded = mark(&txn, ctx, &p, evidence).await?;
    // Listed even when the flag was already set: the list is what dialling
    // checks, and adding a listed number is a no-op.
    compliance::list_opted_out(&txn, ctx, p.phone.as_ref()).await?;
    txn.commit().await?;
    Ok(OptOutRecorded { prospect_id: p.id, phone: p.phone, utterance, already_recorded })
}

/// An AI agent heard the person on call `call_id` ask not to be called
/// again (`utterance`, their words): the call's prospect is marked opted
/// out with the words as evidence (timeline, audit log) and the number
/// goes on the do-not-call list — the prospect's, or the far party's when
/// the call has no prospect. One transaction; idempotent. Says whether
/// this recorded it (false: it already was).
pub async fn heard_on_call(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    call_id: Uuid,
    utterance: &str,
) -> ServiceResult<bool> {
    let utterance: String =
        utterance.trim().chars().take(domain::copilot::outcome::NOTES_MAX_CHARS).collect();
    let txn = crate::db::begin_write(db).await?;
    let call = crate::calls::find(&txn, ctx, call_id).await?;
    let far_party =
        if call.direction == "inbound" { call.from_number.clone() } else { Some(call.to_number.clone()) };
    let (recorded, phone) = match call.prospect_id {
        Some(id) => {
            let p = prospect_svc::find(&txn, ctx, id).await?;
            let evidence = json!({"call_id": call_id, "utterance": utterance});
            let already = mark(&txn, ctx, &p, evidence).await?;
            (!already, p.phone.or(far_party))
        }
        None => (true, far_party),
    };
    compliance::list_opted_out(&txn, ctx, phone.as_ref()).await?;
    txn.commit().await?;
    Ok(recorded)
}

/// Marks prospect `p` opted out, with `evidence` in its timeline and the
/// audit log; says whether it already was (then nothing is written).
async fn mark<C: ConnectionTrait>(
    txn: &C,
    ctx: &OrgCtx,
    p: &prospects::Model,
    evidence: serde_json::Value,
) -> ServiceResult<bool> {
    if p.opted_out {
        return Ok(true);
    }
    let mut m: prospects::ActiveModel = p.clone().into();
    m.opted_out = Set(true);
    m.updated_at = Set(now());
    m.update(txn).await?;
    timeline::record(txn, ctx, p.id, TIMELINE_KIND, evidence.clone()).await?;
    let mut details = evidence;
    details["prospect_id"] = json!(p.id);
    audit::record(txn, ctx.org_id(), ctx, audit::action::PROSPECT_OPTED_OUT, None, details).await?;
    Ok(false)
}

/// The stored events of one of the caller's organisation's sessions.
fn session_events(ctx: &OrgCtx, session_id: Uuid) -> sea_orm::Select<events::Entity> {
    events::Entity::find()
        .filter(events::Column::OrgId.eq(ctx.org_id()))
        .filter(events::Column::SessionId.eq(session_id))
}

/// The stored event `seq` of the session.
async fn event<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    session_id: Uuid,
    seq: i64,
) -> ServiceResult<Option<CopilotEvent>> {
    let row = session_events(ctx, session_id).filter(events::Column::Seq.eq(seq)).one(db).await?;
    Ok(row.and_then(|r| serde_json::from_value(r.data).ok()))
}

/// The prospect's last final line before event `seq`: what the card was
/// raised on (its own `matched` holds only the words a rule matched).
async fn said_before<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    session_id: Uuid,
    seq: i64,
) -> ServiceResult<Option<String>> {
    let rows = session_events(ctx, session_id)
        .filter(events::Column::Kind.eq("transcript"))
        .filter(events::Column::Seq.lt(seq))
        .order_by_desc(events::Column::Seq)
        .limit(20)
        .all(db)
        .await?;
    Ok(rows.into_iter().find_map(|r| match serde_json::from_value(r.data) {
        Ok(CopilotEvent::Transcript(line)) if line.is_final && line.speaker != Speaker::Rep => {
            Some(line.text)
        }
        _ => None,
    }))
}
