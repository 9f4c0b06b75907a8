//! `/login/sessionCookieRedirect?token=…&redirectUrl=…`: Okta's hop that turns a
//! `sessionToken` from `/api/v1/authn` into the browser's session cookie, then sends
//! the browser on. `flows::sessions::cookie_redirect` decides; a `redirectUrl` that is
//! not on a trusted origin, and a token that is unknown, expired or already used, get
//! an HTML error page, never a redirect and never a session.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::authorize::redirect;
use crate::flows::sessions::{self, CookieRedirect};
use crate::http::extract::{PeerAddr, query_params, user_agent};
use crate::http::{SharedState, cookies, error, pages};
use crate::identity::session::Device;

pub async fn get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    PeerAddr(ip): PeerAddr,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match query_params(query.as_deref()) {
        Ok(params) => params,
        Err(e) => return error::page(&e),
    };
    // A repeated parameter is as good as none.
    let token = params.one("token").ok().flatten();
    let redirect_url = params.one("redirectUrl").ok().flatten();
    let now = state.clock.now();
    let old = cookies::get(&headers, cookies::SESSION);
    let device = Device::new(user_agent(&headers), ip);
    let outcome =
        sessions::cookie_redirect(&state, token, redirect_url, old.as_deref(), &device, now).await;
    match outcome {
        Ok(CookieRedirect::SignedIn { cookie, location }) => {
            let mut response = redirect(&location, false);
            cookies::start_session(&mut response, &cookie, state.config.secure_cookies());
            response
        }
        Ok(CookieRedirect::Untrusted) => pages::error(
            StatusCode::BAD_REQUEST,
            "Sign-in refused",
            "The address to return to after signing in is not one this server trusts. \
             Return to the application and sign in again.",
            Some("invalid_request"),
        ),
        Ok(CookieRedirect::InvalidToken) => pages::error(
            StatusCode::UNAUTHORIZED,
            "Sign-in expired",
            "This sign-in link has expired or was already used. Return to the application \
             and sign in again.",
            None,
        ),
        Err(e) => error::page(&e),
    }
}
