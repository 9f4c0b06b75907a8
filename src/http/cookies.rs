//! The two cookies Gatehouse sets: the session id and the sign-in form's CSRF token.
//! Both HttpOnly and SameSite=Lax; Secure when the public URL is https.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

pub const SESSION: &str = "gh_session";
pub const CSRF: &str = "gh_csrf";

/// The value of cookie `name` in the request, if sent once.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for header in headers.get_all(COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                if k == name && !v.is_empty() {
                    found = Some(v.to_string());
                }
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
