//! `/oauth2/{server}/v1/logout`, GET and POST (OpenID Connect RP-Initiated Logout 1.0).
//! Verifies the `id_token_hint` with this server's keys, looks up the client and the
//! browser's session, lets `oauth::logout::decide` choose, then ends the session and
//! redirects, or renders the signed-out, confirmation or error page.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::authorize::{current_session, redirect};
use super::find_server;
use crate::app::{AppState, SharedState};
use crate::clock::UnixTime;
use crate::http::extract::{Body, OAuthRejection, ServerId, form_params, query_params};
use crate::http::{cookies, error, pages};
use crate::identity::session;
use crate::oauth::OAuthError;
use crate::oauth::logout::{
    self, HintClaims, HintUnverified, LogoutInput, LogoutOutcome, LogoutParams, Method,
    VerifiedHint,
};
use crate::oauth::params::Params;
use crate::store::{AuthServer, Client};
use crate::tokens::jwt;

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
    let server = match find_server(state, server_id).await {
        Ok(server) => server,
        Err(e) => return e.page(),
    };
    match respond(state, &server, headers, &raw, after_post).await {
        Ok(response) => response,
        Err(e) => error::page(&e),
    }
}

async fn respond(
    state: &AppState,
    server: &AuthServer,
    headers: &HeaderMap,
    raw: &Params,
    after_post: bool,
) -> Result<Response, OAuthError> {
    let now = state.clock.now();
    let params = LogoutParams::parse(raw)?;
    let hint = match params.id_token_hint.as_deref() {
        Some(token) => Some(verify_hint(state, server, token, now).await?),
        None => None,
    };
    // The client the hint was issued to, else the one `client_id` names.
    let client_id = match &hint {
        Some(Ok(h)) => Some(h.claims.aud.as_str()),
        Some(Err(_)) => None,
        None => params.client_id.as_deref(),
    };
    let client = match client_id {
        Some(id) => state
            .store
            .get_client(id)
            .await
            .map_err(|e| error::unavailable(&e))?,
        None => None,
    };
    let session = current_session(state, headers, now).await?;
    let method = if after_post {
        Method::Post {
            csrf_ok: cookies::csrf_matches(headers, raw.one("csrf")?.unwrap_or("")),
        }
    } else {
        Method::Get
    };
    let issuer = state.issuer(server);
    let outcome = logout::decide(&LogoutInput {
        params: &params,
        hint,
        issuer: &issuer,
        client: client.as_ref(),
        session_user: session.as_ref().map(|s| s.user_id.as_str()),
        method,
        now,
    });
    Ok(match outcome {
        LogoutOutcome::Redirect { uri } => {
            end_session(state, headers, now).await?;
            signed_out(state, redirect(&uri, after_post))
        }
        LogoutOutcome::SignedOut => {
            end_session(state, headers, now).await?;
            let home = client.as_ref().and_then(pages::app_home);
            let back = client.as_ref().zip(home.as_deref());
            let page = pages::SignedOutPage {
                back: back.map(|(c, home)| (c.name.as_str(), home)),
            };
            signed_out(state, pages::render(StatusCode::OK, &page))
        }
        LogoutOutcome::Confirm => {
            let user = match &session {
                Some(s) => state
                    .store
                    .get_user(&s.user_id)
                    .await
                    .map_err(|e| error::unavailable(&e))?,
                None => None,
            };
            let login = user.as_ref().map(|u| u.login.as_str());
            confirm(state, server, headers, client.as_ref(), login)
        }
        LogoutOutcome::Error(e) => {
            tracing::info!(event = "user.session.end", outcome = "FAILURE", reason = %e, "logout refused");
            error::page(&e)
        }
    })
}

/// The hint verified with this server's current keys (RP-Initiated Logout §2: the OP
/// must have issued it). Its claims are checked by `decide`.
async fn verify_hint(
    state: &AppState,
    server: &AuthServer,
    token: &str,
    now: UnixTime,
) -> Result<Result<VerifiedHint, HintUnverified>, OAuthError> {
    let ring = state
        .keys
        .for_token(&server.id, token, now)
        .await
        .map_err(|e| error::keys(&e))?;
    Ok(jwt::verify::<HintClaims>(token, &ring)
        .map(|(typ, claims)| VerifiedHint { typ, claims })
        .map_err(|_| HintUnverified))
}

/// Ends the session the browser's cookie names, whoever it belongs to: it is this
/// browser's, and the user asked (or the hint's client did, for this user).
async fn end_session(
    state: &AppState,
    headers: &HeaderMap,
    now: UnixTime,
) -> Result<(), OAuthError> {
    if let Some(cookie) = cookies::get(headers, cookies::SESSION) {
        state
            .store
            .end_session(&session::id_hash(&cookie), now)
            .await
            .map_err(|e| error::unavailable(&e))?;
        tracing::info!(
            event = "user.session.end",
            outcome = "SUCCESS",
            "signed out"
        );
    }
    Ok(())
}

/// Clears the session cookie on a response that follows a sign-out.
fn signed_out(state: &AppState, mut response: Response) -> Response {
    cookies::append(
        &mut response,
        cookies::set(cookies::SESSION, "", state.config.secure_cookies(), Some(0)),
    );
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
