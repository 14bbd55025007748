use domain::views::{CredentialView, TestOutcome};
use leptos::prelude::*;
use uuid::Uuid;

use crate::csrf::CsrfClient;
use crate::AppError;

#[server(client = CsrfClient, endpoint = "list_provider_settings")]
pub async fn list_provider_settings(org_id: Uuid) -> Result<Vec<CredentialView>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::credentials::list(&ctx.db, &org, &ctx.providers).await?)
}

/// `api_key`: empty keeps the stored key unless `clear_key` is set.
#[server(client = CsrfClient, endpoint = "save_provider_settings")]
pub async fn save_provider_settings(
    org_id: Uuid,
    provider: String,
    api_key: String,
    base_url: String,
    clear_key: bool,
) -> Result<CredentialView, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let key = if clear_key { Some("") } else { Some(api_key.as_str()).filter(|k| !k.trim().is_empty()) };
    Ok(services::credentials::save(&ctx.db, &org, &ctx.providers, &provider, key, &base_url).await?)
}

#[server(client = CsrfClient, endpoint = "remove_provider_settings")]
pub async fn remove_provider_settings(org_id: Uuid, provider: String) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::credentials::remove(&ctx.db, &org, &provider).await?)
}

#[server(client = CsrfClient, endpoint = "test_provider")]
pub async fn test_provider(org_id: Uuid, provider: String) -> Result<TestOutcome, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::credentials::test_connection(&ctx.db, &org, &ctx.providers, &provider).await?)
}

/// Voices for a text-to-speech provider: live when the organisation (or the
/// server) has a key, the shipped list otherwise.
#[server(client = CsrfClient, endpoint = "list_voices")]
pub async fn list_voices(
    org_id: Uuid,
    provider: String,
) -> Result<Vec<domain::views::VoiceOption>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let voices = services::credentials::voices(&ctx.db, &org, &ctx.providers, &provider).await?;
    Ok(voices
        .into_iter()
        .map(|v| domain::views::VoiceOption { id: v.id, name: v.name, language: v.language })
        .collect())
}
