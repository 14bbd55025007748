//! Prospect server functions: authenticate, authorize through
//! `require_org`, call `services::prospects`. Structured arguments travel
//! as JSON. The CSV upload and the export are plain HTTP (`/api/v1/…`): a
//! file body and a streamed download do not fit a server function.

use domain::prospect::{
    Activity, BulkAction, BulkResult, ComplianceSettings, Consent, ConsentInput, CustomField, CustomFieldDef,
    DncEntry, ListQuery, Note, Prospect, ProspectInput, ProspectPage, ProspectPatch, SavedView,
    SavedViewInput, Selection,
};
use domain::prospect_import::{DryRunReport, ImportJob, ImportOptions};
use leptos::prelude::*;
use server_fn::codec::Json;
use uuid::Uuid;

use crate::csrf::CsrfClient;
use crate::AppError;

#[cfg(feature = "ssr")]
use services::prospects as svc;

#[server(client = CsrfClient, endpoint = "list_prospects", input = Json)]
pub async fn list_prospects(org_id: Uuid, query: ListQuery) -> Result<ProspectPage, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::list(&ctx.db, &org, &query).await?)
}

#[server(client = CsrfClient, endpoint = "get_prospect")]
pub async fn get_prospect(org_id: Uuid, prospect_id: Uuid) -> Result<Prospect, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::get(&ctx.db, &org, prospect_id).await?)
}

#[server(client = CsrfClient, endpoint = "create_prospect", input = Json)]
pub async fn create_prospect(org_id: Uuid, input: ProspectInput) -> Result<Prospect, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::create(&ctx.db, &org, input).await?)
}

#[server(client = CsrfClient, endpoint = "update_prospect", input = Json)]
pub async fn update_prospect(
    org_id: Uuid,
    prospect_id: Uuid,
    patch: ProspectPatch,
) -> Result<Prospect, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::update(&ctx.db, &org, prospect_id, patch).await?)
}

#[server(client = CsrfClient, endpoint = "bulk_prospects", input = Json)]
pub async fn bulk_prospects(
    org_id: Uuid,
    selection: Selection,
    action: BulkAction,
) -> Result<BulkResult, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::bulk::apply(&ctx.db, &org, &selection, &action).await?)
}

#[server(client = CsrfClient, endpoint = "undo_delete_prospects")]
pub async fn undo_delete(org_id: Uuid, token: Uuid) -> Result<u64, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::bulk::undo_delete(&ctx.db, &org, token).await?)
}

#[server(client = CsrfClient, endpoint = "prospect_notes")]
pub async fn list_notes(org_id: Uuid, prospect_id: Uuid) -> Result<Vec<Note>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::timeline::notes(&ctx.db, &org, prospect_id).await?)
}

#[server(client = CsrfClient, endpoint = "add_prospect_note")]
pub async fn add_note(org_id: Uuid, prospect_id: Uuid, body: String) -> Result<Note, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::timeline::add_note(&ctx.db, &org, prospect_id, &body).await?)
}

#[server(client = CsrfClient, endpoint = "prospect_activity")]
pub async fn list_activity(org_id: Uuid, prospect_id: Uuid) -> Result<Vec<Activity>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::timeline::activity(&ctx.db, &org, prospect_id).await?)
}

#[server(client = CsrfClient, endpoint = "prospect_consents")]
pub async fn list_consents(org_id: Uuid, prospect_id: Uuid) -> Result<Vec<Consent>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::timeline::consents(&ctx.db, &org, prospect_id).await?)
}

#[server(client = CsrfClient, endpoint = "add_prospect_consent", input = Json)]
pub async fn add_consent(org_id: Uuid, prospect_id: Uuid, input: ConsentInput) -> Result<Consent, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::timeline::add_consent(&ctx.db, &org, prospect_id, input).await?)
}

#[server(client = CsrfClient, endpoint = "list_custom_fields")]
pub async fn list_custom_fields(org_id: Uuid) -> Result<Vec<CustomField>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::custom_fields::list(&ctx.db, &org).await?)
}

#[server(client = CsrfClient, endpoint = "create_custom_field", input = Json)]
pub async fn create_custom_field(org_id: Uuid, def: CustomFieldDef) -> Result<CustomField, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::custom_fields::create(&ctx.db, &org, def).await?)
}

#[server(client = CsrfClient, endpoint = "delete_custom_field")]
pub async fn delete_custom_field(org_id: Uuid, field_id: Uuid) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::custom_fields::delete(&ctx.db, &org, field_id).await?)
}

#[server(client = CsrfClient, endpoint = "prospect_tags")]
pub async fn list_tags(org_id: Uuid) -> Result<Vec<(String, u64)>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::tag_counts(&ctx.db, &org).await?)
}

#[server(client = CsrfClient, endpoint = "import_dry_run", input = Json)]
pub async fn import_dry_run(
    org_id: Uuid,
    import_id: Uuid,
    options: ImportOptions,
) -> Result<DryRunReport, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::import::dry_run(&ctx.db, &org, import_id, &options).await?)
}

#[server(client = CsrfClient, endpoint = "import_start", input = Json)]
pub async fn import_start(
    org_id: Uuid,
    import_id: Uuid,
    options: ImportOptions,
) -> Result<ImportJob, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::import::start(&ctx.db, &org, import_id, options).await?)
}

#[server(client = CsrfClient, endpoint = "import_job")]
pub async fn get_import_job(org_id: Uuid, import_id: Uuid) -> Result<ImportJob, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::import::job(&ctx.db, &org, import_id).await?)
}

/// The import's progress as server-sent events (REST, so that an API key
/// can follow it too): its state now, each change, then its final state.
pub fn import_events_url(org_id: Uuid, import_id: Uuid) -> String {
    format!("/api/v1/orgs/{org_id}/prospect-imports/{import_id}/events")
}

#[server(client = CsrfClient, endpoint = "import_jobs")]
pub async fn import_jobs(org_id: Uuid) -> Result<Vec<ImportJob>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::import::list_jobs(&ctx.db, &org).await?)
}

#[server(client = CsrfClient, endpoint = "list_dnc")]
pub async fn list_dnc(org_id: Uuid, search: String) -> Result<(Vec<DncEntry>, u64), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::compliance::list_dnc(&ctx.db, &org, &search, 200).await?)
}

#[server(client = CsrfClient, endpoint = "add_dnc")]
pub async fn add_dnc(org_id: Uuid, phone: String, reason: String) -> Result<DncEntry, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::compliance::add_dnc(&ctx.db, &org, &phone, &reason).await?)
}

#[server(client = CsrfClient, endpoint = "remove_dnc")]
pub async fn remove_dnc(org_id: Uuid, phone: String) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::compliance::remove_dnc(&ctx.db, &org, &phone).await?)
}

#[server(client = CsrfClient, endpoint = "get_compliance")]
pub async fn get_compliance(org_id: Uuid) -> Result<ComplianceSettings, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::compliance::get_settings(&ctx.db, &org).await?)
}

#[server(client = CsrfClient, endpoint = "set_compliance", input = Json)]
pub async fn set_compliance(
    org_id: Uuid,
    settings: ComplianceSettings,
) -> Result<ComplianceSettings, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::compliance::set_settings(&ctx.db, &org, settings).await?)
}

#[server(client = CsrfClient, endpoint = "list_saved_views")]
pub async fn list_views(org_id: Uuid) -> Result<Vec<SavedView>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::views::list(&ctx.db, &org).await?)
}

#[server(client = CsrfClient, endpoint = "save_view", input = Json)]
pub async fn save_view(org_id: Uuid, view: SavedViewInput) -> Result<SavedView, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::views::save(&ctx.db, &org, view).await?)
}

#[server(client = CsrfClient, endpoint = "delete_view")]
pub async fn delete_view(org_id: Uuid, view_id: Uuid) -> Result<(), AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(svc::views::delete(&ctx.db, &org, view_id).await?)
}

/// Members of the organisation, for the owner picker.
#[server(client = CsrfClient, endpoint = "prospect_owners")]
pub async fn list_owners(org_id: Uuid) -> Result<Vec<(Uuid, String)>, AppError> {
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    let members = services::orgs::members(&ctx.db, &org).await?;
    Ok(members.into_iter().map(|m| (m.user_id, m.name)).collect())
}
