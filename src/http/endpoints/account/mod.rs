//! `/account`: the person's own page (Okta's end-user dashboard as the guide): their
//! profile, their apps, their password, their sessions with "sign out everywhere", and
//! their recent sign-in activity. Server-rendered HTML with the pages' CSP and no
//! script; every form carries the double-submit CSRF token.
//!
//! Signing in to the page is signing in to the built-in account app
//! (`admin::account_app`) through the org server's `/authorize` (`sign_in`), so what
//! applies to an app's sign-in applies here; its callback binds the page to the
//! browser's session with the `gh_account` cookie, sealed with the master key, which
//! holds the stored hash of that session. The page then answers for as long as the
//! browser's session cookie names that very session (`flows::account::signed_in`).

mod forms;
mod page;
mod sign_in;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::crypto::{b64url, b64url_decode};
use crate::flows::account::{self, Account};
use crate::http::{AppState, SharedState, cookies};
use crate::oauth::OAuthError;

/// The cookie that binds the page to a session: only under `/account`.
const BINDING_COOKIE: &str = "gh_account";
const BINDING_CONTEXT: &[u8] = b"gatehouse account binding v1";

/// The page's routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/account", get(page::show))
        .route("/account/signin", get(sign_in::start))
        .route(
            crate::admin::account_app::CALLBACK_PATH,
            get(sign_in::callback),
        )
        .route("/account/profile", post(forms::profile))
        .route("/account/password", post(forms::password))
        .route("/account/sessions", post(forms::sign_out_everywhere))
        .route("/account/sessions/end", post(forms::sign_out_session))
        .route("/account/account.css", get(stylesheet))
}

/// A cookie of the page's own, under `/account` only.
fn account_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> String {
    let mut cookie =
        format!("{name}={value}; Path=/account; HttpOnly; SameSite=Lax; Max-Age={max_age}");
    if state.config.secure_cookies() {
        cookie.push_str("; Secure");
    }
    cookie
}

/// Binds the page to the session stored as `id_hash` (the cookie lives as long as a
/// session may).
fn bind(state: &AppState, response: &mut Response, id_hash: &[u8]) {
    let sealed = b64url(&state.master.encrypt(id_hash, BINDING_CONTEXT));
    let age = state.config.session_lifetime_seconds;
    cookies::append(
        response,
        account_cookie(state, BINDING_COOKIE, &sealed, age),
    );
}

/// The session hash the browser's binding cookie holds, if it is one this server sealed.
fn bound(state: &AppState, headers: &HeaderMap) -> Option<Vec<u8>> {
    let sealed = b64url_decode(&cookies::get(headers, BINDING_COOKIE)?)?;
    state.master.decrypt(&sealed, BINDING_CONTEXT).ok()
}

/// For the account's pages beside `/account` (`/account/passkeys`, `/account/factors`):
/// the person this browser is signed in to the account page as, under the same
/// binding, so those pages answer exactly when `/account` does.
pub(in crate::http::endpoints) async fn bound_account(
    state: &AppState,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<Account>, OAuthError> {
    current(state, headers, now).await
}

/// Where one of those pages (`page`, its path) sends a browser that is not signed in
/// to the account page, or whose sign-in is too old for the page (`again`: the
/// password is asked even with a live session): the account app's sign-in, which
/// returns to `page`.
pub(in crate::http::endpoints) fn sign_in_to(
    state: &AppState,
    again: bool,
    page: &str,
) -> Response {
    sign_in::begin_for(state, again, None, Some(page))
}

/// The person this browser's page is for, if it is signed in to the page.
async fn current(
    state: &AppState,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<Account>, OAuthError> {
    let session = cookies::get(headers, cookies::SESSION);
    let bound = bound(state, headers);
    account::signed_in(state, session.as_deref(), bound.as_deref(), now).await
}

/// The page's own layout, on top of the hosted pages' stylesheet; served from here so
/// the pages' CSP (`style-src 'self'`) holds.
const ACCOUNT_CSS: &str = include_str!("../../../../assets/account.css");

async fn stylesheet() -> Response {
    let mut response = ACCOUNT_CSS.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
