//! `/api/v1/logs`: Okta's System Log API.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiQuery, Caller, link_headers, query_pairs};
use crate::admin::syslog::{self, LogQuery};
use crate::http::SharedState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Events published at or after this time (RFC 3339, to the millisecond).
    pub since: Option<String>,
    /// Events published before this time (RFC 3339, to the millisecond).
    pub until: Option<String>,
    /// E.g. `eventType eq "user.session.start" and outcome.result eq "FAILURE"`; also
    /// `actor.id`, `target.id`.
    pub filter: Option<String>,
    /// Words that must all appear in the event.
    pub q: Option<String>,
    pub after: Option<String>,
    /// 1 to 1000 (default 100).
    pub limit: Option<i64>,
    /// `ASCENDING`, Okta's default and the only order served.
    #[serde(rename = "sortOrder")]
    pub sort_order: Option<String>,
}

/// System Log events, oldest first, a page at a time. Without `until` the request polls:
/// the `next` link comes at the end of the data too, to ask again from there.
#[utoipa::path(get, path = "/api/v1/logs", operation_id = "listLogEvents", tag = "logs", params(ListParams),
    responses((status = 200, description = "A page of events", body = [super::answers::LogEvent]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn list(
    State(state): State<SharedState>,
    _: Caller,
    uri: Uri,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let query = LogQuery {
        since: p.since,
        until: p.until,
        filter: p.filter,
        q: p.q,
        after: p.after,
        limit: p.limit,
        sort_order: p.sort_order,
    };
    let (events, next) = syslog::query(&state.store, &query).await?;
    let headers = link_headers(
        &state.config.base_url(),
        uri.path(),
        &query_pairs(uri.query()),
        next.as_deref(),
    );
    Ok((headers, Json(events)).into_response())
}
