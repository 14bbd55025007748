use domain::billing::views::{BillingOverview, Redirect, UsageQuery, UsageReport};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use uuid::Uuid;

use crate::csrf::CsrfClient;
use crate::AppError;

#[server(client = CsrfClient, endpoint = "get_billing")]
pub async fn get_billing(org_id: Uuid) -> Result<BillingOverview, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::billing::overview(&ctx.db, &ctx.providers.billing, &org).await?)
}

/// Polar's checkout for `plan_id`: where the browser goes next.
#[server(client = CsrfClient, endpoint = "start_checkout")]
pub async fn start_checkout(org_id: Uuid, plan_id: String) -> Result<Redirect, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::billing::checkout(&ctx.providers.billing, &org, &plan_id).await?)
}

/// Polar's customer portal: where the browser goes next.
#[server(client = CsrfClient, endpoint = "open_portal")]
pub async fn open_portal(org_id: Uuid) -> Result<Redirect, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::billing::portal(&ctx.providers.billing, &org).await?)
}

#[server(client = CsrfClient, endpoint = "get_usage", input = Json)]
pub async fn get_usage(org_id: Uuid, query: UsageQuery) -> Result<UsageReport, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::billing::usage::report(&ctx.db, &ctx.providers.billing, &org, &query).await?)
}
