//! `/api/v1/zones`: Okta's IP network zones, named by sign-on policy rules. The rules
//! are in `admin::zones`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, Caller};
use crate::admin::zones::{self, NewZone};
use crate::http::SharedState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ZoneGateway {
    /// `CIDR` or `RANGE`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `192.0.2.0/24`, or `192.0.2.1-192.0.2.9`.
    pub value: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ZoneBody {
    /// `IP` (the only type Gatehouse has).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
    pub gateways: Option<Vec<ZoneGateway>>,
}

impl ZoneBody {
    fn into_new(self) -> Result<NewZone, ApiError> {
        if self.kind.as_deref().is_some_and(|k| k != "IP") {
            return Err(ApiError::invalid("type", "must be IP"));
        }
        let gateways = self.gateways.unwrap_or_default();
        if let Some(bad) = gateways.iter().find(|g| {
            let range = g.value.contains('-');
            match g.kind.as_deref() {
                None => false,
                Some("CIDR") => range,
                Some("RANGE") => !range && g.value.contains('/'),
                Some(_) => true,
            }
        }) {
            return Err(ApiError::invalid(
                "gateways",
                &format!("{:?} does not match its type (CIDR or RANGE)", bad.value),
            ));
        }
        Ok(NewZone {
            name: self.name.unwrap_or_default(),
            gateways: gateways.into_iter().map(|g| g.value).collect(),
        })
    }
}

#[utoipa::path(get, path = "/api/v1/zones", operation_id = "listNetworkZones", tag = "zones",
    responses((status = 200, description = "The zones", body = [super::answers::NetworkZone]), (status = 401, body = ErrorBody)), security(("ssws" = [])))]
pub async fn list(State(state): State<SharedState>, _: Caller) -> Result<Response, ApiError> {
    let list = state
        .store
        .list_zones()
        .await
        .map_err(crate::admin::AdminError::from)?;
    let body: Vec<Value> = list.iter().map(zones::zone_json).collect();
    Ok(Json(body).into_response())
}

#[utoipa::path(post, path = "/api/v1/zones", operation_id = "createNetworkZone", tag = "zones", request_body = ZoneBody,
    responses((status = 200, description = "The zone", body = super::answers::NetworkZone), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)), security(("ssws" = [])))]
pub async fn create(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<ZoneBody>,
) -> Result<Response, ApiError> {
    let zone = zones::create(&state.store, &actor, body.into_new()?, state.clock.now()).await?;
    Ok(Json(zones::zone_json(&zone)).into_response())
}

#[utoipa::path(get, path = "/api/v1/zones/{zoneId}", operation_id = "getNetworkZone", tag = "zones", params(("zoneId" = String, Path)),
    responses((status = 200, description = "The zone", body = super::answers::NetworkZone), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn get(
    State(state): State<SharedState>,
    _: Caller,
    Path(zone_id): Path<String>,
) -> Result<Response, ApiError> {
    let zone = zones::find(&state.store, &zone_id).await?;
    Ok(Json(zones::zone_json(&zone)).into_response())
}

#[utoipa::path(put, path = "/api/v1/zones/{zoneId}", operation_id = "replaceNetworkZone", tag = "zones", params(("zoneId" = String, Path)), request_body = ZoneBody,
    responses((status = 200, description = "The zone", body = super::answers::NetworkZone), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn replace(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(zone_id): Path<String>,
    ApiJson(body): ApiJson<ZoneBody>,
) -> Result<Response, ApiError> {
    let new = body.into_new()?;
    let zone = zones::update(&state.store, &actor, &zone_id, new, state.clock.now()).await?;
    Ok(Json(zones::zone_json(&zone)).into_response())
}

/// Delete a zone no rule names (403 otherwise).
#[utoipa::path(delete, path = "/api/v1/zones/{zoneId}", operation_id = "deleteNetworkZone", tag = "zones", params(("zoneId" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn delete(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(zone_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    zones::delete(&state.store, &actor, &zone_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/zones/{zoneId}/lifecycle/activate", operation_id = "activateNetworkZone", tag = "zones", params(("zoneId" = String, Path)),
    responses((status = 200, description = "The zone", body = super::answers::NetworkZone), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn activate(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(zone_id): Path<String>,
) -> Result<Response, ApiError> {
    let zone = zones::set_active(&state.store, &actor, &zone_id, true, state.clock.now()).await?;
    Ok(Json(zones::zone_json(&zone)).into_response())
}

/// An inactive zone matches no address.
#[utoipa::path(post, path = "/api/v1/zones/{zoneId}/lifecycle/deactivate", operation_id = "deactivateNetworkZone", tag = "zones", params(("zoneId" = String, Path)),
    responses((status = 200, description = "The zone", body = super::answers::NetworkZone), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn deactivate(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(zone_id): Path<String>,
) -> Result<Response, ApiError> {
    let zone = zones::set_active(&state.store, &actor, &zone_id, false, state.clock.now()).await?;
    Ok(Json(zones::zone_json(&zone)).into_response())
}
