//! `/account/passkeys`: a signed-in person's passkeys (`flows::passkeys::manage`). The
//! list, with a form each to rename and to remove; "Add a passkey" runs the browser's
//! registration through the page's script (`/account/passkeys/options` for the
//! creation options, then a plain form post of the answer). Every form carries the
//! double-submit CSRF token; every change needs a recent sign-in. The page answers
//! under the account page's binding (`account::bound_account`), as `/account` does: a
//! browser not signed in to the account page is sent to its sign-in, which returns
//! here, and a change without it is refused (401).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::authorize::redirect;
use super::passkey_login::{json, json_error};
use crate::clock::UnixTime;
use crate::flows::passkeys::manage::{self, Account, Added, RegistrationResponse};
use crate::http::extract::{Body, OAuthRejection, PeerAddr, form_params};
use crate::http::{AppState, SharedState, cookies, error, pages};
use crate::oauth::OAuthError;
use crate::oauth::params::Params;

const PATH: &str = "/account/passkeys";

fn not_signed_in() -> Response {
    pages::error(
        StatusCode::UNAUTHORIZED,
        "Sign in first",
        "You are not signed in. Sign in to Gatehouse, then open this page again to manage your passkeys.",
        None,
    )
}

fn not_recent() -> Response {
    pages::error(
        StatusCode::FORBIDDEN,
        "Sign in again",
        "For your security, changing your passkeys needs a recent sign-in. Sign in again, then come back to this page.",
        None,
    )
}

fn forged() -> Response {
    pages::error(
        StatusCode::FORBIDDEN,
        "Request refused",
        "The form could not be verified. Go back, reload the page and try again.",
        None,
    )
}

/// The person, under the account page's binding (`account::bound_account`): this page
/// answers exactly when `/account` does.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    now: UnixTime,
) -> Result<Option<Account>, OAuthError> {
    Ok(super::account::bound_account(state, headers, now)
        .await?
        .map(|a| Account {
            session: a.session,
            user: a.user,
        }))
}

/// The page, with `message` (an error) when the last step failed.
async fn page(
    state: &AppState,
    headers: &HeaderMap,
    account: &Account,
    status: StatusCode,
    message: Option<&str>,
    now: UnixTime,
) -> Result<Response, OAuthError> {
    let passkeys = manage::list(state, &account.user.id).await?;
    let rows: Vec<pages::PasskeyRow> = passkeys
        .iter()
        .map(|p| pages::PasskeyRow {
            id: p.id.clone(),
            name: p.name.clone(),
            created: pages::date(p.created_at),
            last_used: p.last_used_at.map(pages::date),
            synced: p.backed_up,
        })
        .collect();
    let csrf = cookies::csrf_token(headers);
    let page = pages::AccountPasskeysPage {
        login: &account.user.login,
        csrf: &csrf,
        passkeys: &rows,
        recent: account.recent(now),
        error: message,
    };
    let mut response = pages::render(status, &page);
    cookies::append(
        &mut response,
        cookies::set(cookies::CSRF, &csrf, state.config.secure_cookies(), None),
    );
    Ok(response)
}

pub async fn get(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    let now = state.clock.now();
    let result = match signed_in(&state, &headers, now).await {
        Ok(Some(account)) => page(&state, &headers, &account, StatusCode::OK, None, now).await,
        // Not signed in to the account page: its sign-in, back to this page.
        Ok(None) => Ok(super::account::sign_in_to(&state, false, PATH)),
        Err(e) => Err(e),
    };
    result.unwrap_or_else(|e| error::page(&e))
}

/// The form of a change: parsed, no parameter repeated, its CSRF token right.
fn change_form(
    headers: &HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Result<Option<Params>, OAuthError> {
    let params = body
        .map_err(|OAuthRejection(e)| e)
        .and_then(|Body(b)| form_params(headers, &b))?;
    if let Some(name) = params.first_repeated() {
        return Err(OAuthError::invalid_request(format!(
            "The '{}' parameter was given more than once.",
            name.chars().take(64).collect::<String>()
        )));
    }
    let csrf = params.one("csrf")?.unwrap_or("");
    Ok(cookies::csrf_matches(headers, csrf).then_some(params))
}

/// What a change needs: a valid form, a session, a recent sign-in.
async fn changing(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Body, OAuthRejection>,
    now: UnixTime,
) -> Result<(Params, Account), Response> {
    let params = match change_form(headers, body) {
        Ok(Some(params)) => params,
        Ok(None) => return Err(forged()),
        Err(e) => return Err(error::page(&e)),
    };
    match signed_in(state, headers, now).await {
        Ok(Some(account)) if account.recent(now) => Ok((params, account)),
        Ok(Some(_)) => Err(not_recent()),
        Ok(None) => Err(not_signed_in()),
        Err(e) => Err(error::page(&e)),
    }
}

/// `POST /account/passkeys/options`: the creation options (JSON) for a new passkey.
pub async fn options(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let now = state.clock.now();
    let (_, account) = match changing(&state, &headers, body, now).await {
        Ok(found) => found,
        Err(page) => {
            let status = page.status();
            return json(status, serde_json::json!({ "error": status.as_u16() }));
        }
    };
    match manage::creation_options(&state, &account, ip.as_deref(), now).await {
        Ok(options) => json(StatusCode::OK, options),
        Err(e) => json_error(&e),
    }
}

/// `POST /account/passkeys`: the browser's registration answer.
pub async fn add(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let now = state.clock.now();
    let (params, account) = match changing(&state, &headers, body, now).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let field = |name| params.one(name).ok().flatten().unwrap_or("").to_string();
    let response = RegistrationResponse {
        client_data_json: field("client_data_json"),
        attestation_object: field("attestation_object"),
        transports: field("transports"),
        resident_key: field("resident_key"),
        name: field("name"),
    };
    let result = match manage::register(&state, &account, &response, ip, now).await {
        Ok(Added::Added(_)) => Ok(redirect(PATH, true)),
        Ok(Added::Refused(_)) => {
            let message = "The passkey could not be added. Try again.";
            page(
                &state,
                &headers,
                &account,
                StatusCode::BAD_REQUEST,
                Some(message),
                now,
            )
            .await
        }
        Ok(Added::Duplicate) => {
            let message = "That passkey is registered already.";
            page(
                &state,
                &headers,
                &account,
                StatusCode::CONFLICT,
                Some(message),
                now,
            )
            .await
        }
        Err(e) => Err(e),
    };
    result.unwrap_or_else(|e| error::page(&e))
}

/// `POST /account/passkeys/{id}/rename`: a new `name`.
pub async fn rename(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let now = state.clock.now();
    let (params, account) = match changing(&state, &headers, body, now).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let name = params.one("name").ok().flatten().unwrap_or("");
    match manage::rename(&state, &account, &id, name).await {
        Ok(true) => redirect(PATH, true),
        Ok(false) => unknown(),
        Err(e) => error::page(&e),
    }
}

/// `POST /account/passkeys/{id}/delete`.
pub async fn remove(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let now = state.clock.now();
    let (_, account) = match changing(&state, &headers, body, now).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    match manage::remove(&state, &account, &id, ip, now).await {
        Ok(true) => redirect(PATH, true),
        Ok(false) => unknown(),
        Err(e) => error::page(&e),
    }
}

/// Not one of this person's passkeys (another's, or gone): the same answer either way.
fn unknown() -> Response {
    pages::error(
        StatusCode::NOT_FOUND,
        "Passkey not found",
        "That passkey is not one of yours, or it was removed already.",
        None,
    )
}
