//! REST for prospects under `/api/v1/orgs/{org}/…`: CRUD, search/filter
//! list, bulk actions with undo, notes, activity, consent, custom fields,
//! CSV import (upload → dry run → start → follow its events), streaming CSV export, the
//! do-not-call list, calling hours and the `may-call` check.
//!
//! The import upload and the DNC list take the file as the raw request body
//! (`Content-Type: text/csv`), which `curl --data-binary @file.csv` and the
//! browser's `fetch(…, {body: file})` both send without multipart framing.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::prospect::{
    Activity, BulkAction, BulkResult, ComplianceSettings, Consent, ConsentInput, CustomField, CustomFieldDef,
    DncEntry, DncImportResult, ListQuery, Note, Prospect, ProspectFilter, ProspectInput, ProspectPage,
    ProspectPatch, ProspectStatus, SavedView, SavedViewInput, Selection, SortKey,
};
use domain::prospect_import::{DryRunReport, ImportJob, ImportOptions, ImportPreview};
use domain::ErrorCode;
use serde::{Deserialize, Serialize};
use services::prospects::{self, bulk, compliance, custom_fields, export, import, timeline, views};
use uuid::Uuid;

use crate::rest::{parse_uuid, ApiJson, ApiQuery, AppError, OrgAccess};
use crate::state::AppState;

/// List and export filters as query parameters:
/// `search`, `status` (comma-separated), `tag`, `owner` (a user id or `none`),
/// `custom` (`key:value`), `dnc` (true/false), `sort`, `desc`, `page`, `per_page`.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterParams {
    #[serde(default)]
    search: String,
    #[serde(default)]
    status: String,
    tag: Option<String>,
    owner: Option<String>,
    custom: Option<String>,
    dnc: Option<bool>,
    sort: Option<String>,
    #[serde(default)]
    desc: bool,
    page: Option<u64>,
    per_page: Option<u64>,
}

impl FilterParams {
    fn filter(&self) -> Result<ProspectFilter, AppError> {
        let mut status = Vec::new();
        for s in self.status.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            status.push(
                ProspectStatus::parse(s).ok_or_else(|| AppError::field(ErrorCode::Validation, "status"))?,
            );
        }
        let owner = match self.owner.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("none") => Some(None),
            Some(id) => Some(Some(parse_uuid(id, "owner")?)),
        };
        let custom = match self.custom.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => {
                let (k, v) =
                    c.split_once(':').ok_or_else(|| AppError::field(ErrorCode::Validation, "custom"))?;
                Some((k.trim().to_string(), v.trim().to_string()))
            }
        };
        Ok(ProspectFilter {
            search: self.search.clone(),
            status,
            tag: self.tag.clone().filter(|t| !t.trim().is_empty()),
            owner,
            custom,
            do_not_call: self.dnc,
        })
    }

    fn query(&self) -> Result<ListQuery, AppError> {
        let sort = match self.sort.as_deref() {
            None | Some("") => SortKey::default(),
            Some(s) => SortKey::parse(s).ok_or_else(|| AppError::field(ErrorCode::Validation, "sort"))?,
        };
        Ok(ListQuery {
            filter: self.filter()?,
            sort,
            descending: self.desc,
            page: self.page.unwrap_or(1),
            per_page: self.per_page.unwrap_or(50),
        })
    }
}

async fn list(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(q): ApiQuery<FilterParams>,
) -> Result<Json<ProspectPage>, AppError> {
    Ok(Json(prospects::list(&state.db, &ctx, &q.query()?).await?))
}

async fn create(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(body): ApiJson<ProspectInput>,
) -> Result<(StatusCode, Json<Prospect>), AppError> {
    Ok((StatusCode::CREATED, Json(prospects::create(&state.db, &ctx, body).await?)))
}

async fn get_one(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Prospect>, AppError> {
    Ok(Json(prospects::get(&state.db, &ctx, parse_uuid(&id, "prospect_id")?).await?))
}

async fn update(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(patch): ApiJson<ProspectPatch>,
) -> Result<Json<Prospect>, AppError> {
    Ok(Json(prospects::update(&state.db, &ctx, parse_uuid(&id, "prospect_id")?, patch).await?))
}

async fn delete_one(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<BulkResult>, AppError> {
    let id = parse_uuid(&id, "prospect_id")?;
    // Existence check first: a wrong id is a 404, not "0 affected".
    prospects::get(&state.db, &ctx, id).await?;
    let sel = Selection::Ids { ids: vec![id] };
    Ok(Json(bulk::apply(&state.db, &ctx, &sel, &BulkAction::Delete).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct BulkBody {
    selection: Selection,
    #[serde(flatten)]
    action: BulkAction,
}

async fn bulk_action(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(body): ApiJson<BulkBody>,
) -> Result<Json<BulkResult>, AppError> {
    Ok(Json(bulk::apply(&state.db, &ctx, &body.selection, &body.action).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct UndoBody {
    token: Uuid,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Restored {
    restored: u64,
}

async fn undo(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(body): ApiJson<UndoBody>,
) -> Result<Json<Restored>, AppError> {
    Ok(Json(Restored { restored: bulk::undo_delete(&state.db, &ctx, body.token).await? }))
}

async fn list_notes(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Vec<Note>>, AppError> {
    Ok(Json(timeline::notes(&state.db, &ctx, parse_uuid(&id, "prospect_id")?).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NoteBody {
    body: String,
}

async fn add_note(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<NoteBody>,
) -> Result<(StatusCode, Json<Note>), AppError> {
    let note = timeline::add_note(&state.db, &ctx, parse_uuid(&id, "prospect_id")?, &b.body).await?;
    Ok((StatusCode::CREATED, Json(note)))
}

async fn activity(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Vec<Activity>>, AppError> {
    Ok(Json(timeline::activity(&state.db, &ctx, parse_uuid(&id, "prospect_id")?).await?))
}

async fn list_consents(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Vec<Consent>>, AppError> {
    Ok(Json(timeline::consents(&state.db, &ctx, parse_uuid(&id, "prospect_id")?).await?))
}

async fn add_consent(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(input): ApiJson<ConsentInput>,
) -> Result<(StatusCode, Json<Consent>), AppError> {
    let c = timeline::add_consent(&state.db, &ctx, parse_uuid(&id, "prospect_id")?, input).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct MayCall {
    allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<domain::compliance::CallRefusal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AtParam {
    /// RFC 3339 instant to check at (default: now).
    at: Option<chrono::DateTime<chrono::Utc>>,
}

async fn may_call(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiQuery(p): ApiQuery<AtParam>,
) -> Result<Json<MayCall>, AppError> {
    let at = p.at.unwrap_or_else(chrono::Utc::now);
    let res = compliance::may_call(&state.db, &ctx, parse_uuid(&id, "prospect_id")?, at).await?;
    Ok(Json(match res {
        Ok(()) => MayCall { allowed: true, refusal: None, message: None },
        Err(r) => MayCall { allowed: false, message: Some(r.to_string()), refusal: Some(r) },
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TagCount {
    tag: String,
    count: u64,
}

async fn tag_counts(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Vec<TagCount>>, AppError> {
    let tags = prospects::tag_counts(&state.db, &ctx).await?;
    Ok(Json(tags.into_iter().map(|(tag, count)| TagCount { tag, count }).collect()))
}

async fn list_fields(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Vec<CustomField>>, AppError> {
    Ok(Json(custom_fields::list(&state.db, &ctx).await?))
}

async fn create_field(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(def): ApiJson<CustomFieldDef>,
) -> Result<(StatusCode, Json<CustomField>), AppError> {
    Ok((StatusCode::CREATED, Json(custom_fields::create(&state.db, &ctx, def).await?)))
}

async fn delete_field(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    custom_fields::delete(&state.db, &ctx, parse_uuid(&id, "field_id")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reads a raw upload, refusing more than `max` bytes with a typed 413.
async fn read_body(req: Request, max: usize, human: &str) -> Result<axum::body::Bytes, AppError> {
    let too_large =
        || AppError { code: ErrorCode::CsvTooLarge, field: None, detail: Some(human.to_string()) };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    axum::body::to_bytes(req.into_body(), max).await.map_err(|_| too_large())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UploadParams {
    #[serde(default)]
    file_name: String,
}

async fn upload(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(p): ApiQuery<UploadParams>,
    req: Request,
) -> Result<(StatusCode, Json<ImportPreview>), AppError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Streamed into storage as it arrives: never the whole file in memory.
    let body = req.into_body().into_data_stream();
    let limits = state.config.import_limits;
    let preview = import::upload(&state.db, &ctx, &p.file_name, declared, body, &limits).await?;
    Ok((StatusCode::CREATED, Json(preview)))
}

/// `GET …/prospect-imports/{id}/problems.csv`: every row the last dry run
/// found a problem with, and the problem, beside the row's own cells.
async fn problems_csv(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let id = parse_uuid(&id, "import_id")?;
    let chunks = import::problems_csv(&state.db, &ctx, id).await?;
    let stream = futures::StreamExt::map(chunks, |c| {
        c.map(axum::body::Bytes::from).map_err(|e| std::io::Error::other(e.code.as_str()))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"import-problems-{id}.csv\"")),
        ],
        Body::from_stream(futures::StreamExt::fuse(stream)),
    )
        .into_response())
}

async fn list_imports(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Vec<ImportJob>>, AppError> {
    Ok(Json(import::list_jobs(&state.db, &ctx).await?))
}

async fn get_import(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<ImportJob>, AppError> {
    Ok(Json(import::job(&state.db, &ctx, parse_uuid(&id, "import_id")?).await?))
}

/// `GET …/prospect-imports/{id}/events`: the import's state now, each
/// change (from whichever node runs it, through the event bus), then its
/// final state, as server-sent events; the stream ends there. It also ends
/// (`event: revoked`) when the watcher's access does.
async fn import_events(
    State(state): State<AppState>,
    OrgAccess { ctx, caller }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let id = parse_uuid(&id, "import_id")?;
    let live = import::watch(&state.db, &state.server_ctx.bus, &ctx, id).await?;
    let guard =
        crate::stream_guard::StreamGuard::start(&state, caller, &ctx, domain::Permission::UseWorkspace);
    Ok(guard.json_sse(live))
}

async fn dry_run(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(options): ApiJson<ImportOptions>,
) -> Result<Json<DryRunReport>, AppError> {
    Ok(Json(import::dry_run(&state.db, &ctx, parse_uuid(&id, "import_id")?, &options).await?))
}

async fn start_import(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    ApiJson(options): ApiJson<ImportOptions>,
) -> Result<(StatusCode, Json<ImportJob>), AppError> {
    let job = import::start(&state.db, &ctx, parse_uuid(&id, "import_id")?, options).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

async fn export_csv(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(q): ApiQuery<FilterParams>,
) -> Result<Response, AppError> {
    let rx = export::start(&state.db, &ctx, q.filter()?).await?;
    Ok(crate::rest::csv_attachment("prospects", rx))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DncParams {
    #[serde(default)]
    search: String,
    limit: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct DncList {
    entries: Vec<DncEntry>,
    total: u64,
}

async fn list_dnc(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(p): ApiQuery<DncParams>,
) -> Result<Json<DncList>, AppError> {
    let (entries, total) = compliance::list_dnc(&state.db, &ctx, &p.search, p.limit.unwrap_or(100)).await?;
    Ok(Json(DncList { entries, total }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct DncBody {
    phone: String,
    #[serde(default)]
    reason: String,
}

async fn add_dnc(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(b): ApiJson<DncBody>,
) -> Result<(StatusCode, Json<DncEntry>), AppError> {
    Ok((StatusCode::CREATED, Json(compliance::add_dnc(&state.db, &ctx, &b.phone, &b.reason).await?)))
}

async fn remove_dnc(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, phone)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    compliance::remove_dnc(&state.db, &ctx, &phone).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReasonParam {
    #[serde(default)]
    reason: String,
}

async fn import_dnc(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(p): ApiQuery<ReasonParam>,
    req: Request,
) -> Result<Json<DncImportResult>, AppError> {
    let data = read_body(req, compliance::MAX_DNC_IMPORT_BYTES, "10 MB").await?;
    Ok(Json(compliance::import_dnc(&state.db, &ctx, &data, &p.reason).await?))
}

async fn get_compliance(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<ComplianceSettings>, AppError> {
    Ok(Json(compliance::get_settings(&state.db, &ctx).await?))
}

async fn set_compliance(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(s): ApiJson<ComplianceSettings>,
) -> Result<Json<ComplianceSettings>, AppError> {
    Ok(Json(compliance::set_settings(&state.db, &ctx, s).await?))
}

async fn list_views(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
) -> Result<Json<Vec<SavedView>>, AppError> {
    Ok(Json(views::list(&state.db, &ctx).await?))
}

async fn save_view(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiJson(v): ApiJson<SavedViewInput>,
) -> Result<Json<SavedView>, AppError> {
    Ok(Json(views::save(&state.db, &ctx, v).await?))
}

async fn delete_view(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    views::delete(&state.db, &ctx, parse_uuid(&id, "view_id")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

api_routes! {
    "/orgs/{org}/prospects" => get(list).post(create);
    "/orgs/{org}/prospects/export.csv" => get(export_csv);
    "/orgs/{org}/prospects/bulk" => post(bulk_action);
    "/orgs/{org}/prospects/bulk/undo" => post(undo);
    "/orgs/{org}/prospects/{id}" => get(get_one).patch(update).delete(delete_one);
    "/orgs/{org}/prospects/{id}/notes" => get(list_notes).post(add_note);
    "/orgs/{org}/prospects/{id}/activity" => get(activity);
    "/orgs/{org}/prospects/{id}/consents" => get(list_consents).post(add_consent);
    "/orgs/{org}/prospects/{id}/may-call" => get(may_call);
    "/orgs/{org}/prospect-tags" => get(tag_counts);
    "/orgs/{org}/custom-fields" => get(list_fields).post(create_field);
    "/orgs/{org}/custom-fields/{id}" => delete(delete_field);
    "/orgs/{org}/prospect-imports" => get(list_imports).post(upload);
    "/orgs/{org}/prospect-imports/{id}" => get(get_import);
    "/orgs/{org}/prospect-imports/{id}/dry-run" => post(dry_run);
    "/orgs/{org}/prospect-imports/{id}/events" => get(import_events);
    "/orgs/{org}/prospect-imports/{id}/problems.csv" => get(problems_csv);
    "/orgs/{org}/prospect-imports/{id}/start" => post(start_import);
    "/orgs/{org}/dnc" => get(list_dnc).post(add_dnc);
    "/orgs/{org}/dnc/import" => post(import_dnc) [limit = compliance::MAX_DNC_IMPORT_BYTES+1024];
    "/orgs/{org}/dnc/{phone}" => delete(remove_dnc);
    "/orgs/{org}/compliance" => get(get_compliance).put(set_compliance);
    "/orgs/{org}/saved-views" => get(list_views).post(save_view);
    "/orgs/{org}/saved-views/{id}" => delete(delete_view);
}
