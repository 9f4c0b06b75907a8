//! `/login`: the hosted sign-in page. A plain HTML form, no JavaScript needed. Login
//! CSRF is stopped by a double-submit token (a random cookie the form must repeat);
//! a successful sign-in always starts a new session id (no session fixation); an
//! unknown user and a wrong password get the same answer, after the same work.
//! Repeated failures are throttled per (username, address) and per address
//! (`identity::throttle`); a throttled attempt gets a 429 with `Retry-After`, the same
//! for every username, without the password being checked.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::authorize::{Known, complete};
use crate::admin::syslog::{self, Actor, Event, Target};
use crate::app::{AppState, SharedState};
use crate::crypto::sha256;
use crate::http::extract::{Body, OAuthRejection, PeerAddr, form_params, query_params};
use crate::http::{cookies, error, middleware, pages};
use crate::identity::throttle::{self, Blocked};
use crate::identity::{password, session};
use crate::oauth::OAuthError;
use crate::oauth::authorize::AuthorizationRequest;
use crate::oauth::params::Params;

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
async fn form(
    state: &AppState,
    headers: &HeaderMap,
    tx: &str,
    request: &AuthorizationRequest,
    username: &str,
    failed: bool,
) -> Response {
    let status = if failed {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    form_with(
        state,
        headers,
        tx,
        request,
        username,
        status,
        failed.then_some(SIGN_IN_FAILED),
    )
    .await
}

async fn form_with(
    state: &AppState,
    headers: &HeaderMap,
    tx: &str,
    request: &AuthorizationRequest,
    username: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let csrf = cookies::csrf_token(headers);
    let name = app_name(state, &request.client_id).await;
    let page = pages::LoginPage {
        app_name: &name,
        tx,
        csrf: &csrf,
        username,
        error,
    };
    let mut response = pages::render(status, &page);
    // A right password is answered with a redirect to the client.
    middleware::allow_form_target(&mut response, &request.reply.redirect_uri);
    cookies::append(
        &mut response,
        cookies::set(cookies::CSRF, &csrf, state.config.secure_cookies(), None),
    );
    response
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
    match pending(&state, tx).await {
        Ok(Some(request)) => {
            let hint = request.login_hint.clone().unwrap_or_default();
            form(&state, &headers, tx, &request, &hint, false).await
        }
        Ok(None) => expired_page(),
        Err(e) => error::page(&e),
    }
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
    match sign_in(&state, &headers, &params, ip).await {
        Ok(response) => response,
        Err(e) => error::page(&e),
    }
}

async fn sign_in(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    ip: Option<String>,
) -> Result<Response, OAuthError> {
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
    let Some(request) = pending(state, tx).await? else {
        return Ok(expired_page());
    };
    let username = params.one("username")?.unwrap_or("").trim();
    let password_given = params.one("password")?.unwrap_or("");

    // While a counter is blocked, the password is not checked at all.
    let now = state.clock.now();
    let attempt = match throttle::begin_sign_in(&state.store, username, ip.as_deref(), now)
        .await
        .map_err(|e| error::unavailable(&e))?
    {
        Ok(attempt) => attempt,
        Err(blocked) => {
            return Ok(throttled(state, headers, tx, &request, username, blocked, now).await);
        }
    };

    let user = if username.is_empty() || username.len() > 256 {
        None
    } else {
        state
            .store
            .find_user_by_login(username)
            .await
            .map_err(|e| error::unavailable(&e))?
    };
    let active = user.clone().filter(|u| u.is_active());
    let phc = active.as_ref().and_then(|u| u.password_hash.clone());
    let ok = password_given.len() <= password::MAX_PASSWORD
        && state
            .passwords
            .verify(phc, password_given.to_string())
            .await;
    let user = match (ok, active) {
        (true, Some(user)) => user,
        _ => {
            state.metrics.login(false);
            let started =
                match throttle::sign_in_failed(&state.store, &state.config.throttle, &attempt, now)
                    .await
                    .map_err(|e| error::unavailable(&e))?
                {
                    Ok(started) => started,
                    // Blocked by parallel failures meanwhile: answered like any blocked attempt.
                    Err(blocked) => {
                        return Ok(
                            throttled(state, headers, tx, &request, username, blocked, now).await,
                        );
                    }
                };
            // The page says the same for every failure; the System Log says why.
            let (actor, reason) = match &user {
                None => (
                    Actor::unknown_user(username, ip.clone()),
                    "UNKNOWN_USER".to_string(),
                ),
                Some(u) if !u.is_active() => (
                    Actor::user(u, ip.clone()),
                    format!("USER_NOT_ACTIVE: the user is {}", u.status),
                ),
                Some(u) => (
                    Actor::user(u, ip.clone()),
                    "INVALID_CREDENTIALS".to_string(),
                ),
            };
            let event = Event::failure(
                "user.session.start",
                "User login to Gatehouse",
                reason,
                vec![],
            );
            syslog::record(&state.store, &actor, event, state.clock.now()).await;
            if let Some(started) = started {
                block_started(state, username, ip, started, now).await;
            }
            return Ok(form(state, headers, tx, &request, username, true).await);
        }
    };

    if let Err(blocked) = throttle::sign_in_succeeded(&state.store, &attempt, now)
        .await
        .map_err(|e| error::unavailable(&e))?
    {
        // Parallel failures blocked a counter while this password was checked: a burst
        // of guesses must not learn that one of them was right.
        return Ok(throttled(state, headers, tx, &request, username, blocked, now).await);
    }
    // Take the request once: a double-submitted form issues one code.
    let now = state.clock.now();
    let taken = state
        .store
        .take_pending(&sha256(tx.as_bytes()), now)
        .await
        .map_err(|e| error::unavailable(&e))?;
    if taken.is_none() {
        return Ok(expired_page());
    }
    // A new session id at every sign-in; the old one, if any, ends.
    if let Some(old) = cookies::get(headers, cookies::SESSION) {
        state
            .store
            .end_session(&session::id_hash(&old), now)
            .await
            .map_err(|e| error::unavailable(&e))?;
    }
    let (session_id, row) = session::start(&user.id, now, state.config.session_lifetime_seconds);
    state
        .store
        .insert_session(&row)
        .await
        .map_err(|e| error::unavailable(&e))?;
    // Okta's `lastLogin`: every successful sign-in, not a single sign-on from a session.
    state
        .store
        .record_login(&user.id, now)
        .await
        .map_err(|e| error::unavailable(&e))?;
    state.metrics.login(true);
    let actor = Actor::user(&user, ip.clone());
    let event = Event::success(
        "user.session.start",
        "User login to Gatehouse",
        vec![Target::user(&user)],
    );
    syslog::record(&state.store, &actor, event, now).await;

    let mut response = complete(
        state,
        &request,
        &user.id,
        now,
        now,
        true,
        Known {
            ip,
            ..Known::default()
        },
    )
    .await;
    cookies::append(
        &mut response,
        cookies::set(
            cookies::SESSION,
            &session_id,
            state.config.secure_cookies(),
            None,
        ),
    );
    Ok(response)
}

fn reason(blocked: Blocked) -> &'static str {
    match blocked {
        Blocked::UserAtAddress { .. } => "TOO_MANY_FAILURES: this username from this address",
        Blocked::Address { .. } => "TOO_MANY_FAILURES: this address, across usernames",
    }
}

/// A failure started a block: the System Log gets `security.request.blocked` (Okta's
/// event for a request it refused as suspicious), with which counter blocked and for
/// how long. Once per block, not for every refused attempt in it (those are counted in
/// `/metrics`), so a flood of refused guesses cannot flood the log. Okta's
/// `user.account.lock` would say the account is locked, which it is not: the same
/// username signs in from elsewhere.
async fn block_started(
    state: &AppState,
    username: &str,
    ip: Option<String>,
    started: throttle::BlockStarted,
    now: crate::clock::UnixTime,
) {
    let event = Event::failure(
        "security.request.blocked",
        "Sign-in attempts throttled after repeated failures",
        reason(started.blocked),
        vec![],
    )
    .with_debug("retryAfterSeconds", started.blocked.retry_after(now))
    .with_debug("failures", started.failures);
    syslog::record(&state.store, &Actor::unknown_user(username, ip), event, now).await;
}

/// The answer to a throttled sign-in: the form again, 429 Too Many Requests (RFC 6585
/// §4) with `Retry-After`, saying how long to wait, the same for every username.
/// Counted in `/metrics`; the System Log heard of the block when it started.
async fn throttled(
    state: &AppState,
    headers: &HeaderMap,
    tx: &str,
    request: &AuthorizationRequest,
    username: &str,
    blocked: Blocked,
    now: crate::clock::UnixTime,
) -> Response {
    let wait = blocked.retry_after(now);
    state.metrics.login(false);
    state.metrics.throttled(crate::metrics::Throttled::SignIn);
    let message = format!(
        "Too many failed sign-in attempts. Wait {} and try again.",
        match wait {
            ..=1 => "1 second".to_string(),
            2..120 => format!("{wait} seconds"),
            _ => format!("{} minutes", (wait + 59) / 60),
        }
    );
    let mut response = form_with(
        state,
        headers,
        tx,
        request,
        username,
        StatusCode::TOO_MANY_REQUESTS,
        Some(&message),
    )
    .await;
    if let Ok(value) = axum::http::HeaderValue::from_str(&wait.to_string()) {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}
