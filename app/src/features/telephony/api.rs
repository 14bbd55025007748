use domain::telephony::{
    ConnectionTest, NewTrunk, RecordingChange, RecordingSettings, TelephonyChange, TelephonySettings, Trunk,
};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use uuid::Uuid;

use crate::csrf::CsrfClient;
use crate::AppError;

#[server(client = CsrfClient, endpoint = "get_telephony")]
pub async fn get_telephony(org_id: Uuid) -> Result<TelephonySettings, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::telephony::settings::get(&ctx.db, &org, &ctx.telephony).await?)
}

#[server(client = CsrfClient, endpoint = "save_telephony", input = Json)]
pub async fn save_telephony(org_id: Uuid, change: TelephonyChange) -> Result<TelephonySettings, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::telephony::settings::save(&ctx.db, &org, &ctx.telephony, change).await?)
}

#[server(client = CsrfClient, endpoint = "test_telephony")]
pub async fn test_telephony(org_id: Uuid) -> Result<ConnectionTest, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::telephony::settings::test_connection(&ctx.db, &org, &ctx.telephony).await?)
}

#[server(client = CsrfClient, endpoint = "list_trunks")]
pub async fn list_trunks(org_id: Uuid) -> Result<Vec<Trunk>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::telephony::trunks::list(&ctx.db, &org).await?)
}

#[server(client = CsrfClient, endpoint = "create_trunk", input = Json)]
pub async fn create_trunk(org_id: Uuid, trunk: NewTrunk) -> Result<Trunk, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::telephony::trunks::create(&ctx.db, &org, &ctx.telephony, trunk).await?)
}

#[server(client = CsrfClient, endpoint = "delete_trunk")]
pub async fn delete_trunk(org_id: Uuid, trunk_id: Uuid) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::telephony::trunks::delete(&ctx.db, &org, &ctx.telephony, trunk_id).await?)
}

#[server(client = CsrfClient, endpoint = "get_recordings")]
pub async fn get_recordings(org_id: Uuid) -> Result<RecordingSettings, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::telephony::recording_settings::get(&ctx.db, &org).await?)
}

#[server(client = CsrfClient, endpoint = "save_recordings", input = Json)]
pub async fn save_recordings(org_id: Uuid, change: RecordingChange) -> Result<RecordingSettings, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::telephony::recording_settings::save(&ctx.db, &org, &ctx.telephony, change).await?)
}

#[server(client = CsrfClient, endpoint = "test_recordings")]
pub async fn test_recordings(org_id: Uuid) -> Result<ConnectionTest, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::telephony::recording_settings::test(&ctx.db, &org, &ctx.telephony).await?)
}
