//! Append-only audit trail of membership and role changes.

use entity::{api_keys, audit_log, users};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::authz::Actor;
use crate::{new_id, now, OrgCtx, ServiceResult};
use domain::Permission;

/// Actions recorded in the log (stable strings: they are stored).
pub mod action {
    pub const ORG_CREATED: &str = "org.created";
    pub const ORG_RENAMED: &str = "org.renamed";
    pub const MEMBER_INVITED: &str = "member.invited";
    pub const INVITE_RESENT: &str = "invite.resent";
    pub const INVITE_REVOKED: &str = "invite.revoked";
    pub const MEMBER_JOINED: &str = "member.joined";
    pub const ROLE_CHANGED: &str = "member.role_changed";
    pub const MEMBER_REMOVED: &str = "member.removed";
    pub const MEMBER_LEFT: &str = "member.left";
    /// A prospect asked, on a call, not to be called again; honoured.
    pub const PROSPECT_OPTED_OUT: &str = "prospect.opted_out";
    pub const TELEPHONY_CHANGED: &str = "telephony.changed";
    pub const RECORDINGS_CHANGED: &str = "telephony.recordings_changed";
    /// Someone opened a call's recording (who listened is part of the record).
    pub const RECORDING_PLAYED: &str = "call.recording_played";
    /// Someone listened to a live call.
    pub const CALL_LISTENED: &str = "call.listened";
    /// A manager spoke to the rep on a live call (the prospect did not hear).
    pub const CALL_WHISPERED: &str = "call.whispered";
    /// A manager joined a live call's conversation.
    pub const CALL_BARGED: &str = "call.barged";
    pub const TRUNK_CREATED: &str = "telephony.trunk_created";
    pub const TRUNK_DELETED: &str = "telephony.trunk_deleted";
    /// A manager corrected a call's analysis (before and after kept).
    pub const ANALYSIS_EDITED: &str = "call.analysis_edited";
}

pub async fn record<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    actor: impl Into<Actor>,
    action: &str,
    target: Option<Uuid>,
    details: serde_json::Value,
) -> ServiceResult<()> {
    let actor = actor.into();
    let row = audit_log::ActiveModel {
        id: Set(new_id()),
        org_id: Set(org_id),
        actor_user_id: Set(actor.user_id),
        actor_api_key_id: Set(actor.api_key_id),
        actor_system: Set(actor.system.map(str::to_string)),
        action: Set(action.to_string()),
        target_user_id: Set(target),
        details: Set(details),
        created_at: Set(now()),
    };
    audit_log::Entity::insert(row).exec_without_returning(db).await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    pub action: String,
    pub actor_email: Option<String>,
    /// When an API key acted: its name and prefix (`CRM sync (hdo_k3x9q2ab)`).
    pub actor_api_key: Option<String>,
    /// When our own code acted: the job's name (`dialer`, `webhook:livekit`…).
    pub actor_system: Option<String>,
    pub target_email: Option<String>,
    pub details: serde_json::Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Newest first, at most `limit` (capped at 200).
pub async fn list<C: ConnectionTrait>(db: &C, ctx: &OrgCtx, limit: u64) -> ServiceResult<Vec<AuditEntry>> {
    ctx.require(Permission::ViewAuditLog)?;
    let rows = audit_log::Entity::find()
        .filter(audit_log::Column::OrgId.eq(ctx.org_id()))
        .order_by_desc(audit_log::Column::CreatedAt)
        .order_by_desc(audit_log::Column::Id)
        .limit(limit.clamp(1, 200))
        .all(db)
        .await?;
    let mut ids: Vec<Uuid> =
        rows.iter().flat_map(|r| [r.actor_user_id, r.target_user_id]).flatten().collect();
    ids.sort();
    ids.dedup();
    let emails: std::collections::HashMap<Uuid, String> = users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    let key_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.actor_api_key_id).collect();
    let keys: std::collections::HashMap<Uuid, String> = if key_ids.is_empty() {
        Default::default()
    } else {
        api_keys::Entity::find()
            .filter(api_keys::Column::Id.is_in(key_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|k| (k.id, format!("{} ({})", k.name, k.prefix)))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            actor_email: r.actor_user_id.and_then(|id| emails.get(&id).cloned()),
            actor_api_key: r
                .actor_api_key_id
                .map(|id| keys.get(&id).cloned().unwrap_or_else(|| id.to_string())),
            actor_system: r.actor_system,
            target_email: r.target_user_id.and_then(|id| emails.get(&id).cloned()),
            action: r.action,
            details: r.details,
            created_at: r.created_at,
        })
        .collect())
}
