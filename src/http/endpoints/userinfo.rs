//! `/oauth2/{server}/v1/userinfo` (OpenID Connect Core §5.3) with a Bearer access token
//! (RFC 6750): the user's claims for the token's scopes.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Value, json};

use super::token::mint::Subject;
use super::{AccessTokenProblem, find_server, verify_access_token};
use crate::app::{AppState, SharedState};
use crate::http::error;
use crate::http::extract::{Body, OAuthRejection, ServerId, form_params};
use crate::oauth::scope::Scope;
use crate::oauth::{ErrorCode, OAuthError};
use crate::store::AuthServer;
use crate::tokens::claims::user_claims;
use crate::tokens::custom_claims;

pub async fn get(State(state): State<SharedState>, ServerId(id): ServerId, headers: HeaderMap) -> Response {
    respond(&state, &id, bearer(&headers)).await
}

/// RFC 6750 §2.2 also allows the token in a form body.
pub async fn post(
    State(state): State<SharedState>,
    ServerId(id): ServerId,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let mut token = bearer(&headers);
    if let Ok(Body(bytes)) = body
        && !bytes.is_empty() {
            match form_params(&headers, &bytes).and_then(|p| p.one("access_token").map(|t| t.map(str::to_string))) {
                Ok(Some(form_token)) if token.is_none() => token = Some(form_token),
                // RFC 6750 §2: one method per request.
                Ok(Some(_)) => return challenge(Some(&OAuthError::invalid_request("More than one access token was sent."))),
                Ok(None) => {}
                Err(e) => return challenge(Some(&e)),
            }
        }
    respond(&state, &id, token).await
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string()).filter(|t| !t.is_empty())
}

/// RFC 6750 §3: the `WWW-Authenticate: Bearer` challenge; without an error when no
/// token was sent (§3.1).
fn challenge(e: Option<&OAuthError>) -> Response {
    let (status, value) = match e {
        None => (StatusCode::UNAUTHORIZED, r#"Bearer realm="gatehouse""#.to_string()),
        Some(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            format!(r#"Bearer realm="gatehouse", error="{}", error_description="{}""#, e.code(), e.description.replace('"', "'")),
        ),
    };
    let mut response = match e {
        Some(e) => error::json(e),
        None => status.into_response(),
    };
    *response.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

async fn respond(state: &AppState, server_id: &str, token: Option<String>) -> Response {
    let Some(token) = token else { return challenge(None) };
    let server = match find_server(state, server_id).await {
        Ok(server) => server,
        Err(e) => return e.json(server_id),
    };
    match claims(state, &server, &token).await {
        Ok(body) => {
            let mut response = Json(body).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) if matches!(e.code, ErrorCode::TemporarilyUnavailable | ErrorCode::ServerError) => error::json(&e),
        Err(e) => challenge(Some(&e)),
    }
}

async fn claims(state: &AppState, server: &AuthServer, token: &str) -> Result<Value, OAuthError> {
    let now = state.clock.now();
    let at = match verify_access_token(state, server, token, now).await {
        Ok(at) => at,
        Err(AccessTokenProblem::Expired) => return Err(OAuthError::invalid_token("The access token has expired.")),
        Err(AccessTokenProblem::Failed(e)) => return Err(e),
        Err(_) => return Err(OAuthError::invalid_token("The access token is invalid.")),
    };
    let invalid = || OAuthError::invalid_token("The access token is invalid.");
    let scope = Scope::parse(&at.scope).map_err(|_| invalid())?;
    if !scope.contains("openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "The access token must provide access to at least one of these scopes: openid.",
        ));
    }
    // A client_credentials token has no user (`uid`), so no userinfo.
    let user_id = at.uid.as_deref().ok_or_else(invalid)?;
    let subject = Subject::load(state, user_id).await?.ok_or_else(invalid)?;
    let custom = state.store.list_claims(&server.id).await.map_err(|e| error::unavailable(&e))?;
    let mut body = serde_json::Map::new();
    body.insert("sub".into(), json!(subject.user.id));
    body.extend(user_claims(&subject.user, &scope));
    for (name, value) in custom_claims::evaluate(&custom, "IDENTITY", &scope, Some(&subject.user), &subject.group_names()) {
        body.entry(name).or_insert(value);
    }
    Ok(Value::Object(body))
}
