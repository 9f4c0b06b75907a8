//! Rendering protocol errors: JSON for the token and userinfo endpoints (RFC 6749
//! §5.2), an HTML page for the browser when the client cannot be trusted.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::pages;
use crate::oauth::OAuthError;
use crate::protocol::ErrorResponse;

fn status(e: &OAuthError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST)
}

/// RFC 6749 §5.2 JSON, with `Cache-Control: no-store`, `WWW-Authenticate` for a
/// client that tried Basic, and `Retry-After` when the store is down.
pub fn json(e: &OAuthError) -> Response {
    let body = ErrorResponse {
        error: e.code(),
        error_description: &e.description,
    };
    let mut response = (status(e), Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if e.basic_challenge {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="gatehouse""#),
        );
    }
    if e.status() == 503 {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    if let Some(seconds) = e.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// An error page for the browser, with the status the error carries.
pub fn page(e: &OAuthError) -> Response {
    let title = match e.code.as_str() {
        "temporarily_unavailable" => "Service unavailable",
        "server_error" => "Something went wrong",
        _ => "Request refused",
    };
    // A page is never an authentication challenge: `invalid_client` at /authorize is 400.
    let status = match status(e) {
        StatusCode::UNAUTHORIZED => StatusCode::BAD_REQUEST,
        other => other,
    };
    let mut response = pages::error(status, title, &e.description, Some(e.code()));
    if e.status() == 503 {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}
