use domain::views::{Conversation, ConversationSummary};
use leptos::prelude::*;
use uuid::Uuid;

use crate::csrf::CsrfClient;
use crate::AppError;

#[server(client = CsrfClient, endpoint = "start_conversation")]
pub async fn start_conversation(org_id: Uuid, agent_id: Uuid) -> Result<Conversation, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::playground::start(&ctx.db, &org, agent_id, &Default::default()).await?)
}

#[server(client = CsrfClient, endpoint = "get_conversation")]
pub async fn get_conversation(org_id: Uuid, conversation_id: Uuid) -> Result<Conversation, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::playground::get(&ctx.db, &org, conversation_id).await?)
}

#[server(client = CsrfClient, endpoint = "list_conversations")]
pub async fn list_conversations(org_id: Uuid, agent_id: Uuid) -> Result<Vec<ConversationSummary>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::playground::list_for_agent(&ctx.db, &org, agent_id).await?)
}

/// The URL the browser streams a turn from (REST, `text/event-stream`).
pub fn messages_url(org_id: Uuid, conversation_id: Uuid) -> String {
    format!("/api/v1/orgs/{org_id}/conversations/{conversation_id}/messages")
}
