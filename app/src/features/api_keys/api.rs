use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use uuid::Uuid;

use super::types::{ApiKeyDto, CreatedKeyDto};
use crate::csrf::CsrfClient;
use crate::AppError;

#[server(client = CsrfClient, endpoint = "list_api_keys")]
pub async fn list_api_keys(org_id: Uuid) -> Result<Vec<ApiKeyDto>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::api_keys::list(&ctx.db, &org, &ctx.key_usage).await?.into_iter().map(Into::into).collect())
}

/// `permissions`: stable permission names (see `domain::Permission::as_str`).
#[server(client = CsrfClient, endpoint = "create_api_key", input = Json)]
pub async fn create_api_key(
    org_id: Uuid,
    name: String,
    permissions: Vec<String>,
) -> Result<CreatedKeyDto, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let issued = services::api_keys::create(&ctx.db, &org, &name, &permissions).await?;
    Ok(CreatedKeyDto { key: issued.info.into(), secret: issued.key })
}

#[server(client = CsrfClient, endpoint = "revoke_api_key")]
pub async fn revoke_api_key(org_id: Uuid, key_id: Uuid) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::api_keys::revoke(&ctx.db, &org, key_id).await?)
}
