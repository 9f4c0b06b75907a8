//! `/consent`: the user agrees (or not) to give an app the scopes whose consent is
//! `REQUIRED` (OpenID Connect Core §3.1.2.4). Reached only from `authorize::complete`
//! for a signed-in user; the pending request is bound to that user's session, taken
//! once, and the form is CSRF-protected like the sign-in page. Allow records the
//! consent and issues the code; Don't allow sends `access_denied` back to the app.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::authorize::{Known, complete, current_session, render_reply};
use crate::app::{AppState, SharedState};
use crate::clock::UnixTime;
use crate::crypto::{random_token, sha256};
use crate::http::extract::{Body, OAuthRejection, PeerAddr, form_params, query_params};
use crate::http::{cookies, error, middleware, pages};
use crate::oauth::authorize::AuthorizationRequest;
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, OAuthError};
use crate::store::PendingAuthorization;

/// How long the consent page waits.
pub const CONSENT_TTL: i64 = 600;

/// A request waiting for consent. Its shape differs from a request waiting for
/// sign-in (`consent` is not a field of `AuthorizationRequest`), so the sign-in page
/// can never take one for the other.
#[derive(Debug, Serialize, Deserialize)]
struct PendingConsent {
    consent: AuthorizationRequest,
    user_id: String,
    auth_time: UnixTime,
    scopes: Vec<String>,
}

/// Stores the request until the user answers; returns the consent page's address.
pub async fn start(
    state: &AppState,
    request: &AuthorizationRequest,
    user_id: &str,
    auth_time: UnixTime,
    scopes: Vec<String>,
    now: UnixTime,
) -> Result<String, OAuthError> {
    let tx = random_token();
    let pending = PendingConsent {
        consent: request.clone(),
        user_id: user_id.to_string(),
        auth_time,
        scopes,
    };
    let row = PendingAuthorization {
        id_hash: sha256(tx.as_bytes()),
        request: serde_json::to_string(&pending).map_err(|e| error::internal(&e))?,
        created_at: now,
        expires_at: now + CONSENT_TTL,
    };
    state
        .store
        .insert_pending(&row)
        .await
        .map_err(|e| error::unavailable(&e))?;
    Ok(format!("/consent?tx={tx}"))
}

fn expired_page() -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "Request expired",
        "This page has expired or was already used. Return to the application and sign in again.",
        None,
    )
}

/// The pending consent behind `tx`, if it is still waiting and belongs to the user
/// signed in on this browser.
async fn pending(
    state: &AppState,
    headers: &HeaderMap,
    tx: &str,
    now: UnixTime,
) -> Result<Option<PendingConsent>, OAuthError> {
    let Some(session) = current_session(state, headers, now).await? else {
        return Ok(None);
    };
    let found = state
        .store
        .get_pending(&sha256(tx.as_bytes()), now)
        .await
        .map_err(|e| error::unavailable(&e))?;
    Ok(found
        .and_then(|p| serde_json::from_str::<PendingConsent>(&p.request).ok())
        .filter(|p| p.user_id == session.user_id))
}

pub async fn get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match query_params(query.as_deref()) {
        Ok(params) => params,
        Err(e) => return error::page(&e),
    };
    let Ok(Some(tx)) = params.one("tx") else {
        return expired_page();
    };
    let now = state.clock.now();
    let pending = match pending(&state, &headers, tx, now).await {
        Ok(Some(p)) => p,
        Ok(None) => return expired_page(),
        Err(e) => return error::page(&e),
    };
    let request = &pending.consent;
    let (client, offered, user) = match tokio::try_join!(
        state.store.get_client(&request.client_id),
        state.store.list_scopes(&request.server_id),
        state.store.get_user(&pending.user_id)
    ) {
        Ok(found) => found,
        Err(e) => return error::page(&error::unavailable(&e)),
    };
    let app_name = client.map_or_else(|| request.client_id.clone(), |c| c.name);
    let scopes: Vec<(String, String)> = pending
        .scopes
        .iter()
        .map(|name| {
            let description = offered
                .iter()
                .find(|s| &s.name == name)
                .map(|s| s.description.clone())
                .unwrap_or_default();
            (name.clone(), description)
        })
        .collect();
    let csrf = cookies::csrf_token(&headers);
    let not_you = pages::logout_path(&request.server_id, &request.client_id);
    let page = pages::ConsentPage {
        app_name: &app_name,
        tx,
        csrf: &csrf,
        scopes: &scopes,
        signed_in_as: user.as_ref().map(|u| u.login.as_str()),
        not_you: &not_you,
    };
    let mut response = pages::render(StatusCode::OK, &page);
    // Allow and Don't allow are answered with a redirect to the client.
    middleware::allow_form_target(&mut response, &request.reply.redirect_uri);
    cookies::append(
        &mut response,
        cookies::set(cookies::CSRF, &csrf, state.config.secure_cookies(), None),
    );
    response
}

pub async fn post(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let params = match body
        .map_err(|OAuthRejection(e)| e)
        .and_then(|Body(b)| form_params(&headers, &b))
    {
        Ok(params) => params,
        Err(e) => return error::page(&e),
    };
    match answer(&state, &headers, &params, ip).await {
        Ok(response) => response,
        Err(e) => error::page(&e),
    }
}

async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    ip: Option<String>,
) -> Result<Response, OAuthError> {
    if let Some(name) = params.first_repeated() {
        return Err(OAuthError::invalid_request(format!(
            "The '{}' parameter was given more than once.",
            name.chars().take(64).collect::<String>()
        )));
    }
    let tx = params.required("tx")?;
    if !cookies::csrf_matches(headers, params.one("csrf")?.unwrap_or("")) {
        return Ok(pages::error(
            StatusCode::FORBIDDEN,
            "Request refused",
            "The form could not be verified. Go back, reload the page and try again.",
            None,
        ));
    }
    let allow = match params.required("decision")? {
        "allow" => true,
        "deny" => false,
        _ => {
            return Err(OAuthError::invalid_request(
                "The decision must be allow or deny.",
            ));
        }
    };
    let now = state.clock.now();
    // Checked against the session first, then taken once: a double-submitted form
    // issues one code, and another browser's answer consumes nothing.
    if pending(state, headers, tx, now).await?.is_none() {
        return Ok(expired_page());
    }
    let taken = state
        .store
        .take_pending(&sha256(tx.as_bytes()), now)
        .await
        .map_err(|e| error::unavailable(&e))?;
    let Some(pending) = taken.and_then(|p| serde_json::from_str::<PendingConsent>(&p.request).ok())
    else {
        return Ok(expired_page());
    };
    let mut request = pending.consent;
    if !allow {
        tracing::info!(event = "app.oauth2.authorize.consent", outcome = "DENY", client = %request.client_id, "consent refused");
        let e = OAuthError::new(
            ErrorCode::AccessDenied,
            "The resource owner denied the request.",
        );
        return Ok(render_reply(request.reply.error(&e), true));
    }
    state
        .store
        .grant_consent(
            &pending.user_id,
            &request.client_id,
            &request.server_id,
            &pending.scopes,
            now,
        )
        .await
        .map_err(|e| error::unavailable(&e))?;
    tracing::info!(event = "app.oauth2.authorize.consent", outcome = "ALLOW", client = %request.client_id, "consent given");
    // Consent was just given: do not ask again for this request.
    request.prompt.consent = false;
    Ok(complete(
        state,
        &request,
        &pending.user_id,
        pending.auth_time,
        now,
        true,
        Known {
            ip,
            ..Known::default()
        },
    )
    .await)
}
