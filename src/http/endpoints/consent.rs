//! `/consent`: the user agrees (or not) to give an app the scopes whose consent is
//! `REQUIRED` (OpenID Connect Core §3.1.2.4). Reached only from `flows::authorize::complete`
//! for a signed-in user; the pending request is bound to that user's session, taken
//! once, and the form is CSRF-protected like the sign-in page. Allow records the
//! consent and issues the code; Don't allow sends `access_denied` back to the app.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::authorize;
use crate::flows::consent::{self, ConsentAnswer};
use crate::http::extract::{Body, OAuthRejection, PeerAddr, form_params, query_params};
use crate::http::{AppState, SharedState};
use crate::http::{cookies, error, middleware, pages};
use crate::oauth::OAuthError;
use crate::oauth::params::Params;

fn expired_page() -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "Request expired",
        "This page has expired or was already used. Return to the application and sign in again.",
        None,
    )
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
    let cookie = cookies::get(&headers, cookies::SESSION);
    let pending = match consent::pending(&state, cookie.as_deref(), tx, now).await {
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
        Err(e) => return error::page(&OAuthError::from(e)),
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
    let cookie = cookies::get(headers, cookies::SESSION);
    let request = ConsentAnswer {
        tx,
        allow,
        session_cookie: cookie.as_deref(),
        ip,
    };
    Ok(match consent::answer(state, &request, now).await? {
        Some(outcome) => authorize::render(outcome, true),
        None => expired_page(),
    })
}
