//! `/oauth2/{server}/v1/authorize`, GET and POST (RFC 6749 §4.1.1, OpenID Connect Core
//! §3.1.2): `flows::authorize` decides; this extracts the parameters and the session
//! cookie, and renders the outcome (an error page, the reply to the client, or the
//! sign-in or consent page).

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::find_server;
use crate::flows::authorize::{self, AuthorizeRequest, Outcome};
use crate::http::extract::{Body, OAuthRejection, PeerAddr, ServerId, form_params, query_params};
use crate::http::{AppState, SharedState};
use crate::http::{cookies, error, pages};
use crate::oauth::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::reply::Reply;

pub async fn get(
    State(state): State<SharedState>,
    ServerId(server_id): ServerId,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match query_params(query.as_deref()) {
        Ok(params) => handle(&state, &server_id, &headers, params, false, ip).await,
        Err(e) => error::page(&e),
    }
}

pub async fn post(
    State(state): State<SharedState>,
    ServerId(server_id): ServerId,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let params = body
        .map_err(|OAuthRejection(e)| e)
        .and_then(|Body(b)| form_params(&headers, &b));
    match params {
        Ok(params) => handle(&state, &server_id, &headers, params, true, ip).await,
        Err(e) => error::page(&e),
    }
}

async fn handle(
    state: &AppState,
    server_id: &str,
    headers: &HeaderMap,
    params: Params,
    after_post: bool,
    ip: Option<String>,
) -> Response {
    let now = state.clock.now();
    let server = match find_server(state, server_id).await {
        Ok(server) => server,
        Err(e) => return e.page(),
    };
    let cookie = cookies::get(headers, cookies::SESSION);
    let request = AuthorizeRequest {
        server: &server,
        params,
        session_cookie: cookie.as_deref(),
        ip,
        user_agent: crate::http::extract::user_agent(headers).map(str::to_string),
    };
    let (outcome, new_session) = authorize::authorize(state, request, now).await;
    let mut response = render(outcome, after_post);
    // A `sessionToken` started a session: the browser keeps it, as after the sign-in page.
    if let Some(session_id) = new_session {
        cookies::start_session(&mut response, &session_id, state.config.secure_cookies());
    }
    response
}

/// An outcome of `flows::authorize` as the browser gets it.
pub fn render(outcome: Outcome, after_post: bool) -> Response {
    match outcome {
        Outcome::Page(e) => error::page(&e),
        Outcome::Reply(reply) => render_reply(reply, after_post),
        Outcome::Redirect(location) => redirect(&location, after_post),
    }
}

/// A redirect (302 after GET, 303 after POST so the browser follows with GET) or the
/// form_post page.
pub fn render_reply(reply: Reply, after_post: bool) -> Response {
    match reply {
        Reply::Redirect(url) => redirect(&url, after_post),
        Reply::FormPost { action, fields } => pages::form_post(&action, &fields),
    }
}

pub fn redirect(location: &str, after_post: bool) -> Response {
    let status = if after_post {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::FOUND
    };
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = status.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        // A URL the url crate produced is always a valid header value; stay safe anyway.
        Err(_) => error::page(&OAuthError::server_error()),
    }
}
