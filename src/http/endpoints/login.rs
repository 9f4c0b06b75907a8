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

use super::authorize;
use crate::flows::login::{self, SignIn, SignInRequest};
use crate::http::extract::{Body, OAuthRejection, PeerAddr, form_params, query_params};
use crate::http::{AppState, SharedState};
use crate::http::{cookies, error, middleware, pages};
use crate::oauth::OAuthError;
use crate::oauth::authorize::AuthorizationRequest;
use crate::oauth::params::Params;

const SIGN_IN_FAILED: &str = "Sign-in failed: the username or password is not right.";
/// A LOCKED_OUT account, shown only when the password policy shows lockout failures.
pub(super) const ACCOUNT_LOCKED: &str = "Your account is locked because of too many failed sign-in \
    attempts. Reset your password, or ask your administrator to unlock it.";

pub(super) fn expired_page() -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "Sign-in expired",
        "This sign-in page has expired or was already used. Return to the application and sign in again.",
        None,
    )
}

/// A sign-in form whose CSRF token does not match the browser's cookie.
pub(super) fn refused_page() -> Response {
    pages::error(
        StatusCode::FORBIDDEN,
        "Sign-in refused",
        "The sign-in form could not be verified. Go back, reload the page and try again.",
        None,
    )
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

pub(super) async fn form_with(
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
    let forgot = state.mail.enabled().then(|| {
        format!(
            "/signin/forgot-password?tx={}",
            percent_encoding::utf8_percent_encode(tx, percent_encoding::NON_ALPHANUMERIC)
        )
    });
    let page = pages::LoginPage {
        app_name: &name,
        tx,
        csrf: &csrf,
        username,
        error,
        forgot_password: forgot.as_deref(),
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
    match login::pending(&state, tx, state.clock.now()).await {
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
        return Ok(refused_page());
    }
    let now = state.clock.now();
    let cookie = cookies::get(headers, cookies::SESSION);
    let request = SignInRequest {
        tx,
        params,
        session_cookie: cookie.as_deref(),
        ip,
        user_agent: crate::http::extract::user_agent(headers),
    };
    let outcome = login::sign_in(state, &request, now).await?;
    // The flow has read the form: these parse.
    let username = params.one("username").ok().flatten().unwrap_or("").trim();
    Ok(match outcome {
        SignIn::Expired => expired_page(),
        SignIn::Failed(request) => form(state, headers, tx, &request, username, true).await,
        SignIn::LockedOut(request) => {
            form_with(
                state,
                headers,
                tx,
                &request,
                username,
                StatusCode::UNAUTHORIZED,
                Some(ACCOUNT_LOCKED),
            )
            .await
        }
        SignIn::Throttled { request, wait } => {
            throttled(state, headers, tx, &request, username, wait).await
        }
        SignIn::SecondFactor(location) => {
            authorize::render(crate::flows::authorize::Outcome::Redirect(location), true)
        }
        SignIn::SignedIn {
            session_id,
            outcome,
        } => {
            let mut response = authorize::render(outcome, true);
            cookies::start_session(&mut response, &session_id, state.config.secure_cookies());
            response
        }
    })
}

/// The answer to a throttled sign-in: the form again, 429 Too Many Requests (RFC 6585
/// §4) with `Retry-After`, saying how long to wait, the same for every username.
/// Counted in `/metrics` by the flow; the System Log heard of the block when it started.
async fn throttled(
    state: &AppState,
    headers: &HeaderMap,
    tx: &str,
    request: &AuthorizationRequest,
    username: &str,
    wait: i64,
) -> Response {
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
