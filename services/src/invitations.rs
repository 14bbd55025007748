//! Invitations: a single-use token, stored hashed, valid for seven days.

use chrono::{DateTime, Duration, Utc};
use domain::permissions::check_invite;
use domain::{validation, ErrorCode, Locale, Permission, Role};
use entity::{invitations, memberships, organizations};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, action};
use crate::orgs::{insert_membership, OrgSummary};
use crate::tokens::{hash_token, random_token};
use crate::{new_id, now, OrgCtx, ServiceError, ServiceResult};

pub const INVITE_TTL_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteStatus {
    Pending,
    Expired,
    Accepted,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub status: InviteStatus,
    pub invited_by_email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A freshly minted invitation: the only moment the raw token exists.
#[derive(Debug, Clone)]
pub struct IssuedInvite {
    pub invitation: InvitationView,
    pub token: String,
    pub org_name: String,
}

/// What the accept page shows before the invitee commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitePreview {
    pub org_name: String,
    pub email: String,
    pub role: Role,
    pub status: InviteStatus,
    pub account_exists: bool,
}

fn status_of(inv: &invitations::Model, at: DateTime<Utc>) -> InviteStatus {
    if inv.revoked_at.is_some() {
        InviteStatus::Revoked
    } else if inv.accepted_at.is_some() {
        InviteStatus::Accepted
    } else if inv.expires_at <= at {
        InviteStatus::Expired
    } else {
        InviteStatus::Pending
    }
}

fn status_error(status: InviteStatus) -> ServiceError {
    ServiceError::new(match status {
        InviteStatus::Expired => ErrorCode::InviteExpired,
        InviteStatus::Accepted => ErrorCode::InviteUsed,
        InviteStatus::Revoked => ErrorCode::InviteRevoked,
        InviteStatus::Pending => ErrorCode::Internal,
    })
}

fn view(inv: &invitations::Model, invited_by_email: Option<String>) -> ServiceResult<InvitationView> {
    Ok(InvitationView {
        id: inv.id,
        email: inv.email.clone(),
        role: Role::parse(&inv.role).ok_or_else(ServiceError::internal)?,
        status: status_of(inv, now()),
        invited_by_email,
        created_at: inv.created_at,
        expires_at: inv.expires_at,
    })
}

pub async fn invite(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    email: &str,
    role: Role,
) -> ServiceResult<IssuedInvite> {
    ctx.require(Permission::InviteMembers)?;
    check_invite(ctx.role(), role).map_err(ServiceError::new)?;
    let email = validation::normalize_email(email)?;
    let txn = crate::db::begin_write(db).await?;
    let org = organizations::Entity::find_by_id(ctx.org_id())
        .one(&txn)
        .await?
        .ok_or_else(ServiceError::not_found)?;
    if let Some(user) = crate::auth::find_by_email(&txn, &email).await? {
        let is_member = memberships::Entity::find()
            .filter(memberships::Column::OrgId.eq(ctx.org_id()))
            .filter(memberships::Column::UserId.eq(user.id))
            .count(&txn)
            .await?
            > 0;
        if is_member {
            return Err(ServiceError::field(ErrorCode::AlreadyMember, "email"));
        }
    }
    let at = now();
    let pending = invitations::Entity::find()
        .filter(invitations::Column::OrgId.eq(ctx.org_id()))
        .filter(invitations::Column::Email.eq(&email))
        .filter(invitations::Column::AcceptedAt.is_null())
        .filter(invitations::Column::RevokedAt.is_null())
        .filter(invitations::Column::ExpiresAt.gt(at))
        .count(&txn)
        .await?;
    if pending > 0 {
        return Err(ServiceError::field(ErrorCode::AlreadyInvited, "email"));
    }
    let token = random_token();
    let row = invitations::ActiveModel {
        id: Set(new_id()),
        org_id: Set(ctx.org_id()),
        email: Set(email.clone()),
        role: Set(role.as_str().to_string()),
        token_hash: Set(hash_token(&token)),
        invited_by: Set(ctx.person()?),
        created_at: Set(at),
        last_sent_at: Set(at),
        expires_at: Set(at + Duration::days(INVITE_TTL_DAYS)),
        accepted_at: Set(None),
        accepted_by: Set(None),
        revoked_at: Set(None),
        emailed: Set(false),
    };
    let inv = invitations::Entity::insert(row).exec_with_returning(&txn).await?;
    audit::record(
        &txn,
        ctx.org_id(),
        ctx,
        action::MEMBER_INVITED,
        None,
        json!({ "email": email, "role": role.as_str() }),
    )
    .await?;
    txn.commit().await?;
    Ok(IssuedInvite { invitation: view(&inv, None)?, token, org_name: org.name })
}

/// Invitations not yet accepted or revoked (pending and expired), newest first.
pub async fn list_open<C: ConnectionTrait>(db: &C, ctx: &OrgCtx) -> ServiceResult<Vec<InvitationView>> {
    ctx.require(Permission::InviteMembers)?;
    let rows = invitations::Entity::find()
        .filter(invitations::Column::OrgId.eq(ctx.org_id()))
        .filter(invitations::Column::AcceptedAt.is_null())
        .filter(invitations::Column::RevokedAt.is_null())
        .order_by_desc(invitations::Column::CreatedAt)
        .all(db)
        .await?;
    // One query for every inviter, not one per row.
    let inviter_ids: Vec<Uuid> = rows.iter().map(|r| r.invited_by).collect();
    let emails: std::collections::HashMap<Uuid, String> = entity::users::Entity::find()
        .filter(entity::users::Column::Id.is_in(inviter_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    rows.iter().map(|r| view(r, emails.get(&r.invited_by).cloned())).collect()
}

/// Invitations still waiting for an answer (not expired).
async fn find_in_org<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<invitations::Model> {
    invitations::Entity::find_by_id(id)
        .filter(invitations::Column::OrgId.eq(ctx.org_id()))
        .one(db)
        .await?
        .ok_or_else(ServiceError::not_found)
}

/// An invitation of `ctx`'s org that is still open (pending or expired) and
/// whose role the caller may grant — the precondition of revoke and resend.
async fn open_invitation_for_admin<C: ConnectionTrait>(
    db: &C,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<invitations::Model> {
    let inv = find_in_org(db, ctx, id).await?;
    let role = Role::parse(&inv.role).ok_or_else(ServiceError::internal)?;
    check_invite(ctx.role(), role).map_err(ServiceError::new)?;
    match status_of(&inv, now()) {
        InviteStatus::Accepted => Err(ServiceError::new(ErrorCode::InviteUsed)),
        InviteStatus::Revoked => Err(ServiceError::new(ErrorCode::InviteRevoked)),
        InviteStatus::Pending | InviteStatus::Expired => Ok(inv),
    }
}

pub async fn revoke(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<()> {
    ctx.require(Permission::RevokeInvitations)?;
    let txn = crate::db::begin_write(db).await?;
    let inv = open_invitation_for_admin(&txn, ctx, id).await?;
    let revoked = invitations::Entity::update_many()
        .col_expr(invitations::Column::RevokedAt, Expr::value(now()))
        .filter(invitations::Column::Id.eq(inv.id))
        .filter(invitations::Column::AcceptedAt.is_null())
        .filter(invitations::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    // Accepted (or revoked) concurrently: report what actually happened.
    if revoked.rows_affected != 1 {
        return Err(ServiceError::new(ErrorCode::InviteUsed));
    }
    audit::record(&txn, ctx.org_id(), ctx, action::INVITE_REVOKED, None, json!({ "email": inv.email }))
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Issues a new token for an open invitation (the old link stops working)
/// and restarts its seven days.
pub async fn resend(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<IssuedInvite> {
    ctx.require(Permission::InviteMembers)?;
    let txn = crate::db::begin_write(db).await?;
    let inv = open_invitation_for_admin(&txn, ctx, id).await?;
    let token = random_token();
    let at = now();
    let renewed = invitations::Entity::update_many()
        .col_expr(invitations::Column::TokenHash, Expr::value(hash_token(&token)))
        .col_expr(invitations::Column::LastSentAt, Expr::value(at))
        // A new token: not delivered until the mailer says so.
        .col_expr(invitations::Column::Emailed, Expr::value(false))
        .col_expr(invitations::Column::ExpiresAt, Expr::value(at + Duration::days(INVITE_TTL_DAYS)))
        .filter(invitations::Column::Id.eq(inv.id))
        .filter(invitations::Column::AcceptedAt.is_null())
        .filter(invitations::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if renewed.rows_affected != 1 {
        return Err(ServiceError::new(ErrorCode::InviteUsed));
    }
    audit::record(&txn, ctx.org_id(), ctx, action::INVITE_RESENT, None, json!({ "email": inv.email }))
        .await?;
    let org = organizations::Entity::find_by_id(ctx.org_id())
        .one(&txn)
        .await?
        .ok_or_else(ServiceError::not_found)?;
    let inv = invitations::Entity::find_by_id(inv.id).one(&txn).await?.ok_or_else(ServiceError::internal)?;
    txn.commit().await?;
    Ok(IssuedInvite { invitation: view(&inv, None)?, token, org_name: org.name })
}

async fn find_by_token<C: ConnectionTrait>(db: &C, token: &str) -> ServiceResult<invitations::Model> {
    // Bound the work done on attacker-supplied input before hashing it.
    if token.is_empty() || token.len() > 128 {
        return Err(ServiceError::new(ErrorCode::InviteNotFound));
    }
    invitations::Entity::find()
        .filter(invitations::Column::TokenHash.eq(hash_token(token)))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::new(ErrorCode::InviteNotFound))
}

pub async fn preview<C: ConnectionTrait>(db: &C, token: &str) -> ServiceResult<InvitePreview> {
    let inv = find_by_token(db, token).await?;
    let org = organizations::Entity::find_by_id(inv.org_id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::new(ErrorCode::InviteNotFound))?;
    let account_exists = crate::auth::find_by_email(db, &inv.email).await?.is_some();
    Ok(InvitePreview {
        org_name: org.name,
        email: inv.email.clone(),
        role: Role::parse(&inv.role).ok_or_else(ServiceError::internal)?,
        status: status_of(&inv, now()),
        account_exists,
    })
}

/// Records that the invitation's current link was delivered by e-mail.
pub async fn mark_emailed(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<()> {
    ctx.require(Permission::InviteMembers)?;
    invitations::Entity::update_many()
        .col_expr(invitations::Column::Emailed, Expr::value(true))
        .filter(invitations::Column::Id.eq(id))
        .filter(invitations::Column::OrgId.eq(ctx.org_id()))
        .exec(db)
        .await?;
    Ok(())
}

/// The signed-in user accepts. The invitation's email must be theirs: a
/// forwarded link must not hand membership to someone else.
pub async fn accept(db: &DatabaseConnection, user_id: Uuid, token: &str) -> ServiceResult<OrgSummary> {
    let txn = crate::db::begin_write(db).await?;
    let user = crate::users::find(&txn, user_id).await?;
    let summary = accept_in(&txn, &user, token).await?;
    txn.commit().await?;
    Ok(summary)
}

/// Creates the account and accepts in one transaction: a bad token creates
/// no user. The address counts as verified only when the token was e-mailed.
pub async fn accept_as_new_user(
    db: &DatabaseConnection,
    token: &str,
    name: &str,
    password: &str,
    locale: Locale,
) -> ServiceResult<(entity::users::Model, OrgSummary)> {
    let name = validation::normalize_name("name", name)?;
    let txn = crate::db::begin_write(db).await?;
    let inv = find_by_token(&txn, token).await?;
    let status = status_of(&inv, now());
    if status != InviteStatus::Pending {
        return Err(status_error(status));
    }
    validation::check_password(password, Some(&inv.email))?;
    crate::passwords::check_strength(password, &[&inv.email, &name])?;
    if crate::auth::find_by_email(&txn, &inv.email).await?.is_some() {
        return Err(ServiceError::field(ErrorCode::EmailTaken, "email"));
    }
    let hash = crate::auth::hash_password_blocking(password).await?;
    // Holding the token proves the mailbox only if the token went there.
    let user = crate::auth::insert_user(&txn, &inv.email, &name, locale, inv.emailed).await?;
    crate::auth::insert_password(&txn, user.id, hash).await?;
    let summary = accept_in(&txn, &user, token).await?;
    txn.commit().await?;
    Ok((user, summary))
}

async fn accept_in<C: ConnectionTrait>(
    txn: &C,
    user: &entity::users::Model,
    token: &str,
) -> ServiceResult<OrgSummary> {
    let inv = find_by_token(txn, token).await?;
    let at = now();
    let status = status_of(&inv, at);
    if status != InviteStatus::Pending {
        return Err(status_error(status));
    }
    if !inv.email.eq_ignore_ascii_case(&user.email) {
        return Err(ServiceError::new(ErrorCode::InviteEmailMismatch));
    }
    let role = Role::parse(&inv.role).ok_or_else(ServiceError::internal)?;
    // Claim the invitation atomically: of two concurrent accepts, one wins.
    let claimed = invitations::Entity::update_many()
        .col_expr(invitations::Column::AcceptedAt, Expr::value(at))
        .col_expr(invitations::Column::AcceptedBy, Expr::value(user.id))
        .filter(invitations::Column::Id.eq(inv.id))
        .filter(invitations::Column::AcceptedAt.is_null())
        .filter(invitations::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(ServiceError::new(ErrorCode::InviteUsed));
    }
    let already = memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(inv.org_id))
        .filter(memberships::Column::UserId.eq(user.id))
        .count(txn)
        .await?
        > 0;
    if already {
        return Err(ServiceError::new(ErrorCode::AlreadyMember));
    }
    insert_membership(txn, inv.org_id, user.id, role).await?;
    audit::record(
        txn,
        inv.org_id,
        Some(user.id),
        action::MEMBER_JOINED,
        Some(user.id),
        json!({ "role": role.as_str(), "invitation": inv.id }),
    )
    .await?;
    crate::users::set_last_org(txn, user.id, Some(inv.org_id)).await?;
    let org =
        organizations::Entity::find_by_id(inv.org_id).one(txn).await?.ok_or_else(ServiceError::not_found)?;
    Ok(OrgSummary { id: org.id, name: org.name, slug: org.slug, role })
}
