use domain::campaign::views::{AddProspects, AddReport, Campaign, CampaignEdit, CampaignProspectPage};
use domain::campaign::{CampaignAction, CampaignSettings};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use uuid::Uuid;

use crate::csrf::CsrfClient;
use crate::AppError;

#[server(client = CsrfClient, endpoint = "list_campaigns")]
pub async fn list_campaigns(org_id: Uuid) -> Result<Vec<Campaign>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::campaigns::list(&ctx.db, &org, None).await?)
}

#[server(client = CsrfClient, endpoint = "get_campaign")]
pub async fn get_campaign(org_id: Uuid, campaign_id: Uuid) -> Result<Campaign, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::campaigns::get(&ctx.db, &org, campaign_id).await?)
}

#[server(client = CsrfClient, endpoint = "create_campaign", input = Json)]
pub async fn create_campaign(org_id: Uuid, settings: CampaignSettings) -> Result<Campaign, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::campaigns::create(&ctx.db, &org, &ctx.telephony, settings).await?)
}

/// Changes a campaign's settings at the version the page read.
#[server(client = CsrfClient, endpoint = "edit_campaign", input = Json)]
pub async fn edit_campaign(
    org_id: Uuid,
    campaign_id: Uuid,
    edit: CampaignEdit,
) -> Result<Campaign, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::campaigns::edit(&ctx.db, &org, &ctx.telephony, &ctx.bus, campaign_id, edit).await?)
}

#[server(client = CsrfClient, endpoint = "act_on_campaign", input = Json)]
pub async fn act_on_campaign(
    org_id: Uuid,
    campaign_id: Uuid,
    action: CampaignAction,
) -> Result<Campaign, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::campaigns::act(&ctx.db, &org, &ctx.telephony, &ctx.bus, campaign_id, action).await?)
}

#[server(client = CsrfClient, endpoint = "add_campaign_prospects", input = Json)]
pub async fn add_campaign_prospects(
    org_id: Uuid,
    campaign_id: Uuid,
    add: AddProspects,
) -> Result<AddReport, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::campaigns::members::add(&ctx.db, &org, &ctx.telephony, &ctx.bus, campaign_id, add).await?)
}

#[server(client = CsrfClient, endpoint = "campaign_prospects")]
pub async fn campaign_prospects(
    org_id: Uuid,
    campaign_id: Uuid,
    state: Option<String>,
    page: Option<u64>,
) -> Result<CampaignProspectPage, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let q = services::campaigns::members::MemberQuery { state, page, per_page: Some(50) };
    Ok(services::campaigns::members::list(&ctx.db, &org, campaign_id, &q).await?)
}
