//! `/login`: the hosted sign-in page. A plain HTML form, no JavaScript needed. Login
//! CSRF is stopped by a double-submit token (a random cookie the form must repeat);
//! a successful sign-in always starts a new session id (no session fixation); an
//! unknown user and a wrong password get the same answer, after the same work.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::authorize::{Known, complete};
use crate::admin::syslog::{self, Actor, Event, Target};
use crate::app::{AppState, SharedState};
use crate::crypto::sha256;
use crate::http::extract::{Body, OAuthRejection, PeerAddr, form_params, query_params};
use crate::http::{cookies, error, pages};
use crate::identity::{password, session};
use crate::oauth::authorize::AuthorizationRequest;
use crate::oauth::params::Params;
use crate::oauth::OAuthError;

const SIGN_IN_FAILED: &str = "Sign-in failed: the username or password is not right.";

fn expired_page() -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "Sign-in expired",
        "This sign-in page has expired or was already used. Return to the application and sign in again.",
        None,
    )
}

/// The pending request behind `tx`, still waiting.
async fn pending(state: &AppState, tx: &str) -> Result<Option<AuthorizationRequest>, OAuthError> {
    let found = state
        .store
        .get_pending(&sha256(tx.as_bytes()), state.clock.now())
        .await
        .map_err(|e| error::unavailable(&e))?;
    Ok(found.and_then(|p| serde_json::from_str(&p.request).ok()))
}

async fn app_name(state: &AppState, client_id: &str) -> String {
    match state.store.get_client(client_id).await {
        Ok(Some(client)) => client.name,
        _ => client_id.to_string(),
    }
}

/// Renders the form with a CSRF token, reusing the browser's token cookie if it has one.
async fn form(state: &AppState, headers: &HeaderMap, tx: &str, request: &AuthorizationRequest, username: &str, failed: bool) -> Response {
    let csrf = cookies::csrf_token(headers);
    let name = app_name(state, &request.client_id).await;
    let status = if failed { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let page = pages::LoginPage {
        app_name: &name,
        tx,
        csrf: &csrf,
        username,
        error: failed.then_some(SIGN_IN_FAILED),
    };
    let mut response = pages::render(status, &page);
    cookies::append(&mut response, cookies::set(cookies::CSRF, &csrf, state.config.secure_cookies(), None));
    response
}

pub async fn get(State(state): State<SharedState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let params = match query_params(query.as_deref()) {
        Ok(params) => params,
        Err(e) => return error::page(&e),
    };
    let Ok(Some(tx)) = params.one("tx") else { return expired_page() };
    match pending(&state, tx).await {
        Ok(Some(request)) => {
            let hint = request.login_hint.clone().unwrap_or_default();
            form(&state, &headers, tx, &request, &hint, false).await
        }
        Ok(None) => expired_page(),
        Err(e) => error::page(&e),
    }
}

pub async fn post(State(state): State<SharedState>, PeerAddr(ip): PeerAddr, headers: HeaderMap, body: Result<Body, OAuthRejection>) -> Response {
    let params = match body.map_err(|OAuthRejection(e)| e).and_then(|Body(b)| form_params(&headers, &b)) {
        Ok(params) => params,
        Err(e) => return error::page(&e),
    };
    match sign_in(&state, &headers, &params, ip).await {
        Ok(response) => response,
        Err(e) => error::page(&e),
    }
}

async fn sign_in(state: &AppState, headers: &HeaderMap, params: &Params, ip: Option<String>) -> Result<Response, OAuthError> {
    let tx = params.required("tx")?;
    let csrf_form = params.one("csrf")?.unwrap_or("");
    if !cookies::csrf_matches(headers, csrf_form) {
        return Ok(pages::error(
            StatusCode::FORBIDDEN,
            "Sign-in refused",
            "The sign-in form could not be verified. Go back, reload the page and try again.",
            None,
        ));
    }
    let Some(request) = pending(state, tx).await? else { return Ok(expired_page()) };
    let username = params.one("username")?.unwrap_or("").trim();
    let password_given = params.one("password")?.unwrap_or("");

    let user = if username.is_empty() || username.len() > 256 {
        None
    } else {
        state.store.find_user_by_login(username).await.map_err(|e| error::unavailable(&e))?
    };
    let active = user.clone().filter(|u| u.is_active());
    let phc = active.as_ref().and_then(|u| u.password_hash.clone());
    let ok = password_given.len() <= password::MAX_PASSWORD
        && state.passwords.verify(phc, password_given.to_string()).await;
    let user = match (ok, active) {
        (true, Some(user)) => user,
        _ => {
            state.metrics.login(false);
            // The page says the same for every failure; the System Log says why.
            let (actor, reason) = match &user {
                None => (Actor::unknown_user(username, ip), "UNKNOWN_USER".to_string()),
                Some(u) if !u.is_active() => (Actor::user(u, ip), format!("USER_NOT_ACTIVE: the user is {}", u.status)),
                Some(u) => (Actor::user(u, ip), "INVALID_CREDENTIALS".to_string()),
            };
            let event = Event::failure("user.session.start", "User login to Gatehouse", reason, vec![]);
            syslog::record(&state.store, &actor, event, state.clock.now()).await;
            return Ok(form(state, headers, tx, &request, username, true).await);
        }
    };

    // Take the request once: a double-submitted form issues one code.
    let now = state.clock.now();
    let taken = state.store.take_pending(&sha256(tx.as_bytes()), now).await.map_err(|e| error::unavailable(&e))?;
    if taken.is_none() {
        return Ok(expired_page());
    }
    // A new session id at every sign-in; the old one, if any, ends.
    if let Some(old) = cookies::get(headers, cookies::SESSION) {
        state.store.end_session(&session::id_hash(&old), now).await.map_err(|e| error::unavailable(&e))?;
    }
    let (session_id, row) = session::start(&user.id, now, state.config.session_lifetime_seconds);
    state.store.insert_session(&row).await.map_err(|e| error::unavailable(&e))?;
    // Okta's `lastLogin`: every successful sign-in, not a single sign-on from a session.
    state.store.record_login(&user.id, now).await.map_err(|e| error::unavailable(&e))?;
    state.metrics.login(true);
    let actor = Actor::user(&user, ip.clone());
    let event = Event::success("user.session.start", "User login to Gatehouse", vec![Target::user(&user)]);
    syslog::record(&state.store, &actor, event, now).await;

    let mut response = complete(state, &request, &user.id, now, now, true, Known { ip, ..Known::default() }).await;
    cookies::append(&mut response, cookies::set(cookies::SESSION, &session_id, state.config.secure_cookies(), None));
    Ok(response)
}
