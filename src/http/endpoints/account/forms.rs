//! The page's forms: `POST /account/profile`, `/account/password` and
//! `/account/sessions` ("sign out everywhere"). Each checks the double-submit CSRF
//! token first and needs the browser to be signed in to the page; the flow
//! (`flows::account::changes`) decides the rest. A change made is answered with a
//! redirect to the page (303, so a reload does not post again); a refusal with the
//! page and the reason in the form's section; a change that needs a recent sign-in,
//! asked of an older one, with the way to sign in again.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::super::authorize::redirect;
use super::page::{self, Refusal};
use super::{bind, current};
use crate::flows::account::Account;
use crate::flows::account::changes::{self, Change, EDITABLE, NewPassword};
use crate::http::extract::{Body, OAuthRejection, PeerAddr, form_params};
use crate::http::{AppState, SharedState, cookies, error, pages};
use crate::identity::session;
use crate::oauth::OAuthError;
use crate::oauth::params::Params;

/// The form, its CSRF token checked, and the person it is for; or the answer.
async fn checked(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Result<(Params, Account), Response> {
    let params = body
        .map_err(|OAuthRejection(e)| e)
        .and_then(|Body(b)| form_params(headers, &b))
        .map_err(|e| error::page(&e))?;
    let token = params.one("csrf").ok().flatten().unwrap_or("");
    if !cookies::csrf_matches(headers, token) {
        return Err(pages::error(
            StatusCode::FORBIDDEN,
            "Change refused",
            "The form could not be verified. Go back, reload your account page and try again.",
            None,
        ));
    }
    match current(state, headers, state.clock.now()).await {
        Ok(Some(account)) => Ok((params, account)),
        // Not signed in to the page (or no longer): nothing changes; sign in first.
        Ok(None) => Err(redirect("/account/signin", true)),
        Err(e) => Err(error::page(&e)),
    }
}

/// A field of the form (a repeated one is refused by `one`).
fn field<'a>(params: &'a Params, name: &str) -> Result<Option<&'a str>, OAuthError> {
    params.one(name)
}

/// The answer to a change in `section`.
async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    account: &Account,
    section: &'static str,
    outcome: Result<Change, OAuthError>,
) -> Response {
    let (message, status, wait) = match outcome {
        Ok(Change::Done { session_cookie }) => {
            let mut response = redirect(&format!("/account?done={section}#{section}"), true);
            if let Some(cookie) = session_cookie {
                let secure = state.config.secure_cookies();
                cookies::start_session(&mut response, &cookie, secure);
                bind(state, &mut response, &session::id_hash(&cookie));
            }
            return response;
        }
        Ok(Change::SignInAgain) => {
            return redirect(&format!("/account/signin?again={section}"), true);
        }
        Err(e) => return error::page(&e),
        Ok(Change::Invalid(message)) => (message, StatusCode::BAD_REQUEST, None),
        Ok(Change::WrongPassword) => (
            "Your current password is not right.".to_string(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        Ok(Change::Throttled { wait }) => (
            format!(
                "Too many wrong passwords. Wait {} and try again.",
                match wait {
                    ..=1 => "1 second".to_string(),
                    2..120 => format!("{wait} seconds"),
                    _ => format!("{} minutes", (wait + 59) / 60),
                }
            ),
            StatusCode::TOO_MANY_REQUESTS,
            Some(wait),
        ),
    };
    let refusal = Refusal {
        section,
        message: &message,
    };
    let mut response = page::render(state, headers, account, None, Some(refusal), status).await;
    if let Some(wait) = wait {
        // RFC 6585 §4: how long to wait.
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    }
    response
}

/// `POST /account/profile`: `first_name`, `last_name`, `mobile_phone`.
pub async fn profile(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let (params, account) = match checked(&state, &headers, body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let mut form = Vec::new();
    for (_, name, _) in EDITABLE {
        match field(&params, name) {
            Ok(Some(value)) => form.push((*name, Some(value))),
            Ok(None) => {}
            Err(e) => return error::page(&e),
        }
    }
    let now = state.clock.now();
    let outcome = changes::update_profile(&state, &account, &form, ip, now).await;
    answer(&state, &headers, &account, "profile", outcome).await
}

/// `POST /account/password`: `current_password`, `new_password`, `confirm_password`.
pub async fn password(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let (params, account) = match checked(&state, &headers, body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let mut values = [""; 3];
    for (slot, name) in
        values
            .iter_mut()
            .zip(["current_password", "new_password", "confirm_password"])
    {
        match field(&params, name) {
            Ok(value) => *slot = value.unwrap_or(""),
            Err(e) => return error::page(&e),
        }
    }
    let form = NewPassword {
        current: values[0],
        new: values[1],
        confirm: values[2],
    };
    let now = state.clock.now();
    let outcome = changes::change_password(&state, &account, &form, ip, now).await;
    answer(&state, &headers, &account, "password", outcome).await
}

/// `POST /account/sessions/end`: signs out one other session, `session` (its public id).
pub async fn sign_out_session(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let (params, account) = match checked(&state, &headers, body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let id = match params.required("session") {
        Ok(id) => id,
        Err(e) => return error::page(&e),
    };
    let now = state.clock.now();
    let outcome = changes::sign_out_session(&state, &account, id, ip, now).await;
    answer(&state, &headers, &account, "session", outcome).await
}

/// `POST /account/sessions`: signs out every other session; with `apps=yes` revokes
/// every refresh token too.
pub async fn sign_out_everywhere(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let (params, account) = match checked(&state, &headers, body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let apps = match field(&params, "apps") {
        Ok(value) => value == Some("yes"),
        Err(e) => return error::page(&e),
    };
    let now = state.clock.now();
    let outcome = changes::sign_out_everywhere(&state, &account, apps, ip, now).await;
    answer(&state, &headers, &account, "sessions", outcome).await
}
