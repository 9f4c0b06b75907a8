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
use crate::flows::federation;
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
pub(super) async fn form_with(
    state: &AppState,
    headers: &HeaderMap,
    tx: &str,
    request: &AuthorizationRequest,
    username: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    form_step(state, headers, tx, request, username, status, error, false).await
}

/// The form; with IdP discovery on, it asks for the username alone first unless
/// `password_step` (the username stayed here, or the password was wrong).
#[allow(clippy::too_many_arguments)]
async fn form_step(
    state: &AppState,
    headers: &HeaderMap,
    tx: &str,
    request: &AuthorizationRequest,
    username: &str,
    status: StatusCode,
    error: Option<&str>,
    password_step: bool,
) -> Response {
    let routing = federation::routes_away(state, &request.server_id)
        .await
        .unwrap_or(false);
    let ask_password = password_step || !routing;
    let (providers, endpoints) = idp_buttons(state, tx).await;
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
        ask_password,
        providers: &providers,
    };
    let mut response = pages::render(status, &page);
    // A right password is answered with a redirect to the client; with IdP discovery,
    // a username may be answered with one to a provider.
    if routing {
        let mut targets = vec![request.reply.redirect_uri.as_str()];
        targets.extend(endpoints.iter().map(String::as_str));
        middleware::allow_form_targets(&mut response, &targets);
    } else {
        middleware::allow_form_target(&mut response, &request.reply.redirect_uri);
    }
    cookies::append(
        &mut response,
        cookies::set(cookies::CSRF, &csrf, state.config.secure_cookies(), None),
    );
    response
}

/// "Sign in with …" for each active identity provider, resuming `tx` there; and their
/// authorization endpoints.
async fn idp_buttons(state: &AppState, tx: &str) -> (Vec<pages::IdpButton>, Vec<String>) {
    let providers = federation::buttons(state).await.unwrap_or_default();
    let endpoints = providers
        .iter()
        .map(|p| p.authorization_endpoint.clone())
        .collect();
    let tx = percent_encoding::utf8_percent_encode(tx, percent_encoding::NON_ALPHANUMERIC);
    let buttons = providers
        .into_iter()
        .map(|p| pages::IdpButton {
            href: format!("/sso/idps/{}?tx={tx}", p.id),
            label: p
                .button_label
                .clone()
                .unwrap_or_else(|| format!("Sign in with {}", p.name)),
            id: p.id,
        })
        .collect();
    (buttons, endpoints)
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
            form_with(&state, &headers, tx, &request, &hint, StatusCode::OK, None).await
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
        SignIn::Failed(request) => {
            let status = StatusCode::UNAUTHORIZED;
            let error = Some(SIGN_IN_FAILED);
            form_step(state, headers, tx, &request, username, status, error, true).await
        }
        SignIn::LockedOut(request) => {
            let status = StatusCode::UNAUTHORIZED;
            let error = Some(ACCOUNT_LOCKED);
            form_step(state, headers, tx, &request, username, status, error, true).await
        }
        SignIn::Password { request, username } => {
            let status = StatusCode::OK;
            form_step(state, headers, tx, &request, &username, status, None, true).await
        }
        SignIn::Upstream(location) => authorize::redirect(&location, true),
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
    let mut response = form_step(
        state,
        headers,
        tx,
        request,
        username,
        StatusCode::TOO_MANY_REQUESTS,
        Some(&message),
        true,
    )
    .await;
    if let Ok(value) = axum::http::HeaderValue::from_str(&wait.to_string()) {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}
