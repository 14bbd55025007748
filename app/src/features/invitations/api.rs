use leptos::prelude::*;

use super::types::InvitePreviewDto;
use crate::csrf::CsrfClient;
use crate::features::auth::types::OrgDto;
use crate::AppError;

#[server(client = CsrfClient, endpoint = "invite_preview")]
pub async fn invite_preview(token: String) -> Result<InvitePreviewDto, AppError> {
    use crate::features::members::types::InviteState;
    use services::invitations::InviteStatus;
    let ctx = crate::ssr::server_ctx()?;
    let p = services::invitations::preview(&ctx.db, &token).await?;
    let signed_in_as = match crate::ssr::current_user_id().await {
        Ok(id) => services::users::find(&ctx.db, id).await.ok().map(|u| u.email),
        Err(_) => None,
    };
    Ok(InvitePreviewDto {
        org_name: p.org_name,
        email: p.email,
        role: p.role,
        status: match p.status {
            InviteStatus::Pending => InviteState::Pending,
            InviteStatus::Expired => InviteState::Expired,
            InviteStatus::Accepted => InviteState::Accepted,
            InviteStatus::Revoked => InviteState::Revoked,
        },
        account_exists: p.account_exists,
        signed_in_as,
    })
}

/// The signed-in user accepts.
#[server(client = CsrfClient, endpoint = "accept_invite")]
pub async fn accept_invite(token: String) -> Result<OrgDto, AppError> {
    let user_id = crate::ssr::current_user_id().await?;
    let ctx = crate::ssr::server_ctx()?;
    Ok(services::invitations::accept(&ctx.db, user_id, &token).await?.into())
}

/// A new user creates their account from the invitation and joins.
#[server(client = CsrfClient, endpoint = "accept_invite_new_user")]
pub async fn accept_invite_new_user(
    token: String,
    name: String,
    password: String,
) -> Result<OrgDto, AppError> {
    let ctx = crate::ssr::server_ctx()?;
    let locale = crate::features::auth::api::request_locale();
    let (user, org) =
        services::invitations::accept_as_new_user(&ctx.db, &token, &name, &password, locale).await?;
    crate::ssr::start_session(user.id, &user.locale).await?;
    Ok(org.into())
}
