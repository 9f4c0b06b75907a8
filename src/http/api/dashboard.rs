//! `/api/v1/dashboard`: the console's figures, from the System Log, the store and the
//! throttling counter `/metrics` shows (`admin::dashboard`). Not an Okta API.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiQuery, Caller};
use crate::admin::dashboard;
use crate::http::SharedState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardParams {
    /// RFC 3339; at most 31 days back (default: 24 hours ago).
    pub since: Option<String>,
}

/// One hour of the series.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DashboardHour {
    /// The hour's first second (RFC 3339).
    pub start: String,
    pub sign_ins: i64,
    pub sign_in_failures: i64,
    pub tokens_issued: i64,
}

/// The dashboard's figures.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    pub since: String,
    pub until: String,
    /// `user.session.start` that succeeded.
    pub sign_ins: i64,
    /// `user.session.start` that failed.
    pub sign_in_failures: i64,
    /// `app.oauth2.token.grant` that succeeded.
    pub tokens_issued: i64,
    /// Sessions live now (all of them, not only those started since `since`).
    pub active_sessions: i64,
    /// Requests refused by throttling since this process started
    /// (`gatehouse_throttled_requests_total`).
    pub throttled_requests: u64,
    /// Every hour from `since` to `until`, oldest first.
    pub series: Vec<DashboardHour>,
}

/// Sign-ins, failures, tokens issued (in total and by hour) since `since`, the live
/// sessions and the throttled requests.
#[utoipa::path(get, path = "/api/v1/dashboard", operation_id = "getDashboard", tag = "dashboard", params(DashboardParams),
    responses((status = 200, description = "The figures", body = Dashboard), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn get(
    State(state): State<SharedState>,
    _: Caller,
    ApiQuery(p): ApiQuery<DashboardParams>,
) -> Result<Response, ApiError> {
    let summary = dashboard::summary(
        &state.store,
        p.since.as_deref(),
        state.metrics.throttled_total(),
        state.clock.now(),
    )
    .await?;
    Ok(Json(dashboard::to_json(&summary)).into_response())
}
