//! Sign-in at an identity provider (`flows::federation`):
//!
//! - `GET /sso/idps/{idpId}` (Okta's URL): off to the provider, resuming the pending
//!   `/authorize` request `tx` (the sign-in page's buttons and routing, `/authorize`
//!   with `idp=`), or returning to `fromURI` (an address on this server or a trusted
//!   origin; `/account` when none is given). An unknown or inactive provider is a 404
//!   page.
//! - `GET /oauth2/v1/authorize/callback`: the provider's answer. A refusal is an HTML
//!   page (never a redirect: nothing about the answer can be trusted yet); a sign-in
//!   ends where a password sign-in would.
//!
//! The departure gives the browser the transaction's `state` in a cookie
//! (`cookies::IDP_STATE`, ten minutes, HttpOnly); the callback clears it.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::authorize::{redirect, render};
use super::login::expired_page;
use crate::flows::authorize::Outcome;
use crate::flows::federation::{self, Callback, CallbackRequest, Refusal, Resume};
use crate::flows::login;
use crate::flows::sessions::trusted_redirect;
use crate::http::extract::{PeerAddr, query_params};
use crate::http::{AppState, SharedState};
use crate::http::{cookies, error, pages};
use crate::oauth::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::reply::Reply;

/// How long the browser keeps the departure's `state` (the transaction's lifetime).
const STATE_COOKIE_SECONDS: i64 = 600;

pub async fn start(
    State(state): State<SharedState>,
    Path(idp_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    match query_params(query.as_deref()) {
        Ok(params) => match depart(&state, &idp_id, &params).await {
            Ok(response) => response,
            Err(e) => error::page(&e),
        },
        Err(e) => error::page(&e),
    }
}

async fn depart(state: &AppState, idp_id: &str, params: &Params) -> Result<Response, OAuthError> {
    let now = state.clock.now();
    let Some(provider) = federation::active_provider(state, idp_id).await? else {
        return Ok(pages::error(
            StatusCode::NOT_FOUND,
            "Identity provider not found",
            "This identity provider does not exist or is not active. Return to the application and sign in again.",
            None,
        ));
    };
    let mut login_hint = params.one("login_hint")?.map(str::to_string);
    let resume = match params.one("tx")? {
        Some(tx) => match login::pending(state, tx, now).await? {
            Some(request) => {
                login_hint = login_hint.or(request.login_hint);
                Resume::Pending(tx.to_string())
            }
            None => return Ok(expired_page()),
        },
        None => match params.one("fromURI")? {
            Some(to) => match local_or_trusted(state, to) {
                Some(to) => Resume::ReturnTo(to),
                None => {
                    return Ok(pages::error(
                        StatusCode::BAD_REQUEST,
                        "Sign-in refused",
                        "The address to return to after signing in is not one of this server's.",
                        Some("invalid_request"),
                    ));
                }
            },
            None => Resume::ReturnTo("/account".into()),
        },
    };
    let departure = federation::depart(state, &provider, resume, login_hint, now).await?;
    let mut response = redirect(&departure.location, false);
    cookies::append(
        &mut response,
        cookies::set(
            cookies::IDP_STATE,
            &departure.state,
            state.config.secure_cookies(),
            Some(STATE_COOKIE_SECONDS),
        ),
    );
    Ok(response)
}

/// `fromURI`: a path on this server, or an absolute URL of this server or a trusted
/// origin (as `/login/sessionCookieRedirect`'s `redirectUrl`).
fn local_or_trusted(state: &AppState, to: &str) -> Option<String> {
    let local = to.starts_with('/')
        && !to.starts_with("//")
        && !to.contains('\\')
        && !to.chars().any(char::is_control)
        && to.len() <= 2048;
    if local {
        return Some(to.to_string());
    }
    trusted_redirect(&state.config, to)
}

pub async fn callback(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut response = match query_params(query.as_deref()) {
        Ok(params) => answer(&state, &headers, &params, ip).await,
        Err(e) => error::page(&e),
    };
    // The transaction is used (or refused): the browser forgets its state.
    cookies::append(
        &mut response,
        cookies::set(
            cookies::IDP_STATE,
            "",
            state.config.secure_cookies(),
            Some(0),
        ),
    );
    response
}

async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    ip: Option<String>,
) -> Response {
    let bound = cookies::get(headers, cookies::IDP_STATE);
    let session = cookies::get(headers, cookies::SESSION);
    let request = CallbackRequest {
        params,
        bound_state: bound.as_deref(),
        session_cookie: session.as_deref(),
        ip,
        user_agent: crate::http::extract::user_agent(headers),
    };
    match federation::callback(state, request, state.clock.now()).await {
        Ok(Callback::Refused(refusal)) => refused(&refusal),
        Ok(Callback::SecondFactor(location)) => redirect(&location, false),
        Ok(Callback::SignedIn {
            session_id,
            outcome,
        }) => {
            let mut response = match outcome {
                // To the app: a page, not a redirect (see `pages::ContinuePage`).
                Outcome::Reply(Reply::Redirect(location)) | Outcome::Redirect(location)
                    if !location.starts_with('/') =>
                {
                    pages::render(
                        StatusCode::OK,
                        &pages::ContinuePage {
                            location: &location,
                        },
                    )
                }
                outcome => render(outcome, false),
            };
            cookies::start_session(&mut response, &session_id, state.config.secure_cookies());
            response
        }
        Err(e) => error::page(&e),
    }
}

/// The page for a refused return: what happened and what to do, never a redirect.
fn refused(refusal: &Refusal) -> Response {
    let (status, title, text, code): (StatusCode, &str, String, Option<&str>) = match refusal {
        Refusal::Expired => (
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in has expired, was already used, or was started in another browser. Return to the application and sign in again.".into(),
            Some("invalid_request"),
        ),
        Refusal::ProviderInactive => (
            StatusCode::BAD_REQUEST,
            "Identity provider not available",
            "The identity provider you signed in with is no longer active here. Return to the application and sign in another way.".into(),
            Some("invalid_request"),
        ),
        Refusal::Declined { error } => (
            StatusCode::FORBIDDEN,
            "Sign-in cancelled",
            format!("The identity provider did not sign you in ({error}). Return to the application to try again."),
            Some("access_denied"),
        ),
        Refusal::Upstream { detail } => (
            StatusCode::BAD_GATEWAY,
            "Identity provider error",
            format!("The sign-in at the identity provider could not be completed: {detail}. Try again later, or ask your administrator."),
            Some("server_error"),
        ),
        Refusal::UserNotActive => (
            StatusCode::FORBIDDEN,
            "Account not active",
            "Your account here is suspended or deactivated. Ask your administrator.".into(),
            Some("access_denied"),
        ),
        Refusal::LinkRefused => (
            StatusCode::FORBIDDEN,
            "Account cannot be linked",
            "An account with this username or e-mail address exists already; it can't be linked to this identity provider automatically. Sign in with your password, or ask your administrator to link the accounts.".into(),
            Some("access_denied"),
        ),
        Refusal::ProvisioningDisabled => (
            StatusCode::FORBIDDEN,
            "No account",
            "You have no account here, and this identity provider does not create one. Ask your administrator for access.".into(),
            Some("access_denied"),
        ),
        Refusal::Profile(detail) => (
            StatusCode::BAD_GATEWAY,
            "Profile not usable",
            format!("The identity provider's profile for you cannot make an account here: {detail}. Ask your administrator."),
            Some("server_error"),
        ),
    };
    pages::error(status, title, &text, code)
}

/// `/sso/idps/buttons.css`: each active provider's button colour (`.idp-{id}`), so the
/// sign-in page needs no inline style (`style-src 'self'`). Only `#rrggbb` colours are
/// written; the text is black or white, whichever contrasts more.
pub async fn buttons_css(State(state): State<SharedState>) -> Response {
    let Ok(providers) = federation::buttons(&state).await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let mut css = String::new();
    for p in providers {
        let Some(color) = p.button_color.as_deref().filter(|c| is_hex_color(c)) else {
            continue;
        };
        if !p.id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            continue;
        }
        let text = if luminance(color) > 0.179 {
            "#000000"
        } else {
            "#ffffff"
        };
        css.push_str(&format!(
            ".idp-{id} {{ background: {color}; border-color: {color}; color: {text}; }}\n",
            id = p.id
        ));
    }
    let mut response = css.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn is_hex_color(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// WCAG's relative luminance of `#rrggbb`.
fn luminance(color: &str) -> f64 {
    let channel = |i: usize| {
        let v = f64::from(u8::from_str_radix(&color[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if v <= 0.03928 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
}
