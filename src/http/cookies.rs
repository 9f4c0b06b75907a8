//! The two cookies Gatehouse sets: the session id and the sign-in form's CSRF token.
//! Both HttpOnly and SameSite=Lax; Secure when the public URL is https.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use crate::crypto::{constant_time_eq, random_token};

pub const SESSION: &str = "gh_session";
pub const CSRF: &str = "gh_csrf";
/// The `state` of a sign-in at an identity provider, kept by the browser that left
/// (`flows::federation`): the return is accepted only with it. SameSite=Lax: the
/// provider's redirect back is a top-level GET navigation, which carries it.
pub const IDP_STATE: &str = "gh_idp_state";

/// The value of cookie `name` in the request, if sent once.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for header in headers.get_all(COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=')
                && k == name
                && !v.is_empty()
            {
                found = Some(v.to_string());
            }
        }
    }
    found
}

/// A `Set-Cookie` value. `max_age` `None` is a browser-session cookie.
pub fn set(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> String {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// Adds a `Set-Cookie` made by `set` to the response.
pub fn append(response: &mut Response, cookie: String) {
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

/// Gives the browser the cookie of a session just started: by the sign-in page, a
/// `sessionToken` at /authorize, or `/login/sessionCookieRedirect`.
pub fn start_session(response: &mut Response, session_id: &str, secure: bool) {
    append(response, set(SESSION, session_id, secure, None));
}

/// Tells the browser to forget its session cookie (the session has ended).
pub fn end_session(response: &mut Response, secure: bool) {
    append(response, set(SESSION, "", secure, Some(0)));
}

/// The double-submit CSRF token for a form: the browser's `gh_csrf` cookie if it has a
/// well-formed one, else a new random token (set it with `append`).
pub fn csrf_token(headers: &HeaderMap) -> String {
    get(headers, CSRF)
        .filter(|c| c.len() == 43)
        .unwrap_or_else(random_token)
}

/// Does the form's token equal the browser's `gh_csrf` cookie? A cross-site form post
/// can send neither the cookie's value nor (SameSite=Lax) the cookie.
pub fn csrf_matches(headers: &HeaderMap, form_token: &str) -> bool {
    let cookie = get(headers, CSRF).unwrap_or_default();
    !cookie.is_empty() && constant_time_eq(form_token.as_bytes(), cookie.as_bytes())
}
