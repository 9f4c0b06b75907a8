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
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, Caller, OptionalApiJson};
use crate::admin::users;
use crate::clock::rfc3339;
use crate::factors::{self, totp};
use crate::flows::email_factor::{self, Binding, Enrolled, Sent};
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
        "profile": profile(user, f),
        "_links": links,
    })
}

/// A factor's `profile`: the address of an e-mail factor, the login for TOTP.
fn profile(user: &User, f: &UserFactor) -> Value {
    if f.factor_type == factors::EMAIL {
        json!({ "email": f.email })
    } else {
        json!({ "credentialId": user.login })
    }
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
    /// `token:software:totp` or `email`.
    #[serde(rename = "factorType")]
    pub factor_type: String,
    /// `GOOGLE` for TOTP (any RFC 6238 authenticator app), `OKTA` for e-mail.
    pub provider: Option<String>,
    /// For `email`: `{"email": "..."}`, the address codes go to (default: the user's
    /// primary address).
    pub profile: Option<EnrollProfile>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EnrollProfile {
    pub email: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnrollParams {
    /// For `email`: ACTIVE at once, without a code (only for the user's primary
    /// address).
    pub activate: Option<bool>,
}

/// Enroll a factor. TOTP: PENDING_ACTIVATION, with the shared secret in
/// `_embedded.activation` (shown this once). E-mail: PENDING_ACTIVATION with a code
/// sent to the address (activate with it), or ACTIVE with `activate=true` for the
/// user's primary address.
#[utoipa::path(post, path = "/api/v1/users/{id}/factors", operation_id = "enrollFactor", tag = "users", params(("id" = String, Path, description = "User id or login"), EnrollParams), request_body = EnrollBody,
    responses((status = 200, description = "The factor (pending, with its activation for TOTP; active for e-mail with activate=true)", body = Object), (status = 400, description = "E0000001: an unsupported factor type or provider, a bad address, activate=true for an address other than the primary one, e-mail not configured, or the user has the factor already", body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn enroll(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<EnrollParams>,
    ApiJson(body): ApiJson<EnrollBody>,
) -> Result<Response, ApiError> {
    let user = users::find(&state.store, &id).await?;
    if body.factor_type == factors::EMAIL {
        return enroll_email(
            &state,
            &actor,
            &user,
            &body,
            params.activate.unwrap_or(false),
        )
        .await;
    }
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

/// Enrolls an e-mail factor.
async fn enroll_email(
    state: &SharedState,
    actor: &crate::admin::syslog::Actor,
    user: &User,
    body: &EnrollBody,
    activate: bool,
) -> Result<Response, ApiError> {
    if body
        .provider
        .as_deref()
        .is_some_and(|p| p != factors::EMAIL_PROVIDER)
    {
        return Err(ApiError::invalid(
            "provider",
            "is not a supported provider for this factor type",
        ));
    }
    let email = body
        .profile
        .as_ref()
        .and_then(|p| p.email.clone())
        .or_else(|| user.email.clone())
        .ok_or_else(|| ApiError::invalid("profile.email", "is required"))?;
    let email = email.trim().to_string();
    let plausible = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !plausible {
        return Err(ApiError::invalid(
            "profile.email",
            "Does not match required pattern",
        ));
    }
    let primary = user
        .email
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case(&email));
    if activate && !primary {
        return Err(ApiError::invalid(
            "activate",
            "An e-mail factor is activated without a code only for the user's primary e-mail address.",
        ));
    }
    let enrolled =
        email_factor::enroll(state, actor, user, &email, activate, state.clock.now()).await?;
    let factor = match enrolled {
        Enrolled::Active(f) | Enrolled::Pending(f) => f,
        Enrolled::Exists => {
            return Err(ApiError::invalid(
                "factorType",
                "A factor of this type is already set up.",
            ));
        }
        Enrolled::MailOff => {
            return Err(ApiError::invalid(
                "factorType",
                "E-mail is not configured on this server.",
            ));
        }
    };
    Ok(Json(to_json(&state.config.base_url(), user, &factor)).into_response())
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
    let factor = factor_of(&state, &user, &factor_id).await?;
    let code = body
        .pass_code
        .ok_or_else(|| ApiError::invalid("passCode", "is required"))?;
    let now = state.clock.now();
    answer(if factor.factor_type == factors::EMAIL {
        email_factor::activate(&state, &user, &factor_id, &code, &actor, now).await?
    } else {
        factor_flows::activate_totp_by(&state, &actor, &user, &factor_id, &code, now).await?
    })?;
    let factor = factor_of(&state, &user, &factor_id).await?;
    Ok(Json(to_json(&state.config.base_url(), &user, &factor)).into_response())
}

/// Verify a code from an active factor (it is then used up). For an e-mail factor,
/// without `passCode` (or without a body, as Okta's SDKs send it) a new code is sent (`factorResult` CHALLENGE), at most once per
/// 30 seconds.
#[utoipa::path(post, path = "/api/v1/users/{id}/factors/{factorId}/verify", operation_id = "verifyFactor", tag = "users",
    params(("id" = String, Path, description = "User id or login"), ("factorId" = String, Path)), request_body = PassCodeBody,
    responses((status = 200, description = "`factorResult` SUCCESS, or CHALLENGE when an e-mail code was sent", body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, description = "E0000068: the code is not right, has expired, or was used already", body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, description = "E0000047: too many wrong codes; E0000109: an e-mail code was sent less than 30 seconds ago", body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn verify(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, factor_id)): Path<(String, String)>,
    OptionalApiJson(body): OptionalApiJson<PassCodeBody>,
) -> Result<Response, ApiError> {
    let body = body.unwrap_or(PassCodeBody { pass_code: None });
    let user = users::find(&state.store, &id).await?;
    let factor = factor_of(&state, &user, &factor_id).await?;
    if factor.status != crate::store::FactorStatus::Active {
        return Err(invalid_passcode());
    }
    let now = state.clock.now();
    if factor.factor_type == factors::EMAIL {
        let Some(code) = body.pass_code else {
            return challenge(&state, &user, &factor, now).await;
        };
        let check = email_factor::verify(&state, &user, Binding::Api, &code, &actor, now).await?;
        answer(check)?;
        return Ok(Json(json!({ "factorResult": "SUCCESS" })).into_response());
    }
    let code = body
        .pass_code
        .ok_or_else(|| ApiError::invalid("passCode", "is required"))?;
    answer(factor_flows::verify_totp_by(&state, &actor, &user, &code, now).await?)?;
    Ok(Json(json!({ "factorResult": "SUCCESS" })).into_response())
}

/// Sends a code to an e-mail factor: Okta's CHALLENGE answer.
async fn challenge(
    state: &SharedState,
    user: &User,
    factor: &UserFactor,
    now: crate::clock::UnixTime,
) -> Result<Response, ApiError> {
    match email_factor::send(state, user, factor, Binding::Api, now).await? {
        Sent::Sent { expires_at } => {
            let own = format!(
                "{}/api/v1/users/{}/factors/{}",
                state.config.base_url(),
                user.id,
                factor.id
            );
            Ok(Json(json!({
                "factorResult": "CHALLENGE",
                "expiresAt": rfc3339(expires_at),
                "profile": profile(user, factor),
                "_links": {
                    "verify": { "href": format!("{own}/verify"), "hints": { "allow": ["POST"] } },
                    "factor": { "href": own, "hints": { "allow": ["GET", "DELETE"] } },
                },
            }))
            .into_response())
        }
        Sent::TooSoon { wait } => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000109",
            format!("An email was recently sent. Please wait {wait} seconds before trying again."),
        )),
        Sent::Unavailable => Err(ApiError::invalid(
            "factorType",
            "E-mail is not configured on this server.",
        )),
    }
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
