//! Agent and folder server functions: authenticate, authorize through
//! `require_org`, call `services::agents`. Settings travel as JSON (nested
//! structs and lists do not fit form encoding).

use domain::agent::AgentSettings;
use domain::views::{Agent, AgentFilter, AgentSummary, Folder};
use leptos::prelude::*;
use server_fn::codec::Json;
use uuid::Uuid;

use crate::csrf::CsrfClient;
use crate::AppError;

#[server(client = CsrfClient, endpoint = "list_agents", input = Json)]
pub async fn list_agents(org_id: Uuid, filter: AgentFilter) -> Result<Vec<AgentSummary>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::agents::list(&ctx.db, &org, &filter).await?)
}

#[server(client = CsrfClient, endpoint = "list_agent_folders")]
pub async fn list_folders(org_id: Uuid) -> Result<Vec<Folder>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::agents::list_folders(&ctx.db, &org).await?)
}

#[server(client = CsrfClient, endpoint = "create_agent_folder")]
pub async fn create_folder(org_id: Uuid, name: String) -> Result<Folder, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::agents::create_folder(&ctx.db, &org, &name).await?)
}

#[server(client = CsrfClient, endpoint = "rename_agent_folder")]
pub async fn rename_folder(org_id: Uuid, folder_id: Uuid, name: String) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::agents::rename_folder(&ctx.db, &org, folder_id, &name).await?)
}

#[server(client = CsrfClient, endpoint = "delete_agent_folder")]
pub async fn delete_folder(org_id: Uuid, folder_id: Uuid) -> Result<u64, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::agents::delete_folder(&ctx.db, &org, folder_id).await?)
}

#[server(client = CsrfClient, endpoint = "get_agent")]
pub async fn get_agent(org_id: Uuid, agent_id: Uuid) -> Result<Agent, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::agents::get(&ctx.db, &org, agent_id).await?)
}

#[server(client = CsrfClient, endpoint = "create_agent", input = Json)]
pub async fn create_agent(
    org_id: Uuid,
    folder_id: Option<Uuid>,
    settings: AgentSettings,
) -> Result<Agent, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::agents::create(&ctx.db, &org, folder_id, settings).await?)
}

#[server(client = CsrfClient, endpoint = "update_agent", input = Json)]
pub async fn update_agent(
    org_id: Uuid,
    agent_id: Uuid,
    version: i32,
    settings: AgentSettings,
) -> Result<Agent, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::agents::update(&ctx.db, &org, agent_id, version, settings).await?)
}

#[server(client = CsrfClient, endpoint = "set_agent_active")]
pub async fn set_agent_active(org_id: Uuid, agent_id: Uuid, active: bool) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::agents::set_active(&ctx.db, &org, agent_id, active).await?)
}

#[server(client = CsrfClient, endpoint = "move_agent", input = Json)]
pub async fn move_agent(org_id: Uuid, agent_id: Uuid, folder_id: Option<Uuid>) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::agents::move_to_folder(&ctx.db, &org, agent_id, folder_id).await?)
}

#[server(client = CsrfClient, endpoint = "duplicate_agent")]
pub async fn duplicate_agent(org_id: Uuid, agent_id: Uuid) -> Result<Agent, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::agents::duplicate(&ctx.db, &org, agent_id).await?)
}

#[server(client = CsrfClient, endpoint = "delete_agent")]
pub async fn delete_agent(org_id: Uuid, agent_id: Uuid) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::agents::delete(&ctx.db, &org, agent_id).await?)
}
