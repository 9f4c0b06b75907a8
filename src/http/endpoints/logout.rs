//! `/oauth2/{server}/v1/logout`, GET and POST (OpenID Connect RP-Initiated Logout 1.0):
//! `flows::logout` decides and ends the session; this extracts the parameters, the
//! session cookie and the CSRF check, then redirects or renders the signed-out,
//! confirmation or error page.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::authorize::redirect;
use super::find_server;
use crate::flows::federation;
use crate::flows::logout::{self, LogoutRequest};
use crate::http::extract::{Body, OAuthRejection, ServerId, form_params, query_params};
use crate::http::{AppState, SharedState};
use crate::http::{cookies, error, middleware, pages};
use crate::oauth::logout::{LogoutOutcome, Method};
use crate::oauth::params::Params;
use crate::store::{AuthServer, Client};

pub async fn get(
    State(state): State<SharedState>,
    ServerId(server_id): ServerId,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match query_params(query.as_deref()) {
        Ok(params) => handle(&state, &server_id, &headers, params, false).await,
        Err(e) => error::page(&e),
    }
}

pub async fn post(
    State(state): State<SharedState>,
    ServerId(server_id): ServerId,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let params = body
        .map_err(|OAuthRejection(e)| e)
        .and_then(|Body(b)| form_params(&headers, &b));
    match params {
        Ok(params) => handle(&state, &server_id, &headers, params, true).await,
        Err(e) => error::page(&e),
    }
}

async fn handle(
    state: &AppState,
    server_id: &str,
    headers: &HeaderMap,
    raw: Params,
    after_post: bool,
) -> Response {
    let now = state.clock.now();
    let server = match find_server(state, server_id).await {
        Ok(server) => server,
        Err(e) => return e.page(),
    };
    let cookie = cookies::get(headers, cookies::SESSION);
    let method = if after_post {
        // A repeated `csrf` is refused by the flow, before this answer counts.
        let form = raw.one("csrf").ok().flatten().unwrap_or("");
        Method::Post {
            csrf_ok: cookies::csrf_matches(headers, form),
        }
    } else {
        Method::Get
    };
    let request = LogoutRequest {
        server: &server,
        params: &raw,
        session_cookie: cookie.as_deref(),
        method,
    };
    let answer = match logout::logout(state, &request, now).await {
        Ok(answer) => answer,
        Err(e) => return error::page(&e),
    };
    let frontchannel = &answer.frontchannel;
    // Signed in at an identity provider that is to be signed out of too: there next
    // (after the apps' front-channel frames), and back to `/sso/logout/callback`.
    if let Some(upstream) = &answer.upstream {
        if frontchannel.is_empty() {
            return signed_out(state, redirect(upstream, after_post));
        }
        let page = pages::SignedOutPage {
            back: None,
            frontchannel,
            next: Some(upstream),
        };
        return signed_out(state, with_frames(page, frontchannel));
    }
    match answer.outcome {
        LogoutOutcome::Redirect { uri } if frontchannel.is_empty() => {
            signed_out(state, redirect(&uri, after_post))
        }
        LogoutOutcome::Redirect { uri } => {
            let page = pages::SignedOutPage {
                back: None,
                frontchannel,
                next: Some(&uri),
            };
            signed_out(state, with_frames(page, frontchannel))
        }
        LogoutOutcome::SignedOut => {
            let home = answer.client.as_ref().and_then(pages::app_home);
            let back = answer.client.as_ref().zip(home.as_deref());
            let page = pages::SignedOutPage {
                back: back.map(|(c, home)| (c.name.as_str(), home)),
                frontchannel,
                next: None,
            };
            signed_out(state, with_frames(page, frontchannel))
        }
        LogoutOutcome::Confirm => {
            let login = answer.user.as_ref().map(|u| u.login.as_str());
            confirm(state, &server, headers, answer.client.as_ref(), login)
        }
        LogoutOutcome::Error(e) => error::page(&e),
    }
}

/// The signed-out page, whose CSP lets it frame exactly the origins of the apps'
/// front-channel logout URIs (`frame-src`), and nothing when there are none.
fn with_frames(page: pages::SignedOutPage<'_>, frontchannel: &[String]) -> Response {
    let mut response = pages::render(StatusCode::OK, &page);
    let mut sources: Vec<String> = frontchannel
        .iter()
        .filter_map(|uri| middleware::form_source(uri))
        .filter(|s| s.starts_with("http"))
        .collect();
    sources.sort();
    sources.dedup();
    if !sources.is_empty() {
        middleware::allow_frames(&mut response, &sources);
    }
    response
}

/// `/sso/logout/callback`: back from an identity provider's logout, on to the app's
/// `post_logout_redirect_uri` sealed in `state`; without a state this server sealed
/// (or after it expired), the signed-out page.
pub async fn upstream_done(
    State(state): State<SharedState>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match query_params(query.as_deref()) {
        Ok(params) => params,
        Err(e) => return error::page(&e),
    };
    let sealed = params.one("state").ok().flatten();
    match federation::logout_continuation(&state, sealed, state.clock.now()) {
        Some(next) => redirect(&next, false),
        None => pages::render(
            StatusCode::OK,
            &pages::SignedOutPage {
                back: None,
                frontchannel: &[],
                next: None,
            },
        ),
    }
}

/// Clears the session cookie on a response that follows a sign-out.
fn signed_out(state: &AppState, mut response: Response) -> Response {
    cookies::end_session(&mut response, state.config.secure_cookies());
    response
}

/// RP-Initiated Logout §4: "Sign out of Gatehouse?", a form that POSTs back here with
/// the double-submit CSRF token.
fn confirm(
    state: &AppState,
    server: &AuthServer,
    headers: &HeaderMap,
    client: Option<&Client>,
    signed_in_as: Option<&str>,
) -> Response {
    let csrf = cookies::csrf_token(headers);
    let action = format!("{}/logout", state.endpoint_base(server));
    let cancel = client.and_then(pages::app_origin);
    let page = pages::LogoutConfirmPage {
        action: &action,
        csrf: &csrf,
        app_name: client.map(|c| c.name.as_str()),
        signed_in_as,
        client_id: client.map(|c| c.client_id.as_str()),
        cancel: cancel.as_deref().unwrap_or("/"),
    };
    let mut response = pages::render(StatusCode::OK, &page);
    cookies::append(
        &mut response,
        cookies::set(cookies::CSRF, &csrf, state.config.secure_cookies(), None),
    );
    response
}
