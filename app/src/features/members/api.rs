use leptos::prelude::*;
use uuid::Uuid;

use super::types::{InvitationDto, InviteOutcome, MemberDto};
use crate::csrf::CsrfClient;
use crate::AppError;

#[cfg(feature = "ssr")]
async fn deliver(
    ctx: &crate::ssr::ServerCtx,
    org: &services::OrgCtx,
    issued: services::invitations::IssuedInvite,
) -> Result<InviteOutcome, AppError> {
    let inviter = org.person()?;
    use services::mailer::{Delivery, InviteMail};
    let link = format!("{}/invite/{}", ctx.public_url.trim_end_matches('/'), issued.token);
    let inviter = services::users::find(&ctx.db, inviter).await?;
    let delivery = ctx
        .mailer
        .send_invite(InviteMail {
            to: &issued.invitation.email,
            org_name: &issued.org_name,
            inviter_name: &inviter.name,
            link: &link,
            french: inviter.locale == "fr",
        })
        .await;
    let emailed = delivery == Delivery::Sent;
    if emailed {
        services::invitations::mark_emailed(&ctx.db, org, issued.invitation.id).await?;
    }
    Ok(InviteOutcome {
        email: issued.invitation.email,
        emailed,
        // Show the link when it could not be emailed, so nothing is lost.
        link: (!emailed).then_some(link),
    })
}

#[server(client = CsrfClient, endpoint = "list_members")]
pub async fn list_members(org_id: Uuid) -> Result<Vec<MemberDto>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::orgs::members(&ctx.db, &org).await?.into_iter().map(Into::into).collect())
}

#[server(client = CsrfClient, endpoint = "change_role")]
pub async fn change_role(org_id: Uuid, user_id: Uuid, role: String) -> Result<MemberDto, AppError> {
    let role =
        domain::Role::parse(&role).ok_or_else(|| AppError::field(domain::ErrorCode::Validation, "role"))?;
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::orgs::change_role(&ctx.db, &org, user_id, role).await?.into())
}

#[server(client = CsrfClient, endpoint = "remove_member")]
pub async fn remove_member(org_id: Uuid, user_id: Uuid) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::orgs::remove_member(&ctx.db, &org, user_id).await?)
}

#[server(client = CsrfClient, endpoint = "invite_member")]
pub async fn invite_member(org_id: Uuid, email: String, role: String) -> Result<InviteOutcome, AppError> {
    let role =
        domain::Role::parse(&role).ok_or_else(|| AppError::field(domain::ErrorCode::Validation, "role"))?;
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    // Before spending the organisation's invitation budget.
    org.require(domain::Permission::InviteMembers)?;
    crate::ssr::limit_invites(&ctx, org_id, org.person()?)?;
    let issued = services::invitations::invite(&ctx.db, &org, &email, role).await?;
    deliver(&ctx, &org, issued).await
}

#[server(client = CsrfClient, endpoint = "list_invitations")]
pub async fn list_invitations(org_id: Uuid) -> Result<Vec<InvitationDto>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::invitations::list_open(&ctx.db, &org).await?.into_iter().map(Into::into).collect())
}

#[server(client = CsrfClient, endpoint = "revoke_invitation")]
pub async fn revoke_invitation(org_id: Uuid, invitation_id: Uuid) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::invitations::revoke(&ctx.db, &org, invitation_id).await?)
}

#[server(client = CsrfClient, endpoint = "resend_invitation")]
pub async fn resend_invitation(org_id: Uuid, invitation_id: Uuid) -> Result<InviteOutcome, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    // Before spending the organisation's invitation budget.
    org.require(domain::Permission::InviteMembers)?;
    crate::ssr::limit_invites(&ctx, org_id, org.person()?)?;
    let issued = services::invitations::resend(&ctx.db, &org, invitation_id).await?;
    deliver(&ctx, &org, issued).await
}
