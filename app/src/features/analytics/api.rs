use domain::analytics::{AnalyticsQuery, Dashboard};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use uuid::Uuid;

use crate::csrf::CsrfClient;
use crate::AppError;

#[server(client = CsrfClient, endpoint = "analytics_dashboard", input = Json)]
pub async fn analytics_dashboard(org_id: Uuid, query: AnalyticsQuery) -> Result<Dashboard, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let today = ctx.telephony.clock.now().date_naive();
    Ok(services::analytics::dashboard(&ctx.db, &org, today, &query).await?)
}

/// The organisation's campaigns, for the filter (id, name).
#[server(client = CsrfClient, endpoint = "analytics_campaigns")]
pub async fn analytics_campaigns(org_id: Uuid) -> Result<Vec<(Uuid, String)>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let all = services::campaigns::list(&ctx.db, &org, None).await?;
    Ok(all.into_iter().map(|c| (c.id, c.settings.name)).collect())
}
