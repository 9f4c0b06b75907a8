//! Okta's Factors API for a user's second factors: `/api/v1/users/{id}/factors`
//! (list, enroll a TOTP factor, get, activate with the first code, verify a code,
//! delete) and `/api/v1/users/{id}/lifecycle/reset_factors`. A factor id of another
//! user is not found under this user's path. The shared secret is in the enrollment's
//! answer only (`_embedded.activation`), never in a later read.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, Caller};
use crate::admin::users;
use crate::clock::rfc3339;
use crate::factors::{self, totp};
use crate::flows::factors::{self as factor_flows, Check};
use crate::http::SharedState;
use crate::store::{User, UserFactor};

/// A factor in Okta's shape.
fn to_json(base: &str, user: &User, f: &UserFactor) -> Value {
    let own = format!("{base}/api/v1/users/{}/factors/{}", user.id, f.id);
    let mut links = json!({
        "self": { "href": own, "hints": { "allow": ["GET", "DELETE"] } },
        "user": { "href": format!("{base}/api/v1/users/{}", user.id) },
    });
    if f.status == crate::store::FactorStatus::PendingActivation {
        links["activate"] =
            json!({ "href": format!("{own}/lifecycle/activate"), "hints": { "allow": ["POST"] } });
    } else {
        links["verify"] =
            json!({ "href": format!("{own}/verify"), "hints": { "allow": ["POST"] } });
    }
    json!({
        "id": f.id,
        "factorType": f.factor_type,
        "provider": f.provider,
        "vendorName": f.provider,
        "status": f.status.as_str(),
        "created": rfc3339(f.created_at),
        "lastUpdated": rfc3339(f.updated_at),
        "profile": { "credentialId": user.login },
        "_links": links,
    })
}

/// A passkey in Okta's shape: factorType `webauthn`, provider `FIDO`, always ACTIVE
/// (a registration completes in one ceremony); the profile carries the credential id
/// (base64url) and the name the person gave it.
fn passkey_json(base: &str, user: &User, p: &crate::store::Passkey) -> Value {
    json!({
        "id": p.id,
        "factorType": "webauthn",
        "provider": "FIDO",
        "vendorName": "FIDO",
        "status": "ACTIVE",
        "created": rfc3339(p.created_at),
        "lastUpdated": rfc3339(p.last_used_at.unwrap_or(p.created_at)),
        "profile": {
            "credentialId": crate::crypto::b64url(&p.credential_id),
            "authenticatorName": p.name,
        },
        "_links": { "user": { "href": format!("{base}/api/v1/users/{}", user.id) } },
    })
}

fn invalid_passcode() -> ApiError {
    ApiError {
        causes: vec!["Your passcode doesn't match our records. Please try again.".into()],
        ..ApiError::new(StatusCode::FORBIDDEN, "E0000068", "Invalid Passcode/Answer")
    }
}

fn throttled() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "E0000047",
        "API call exceeded rate limit due to too many requests.",
    )
}

fn answer(check: Check) -> Result<(), ApiError> {
    match check {
        Check::Verified => Ok(()),
        Check::Invalid => Err(invalid_passcode()),
        Check::Throttled { .. } => Err(throttled()),
    }
}

async fn factor_of(
    state: &SharedState,
    user: &User,
    factor_id: &str,
) -> Result<UserFactor, ApiError> {
    state
        .store
        .get_factor(&user.id, factor_id)
        .await
        .map_err(crate::admin::AdminError::from)?
        .ok_or_else(|| ApiError::not_found(&format!("factor {factor_id}")))
}

/// The user's enrolled factors, passkeys (`webauthn`) included.
#[utoipa::path(get, path = "/api/v1/users/{id}/factors", operation_id = "listFactors", tag = "users", params(("id" = String, Path, description = "User id or login")),
    responses((status = 200, description = "Factors", body = Object), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn list(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = users::find(&state.store, &id).await?;
    let found = state
        .store
        .user_factors(&user.id)
        .await
        .map_err(crate::admin::AdminError::from)?;
    let passkeys = state
        .store
        .user_passkeys(&user.id)
        .await
        .map_err(crate::admin::AdminError::from)?;
    let base = state.config.base_url();
    let mut all: Vec<Value> = found.iter().map(|f| to_json(&base, &user, f)).collect();
    all.extend(passkeys.iter().map(|p| passkey_json(&base, &user, p)));
    Ok(Json(all).into_response())
}

/// What to enroll.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EnrollBody {
    /// `token:software:totp`.
    #[serde(rename = "factorType")]
    pub factor_type: String,
    /// `GOOGLE` (any RFC 6238 authenticator app).
    pub provider: Option<String>,
}

/// Enroll a TOTP factor: PENDING_ACTIVATION, with the shared secret in
/// `_embedded.activation` (shown this once).
#[utoipa::path(post, path = "/api/v1/users/{id}/factors", operation_id = "enrollFactor", tag = "users", params(("id" = String, Path, description = "User id or login")), request_body = EnrollBody,
    responses((status = 200, description = "The pending factor, with its activation", body = Object), (status = 400, description = "E0000001: an unsupported factor type or provider; E0000001 too when the user has the factor already", body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn enroll(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EnrollBody>,
) -> Result<Response, ApiError> {
    let user = users::find(&state.store, &id).await?;
    if body.factor_type != factors::TOTP {
        return Err(ApiError::invalid(
            "factorType",
            "is not a supported factor type",
        ));
    }
    if body
        .provider
        .as_deref()
        .is_some_and(|p| p != factors::TOTP_PROVIDER)
    {
        return Err(ApiError::invalid(
            "provider",
            "is not a supported provider for this factor type",
        ));
    }
    let enrollment = factor_flows::enroll_totp(&state, &user, state.clock.now())
        .await?
        .ok_or_else(|| {
            ApiError::invalid("factorType", "A factor of this type is already set up.")
        })?;
    let mut factor = to_json(&state.config.base_url(), &user, &enrollment.factor);
    factor["_embedded"] = json!({
        "activation": {
            "timeStep": totp::STEP,
            "sharedSecret": enrollment.secret,
            "encoding": "base32",
            "keyLength": totp::DIGITS,
        }
    });
    Ok(Json(factor).into_response())
}

/// A factor of the user.
#[utoipa::path(get, path = "/api/v1/users/{id}/factors/{factorId}", operation_id = "getFactor", tag = "users",
    params(("id" = String, Path, description = "User id or login"), ("factorId" = String, Path)),
    responses((status = 200, description = "The factor", body = Object), (status = 401, body = ErrorBody), (status = 404, description = "E0000007: no such user, or no such factor of theirs", body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn get(
    State(state): State<SharedState>,
    _: Caller,
    Path((id, factor_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let user = users::find(&state.store, &id).await?;
    let factor = factor_of(&state, &user, &factor_id).await?;
    Ok(Json(to_json(&state.config.base_url(), &user, &factor)).into_response())
}

/// A code from the factor.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PassCodeBody {
    #[serde(rename = "passCode")]
    pub pass_code: Option<String>,
}

/// Activate a pending TOTP factor with its first code.
#[utoipa::path(post, path = "/api/v1/users/{id}/factors/{factorId}/lifecycle/activate", operation_id = "activateFactor", tag = "users",
    params(("id" = String, Path, description = "User id or login"), ("factorId" = String, Path)), request_body = PassCodeBody,
    responses((status = 200, description = "The active factor", body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, description = "E0000068: the code is not right, or the factor is not pending", body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, description = "E0000047: too many wrong codes", body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn activate(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, factor_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<PassCodeBody>,
) -> Result<Response, ApiError> {
    let user = users::find(&state.store, &id).await?;
    factor_of(&state, &user, &factor_id).await?;
    let code = body
        .pass_code
        .ok_or_else(|| ApiError::invalid("passCode", "is required"))?;
    let now = state.clock.now();
    answer(factor_flows::activate_totp_by(&state, &actor, &user, &factor_id, &code, now).await?)?;
    let factor = factor_of(&state, &user, &factor_id).await?;
    Ok(Json(to_json(&state.config.base_url(), &user, &factor)).into_response())
}

/// Verify a code from an active factor (it is then used up).
#[utoipa::path(post, path = "/api/v1/users/{id}/factors/{factorId}/verify", operation_id = "verifyFactor", tag = "users",
    params(("id" = String, Path, description = "User id or login"), ("factorId" = String, Path)), request_body = PassCodeBody,
    responses((status = 200, description = "`factorResult` SUCCESS", body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, description = "E0000068: the code is not right, or was used already", body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, description = "E0000047: too many wrong codes", body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn verify(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, factor_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<PassCodeBody>,
) -> Result<Response, ApiError> {
    let user = users::find(&state.store, &id).await?;
    let factor = factor_of(&state, &user, &factor_id).await?;
    if factor.status != crate::store::FactorStatus::Active {
        return Err(invalid_passcode());
    }
    let code = body
        .pass_code
        .ok_or_else(|| ApiError::invalid("passCode", "is required"))?;
    let now = state.clock.now();
    answer(factor_flows::verify_totp_by(&state, &actor, &user, &code, now).await?)?;
    Ok(Json(json!({ "factorResult": "SUCCESS" })).into_response())
}

/// Remove a factor of the user.
#[utoipa::path(delete, path = "/api/v1/users/{id}/factors/{factorId}", operation_id = "unenrollFactor", tag = "users",
    params(("id" = String, Path, description = "User id or login"), ("factorId" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody), (status = 404, description = "E0000007: no such user, or no such factor of theirs", body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn delete(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, factor_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let user = users::find(&state.store, &id).await?;
    if !factor_flows::remove(&state, &actor, &user, &factor_id, state.clock.now()).await? {
        return Err(ApiError::not_found(&format!("factor {factor_id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Remove every factor and recovery code of the user (Okta's reset factors).
#[utoipa::path(post, path = "/api/v1/users/{id}/lifecycle/reset_factors", operation_id = "resetFactors", tag = "users",
    params(("id" = String, Path, description = "User id or login")),
    responses((status = 200, description = "Reset", body = Object), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn reset(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = users::find(&state.store, &id).await?;
    factor_flows::reset_all(&state.store, &actor, &user, state.clock.now()).await?;
    Ok(Json(json!({})).into_response())
}
