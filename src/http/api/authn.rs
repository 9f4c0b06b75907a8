//! `POST /api/v1/authn`: Okta's classic Authentication API, primary authentication.
//! A public endpoint (no `SSWS`): `flows::authn` checks the password exactly as the
//! sign-in page does. Answers in Okta's shapes: a transaction with `status` `SUCCESS`
//! (a one-time `sessionToken`, `expiresAt`, `_embedded.user`) or `LOCKED_OUT` (the
//! sign-in throttle), and `401 E0000004` for every failure alike.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, PeerAddr};
use crate::clock::rfc3339_millis;
use crate::flows::authn::{self, Authn, AuthnRequest};
use crate::http::SharedState;

/// Okta's limit on `relayState`.
const MAX_RELAY_STATE: usize = 2048;

/// Primary authentication: a username and password, and an optional `relayState`
/// echoed back. Okta's `options` and `context` are accepted and ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AuthnBody {
    pub username: Option<String>,
    pub password: Option<String>,
    #[serde(rename = "relayState")]
    pub relay_state: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub options: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub context: Option<Value>,
}

/// An authentication transaction.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthnTransaction {
    /// `SUCCESS` or `LOCKED_OUT`.
    pub status: &'static str,
    /// When the `sessionToken` can no longer be redeemed (5 minutes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// One-time; redeem it at `/authorize` (`sessionToken=`) or
    /// `/login/sessionCookieRedirect`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_state: Option<String>,
    /// `user`: `id`, `passwordChanged`, `profile` (`login`, `firstName`, `lastName`,
    /// and `locale` and `timeZone` when the profile has them).
    #[serde(rename = "_embedded", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub embedded: Option<Value>,
}

/// Primary authentication (Okta's classic Authentication API).
#[utoipa::path(post, path = "/api/v1/authn", operation_id = "authenticate", tag = "authn", request_body = AuthnBody,
    responses(
        (status = 200, description = "`SUCCESS` with a one-time `sessionToken`, or `LOCKED_OUT`: with `Retry-After` while sign-ins of this username from this address are throttled, without it when the account is locked by the password policy (and the policy shows lockout failures)", body = AuthnTransaction),
        (status = 400, description = "E0000003: not JSON; E0000001: no username or password", body = ErrorBody),
        (status = 401, description = "E0000004: wrong password, unknown user, or a user who is not active (one answer for all)", body = ErrorBody)))]
pub async fn authenticate(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    ApiJson(body): ApiJson<AuthnBody>,
) -> Result<Response, ApiError> {
    let username = body.username.as_deref().unwrap_or("");
    if username.trim().is_empty() {
        return Err(ApiError::invalid(
            "username",
            "The field cannot be left blank",
        ));
    }
    let Some(password) = body.password.as_deref().filter(|p| !p.is_empty()) else {
        return Err(ApiError::invalid(
            "password",
            "The field cannot be left blank",
        ));
    };
    if body
        .relay_state
        .as_ref()
        .is_some_and(|r| r.len() > MAX_RELAY_STATE)
    {
        return Err(ApiError::invalid(
            "relayState",
            "The field must be at most 2048 characters",
        ));
    }
    let now = state.clock.now();
    let request = AuthnRequest {
        username,
        password,
        ip,
    };
    let answer = authn::authn(&state, &request, now).await?;
    let mut response = match answer {
        Authn::Success {
            session_token,
            expires_at,
            user,
        } => {
            let mut profile = Map::new();
            profile.insert("login".into(), user.login.clone().into());
            profile.insert("firstName".into(), user.first_name.clone().into());
            profile.insert("lastName".into(), user.last_name.clone().into());
            for name in ["locale", "timeZone"] {
                if let Some(value) = user.profile_extra.get(name) {
                    profile.insert(name.into(), value.clone());
                }
            }
            let embedded = serde_json::json!({ "user": {
                "id": user.id,
                "passwordChanged": user.password_changed_at.map(rfc3339_millis),
                "profile": profile,
            }});
            let transaction = AuthnTransaction {
                status: "SUCCESS",
                expires_at: Some(rfc3339_millis(expires_at)),
                session_token: Some(session_token),
                relay_state: body.relay_state,
                embedded: Some(embedded),
            };
            Json(transaction).into_response()
        }
        Authn::LockedOut { wait } => {
            let transaction = AuthnTransaction {
                status: "LOCKED_OUT",
                expires_at: None,
                session_token: None,
                relay_state: body.relay_state,
                embedded: None,
            };
            let mut response = Json(transaction).into_response();
            if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Authn::AccountLocked => Json(AuthnTransaction {
            status: "LOCKED_OUT",
            expires_at: None,
            session_token: None,
            relay_state: body.relay_state,
            embedded: None,
        })
        .into_response(),
        Authn::Failed => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "E0000004",
            "Authentication failed",
        )
        .into_response(),
    };
    // A session token is a credential: never cached.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
