//! The hosted pages' stylesheet and icon, and their scripts (the password field's
//! show/hide, passkeys, the form_post auto-submit, the front-channel logout page's onward step): files, so the pages' CSP needs no inline code. Every page names the icon, so no
//! browser asks for a `/favicon.ico` that is not there.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("../../../assets/gatehouse.css");
const FORM_POST_JS: &str = include_str!("../../../assets/form_post.js");
const FRONTCHANNEL_JS: &str = include_str!("../../../assets/frontchannel.js");
const PASSWORD_JS: &str = include_str!("../../../assets/password.js");
const PASSKEY_JS: &str = include_str!("../../../assets/passkey.js");
const FAVICON: &str = include_str!("../../../assets/favicon.svg");

pub async fn get(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "gatehouse.css" => (CSS, "text/css; charset=utf-8"),
        "form_post.js" => (FORM_POST_JS, "text/javascript; charset=utf-8"),
        "frontchannel.js" => (FRONTCHANNEL_JS, "text/javascript; charset=utf-8"),
        "password.js" => (PASSWORD_JS, "text/javascript; charset=utf-8"),
        "passkey.js" => (PASSKEY_JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => (FAVICON, "image/svg+xml"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
