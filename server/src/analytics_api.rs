//! REST for the managers' analytics: `GET /api/v1/orgs/{org}/analytics`
//! (the dashboard) and `GET …/analytics/export.csv?table=…` (one of its
//! tables), with the same filters.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::analytics::{AnalyticsQuery, AnalyticsTable, Dashboard};
use domain::ErrorCode;
use serde::Deserialize;

use crate::rest::{ApiQuery, AppError, OrgAccess};
use crate::state::AppState;

async fn dashboard(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Json<Dashboard>, AppError> {
    let today = state.server_ctx.telephony.clock.now().date_naive();
    Ok(Json(services::analytics::dashboard(&state.db, &ctx, today, &q).await?))
}

/// `table` and the dashboard's filters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `days`, `funnel`, `agents`, `reps`, `phases` or `latency`.
    table: String,
    from: Option<chrono::NaiveDate>,
    until: Option<chrono::NaiveDate>,
    campaign_id: Option<uuid::Uuid>,
    agent_id: Option<uuid::Uuid>,
    rep_id: Option<uuid::Uuid>,
}

async fn export(
    State(state): State<AppState>,
    OrgAccess { ctx, .. }: OrgAccess,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> Result<Response, AppError> {
    let table = AnalyticsTable::parse(p.table.trim())
        .ok_or_else(|| AppError::field(ErrorCode::InvalidValue, "table"))?;
    let q = AnalyticsQuery {
        from: p.from,
        until: p.until,
        campaign_id: p.campaign_id,
        agent_id: p.agent_id,
        rep_id: p.rep_id,
    };
    let today = state.server_ctx.telephony.clock.now().date_naive();
    let d = services::analytics::dashboard(&state.db, &ctx, today, &q).await?;
    let name = format!("analytics-{}-{}-{}.csv", table.as_str(), d.from, d.until);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        d.csv(table),
    )
        .into_response())
}

api_routes! {
    "/orgs/{org}/analytics" => get(dashboard);
    "/orgs/{org}/analytics/export.csv" => get(export);
}
