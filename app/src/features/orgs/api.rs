//! Organisation server functions. Each authenticates, authorizes through
//! `require_org`, and calls one service.

use leptos::prelude::*;
use uuid::Uuid;

use super::types::OverviewDto;
use crate::csrf::CsrfClient;
use crate::features::auth::types::OrgDto;
use crate::AppError;

#[server(client = CsrfClient, endpoint = "create_org")]
pub async fn create_org(name: String) -> Result<OrgDto, AppError> {
    let user_id = crate::ssr::current_user_id().await?;
    let ctx = crate::ssr::server_ctx()?;
    Ok(services::orgs::create(&ctx.db, user_id, &name).await?.into())
}

#[server(client = CsrfClient, endpoint = "rename_org")]
pub async fn rename_org(org_id: Uuid, name: String) -> Result<OrgDto, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::orgs::rename(&ctx.db, &org, &name).await?.into())
}

#[server(client = CsrfClient, endpoint = "switch_org")]
pub async fn switch_org(org_id: Uuid) -> Result<OrgDto, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    services::users::set_last_org(&ctx.db, org.person()?, Some(org.org_id())).await?;
    Ok(services::orgs::get(&ctx.db, &org).await?.into())
}

#[server(client = CsrfClient, endpoint = "org_overview")]
pub async fn org_overview(org_id: Uuid) -> Result<OverviewDto, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let o = services::orgs::overview(&ctx.db, &org).await?;
    Ok(OverviewDto { org: o.org.into(), member_count: o.member_count, pending_invites: o.pending_invites })
}

#[server(client = CsrfClient, endpoint = "leave_org")]
pub async fn leave_org(org_id: Uuid) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    services::orgs::remove_member(&ctx.db, &org, org.person()?).await?;
    Ok(())
}
