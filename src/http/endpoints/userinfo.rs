//! `/oauth2/{server}/v1/userinfo` (OpenID Connect Core §5.3) with a Bearer access token
//! (RFC 6750), or a DPoP-bound one with its proof (RFC 9449 §7): the user's claims for
//! the token's scopes.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{dpop, find_server};
use crate::clock::UnixTime;
use crate::flows::userinfo::{self, Presented, UserinfoRequest};
use crate::http::error;
use crate::http::extract::{Body, OAuthRejection, ServerId, form_params};
use crate::http::{AppState, SharedState};
use crate::oauth::{ErrorCode, OAuthError};

/// GET, and HEAD (which axum routes here): a DPoP proof's `htm` must be the request's
/// actual method (RFC 9449 §4.3 item 9), so a proof made for GET is no HEAD proof.
pub async fn get(
    State(state): State<SharedState>,
    ServerId(id): ServerId,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let token = authorization(&headers);
    respond(&state, &id, method.as_str(), &headers, token).await
}

/// RFC 6750 §2.2 also allows the token in a form body.
pub async fn post(
    State(state): State<SharedState>,
    ServerId(id): ServerId,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let mut token = authorization(&headers);
    if let Ok(Body(bytes)) = body
        && !bytes.is_empty()
    {
        match form_params(&headers, &bytes)
            .and_then(|p| p.one("access_token").map(|t| t.map(str::to_string)))
        {
            Ok(Some(form_token)) if token.is_none() => {
                token = Some(Presented {
                    token: form_token,
                    dpop: false,
                })
            }
            // RFC 6750 §2: one method per request.
            Ok(Some(_)) => {
                return challenge(Some(&OAuthError::invalid_request(
                    "More than one access token was sent.",
                )));
            }
            Ok(None) => {}
            Err(e) => return challenge(Some(&e)),
        }
    }
    respond(&state, &id, "POST", &headers, token).await
}

fn authorization(headers: &HeaderMap) -> Option<Presented> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim().to_string();
    if token.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(Presented { token, dpop: false })
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some(Presented { token, dpop: true })
    } else {
        None
    }
}

/// RFC 9449 §7.1: the `WWW-Authenticate: DPoP` challenge, with the algorithms.
fn dpop_challenge(state: &AppState, e: &OAuthError, now: UnixTime) -> Response {
    let mut response = error::json(e);
    // §7.1: a proof problem at a resource endpoint is a 401, like an invalid token.
    if matches!(
        e.code,
        ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce | ErrorCode::InvalidToken
    ) {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
    }
    let value = format!(
        r#"DPoP algs="{}", error="{}", error_description="{}""#,
        dpop::algs(),
        e.code(),
        e.description.replace('"', "'")
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    dpop::add_nonce(state, Some(e), &mut response, now);
    response
}

/// RFC 6750 §3: the `WWW-Authenticate: Bearer` challenge; without an error when no
/// token was sent (§3.1).
fn challenge(e: Option<&OAuthError>) -> Response {
    let (status, value) = match e {
        None => (
            StatusCode::UNAUTHORIZED,
            r#"Bearer realm="gatehouse""#.to_string(),
        ),
        Some(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            format!(
                r#"Bearer realm="gatehouse", error="{}", error_description="{}""#,
                e.code(),
                e.description.replace('"', "'")
            ),
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

async fn respond(
    state: &AppState,
    server_id: &str,
    method: &str,
    headers: &HeaderMap,
    token: Option<Presented>,
) -> Response {
    let Some(presented) = token else {
        // RFC 9449 §7.1: the DPoP scheme is offered beside Bearer.
        let mut response = challenge(None);
        if let Ok(v) = HeaderValue::from_str(&format!(r#"DPoP algs="{}""#, dpop::algs())) {
            response.headers_mut().append(header::WWW_AUTHENTICATE, v);
        }
        return response;
    };
    let server = match find_server(state, server_id).await {
        Ok(server) => server,
        Err(e) => return e.json(server_id),
    };
    let now = state.clock.now();
    let request = UserinfoRequest {
        server: &server,
        method,
        token: &presented,
        dpop: dpop::header(headers),
    };
    match userinfo::claims(state, &request, now).await {
        Ok(body) => {
            let mut response = Json(body).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            // RFC 9449 §8 (and §9 at resource servers): with nonces demanded, every
            // answer carries the current one, so the client's next proof has it.
            dpop::add_nonce(state, None, &mut response, now);
            response
        }
        Err(e)
            if matches!(
                e.code,
                ErrorCode::TemporarilyUnavailable | ErrorCode::ServerError
            ) =>
        {
            error::json(&e)
        }
        Err(e)
            if presented.dpop
                || matches!(
                    e.code,
                    ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce
                ) =>
        {
            dpop_challenge(state, &e, now)
        }
        Err(e) => challenge(Some(&e)),
    }
}
