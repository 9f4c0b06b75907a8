//! Server-rendered pages (askama: checked at compile time, escaped by default).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub app_name: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

/// The consent page: the scopes that need the user's agreement, with their
/// descriptions; Allow and Don't allow post back with the double-submit CSRF token.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub app_name: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    pub scopes: &'a [(String, String)],
}

/// RP-Initiated Logout §4: asks before ending the session; the form carries the
/// double-submit CSRF token.
#[derive(Template)]
#[template(path = "logout_confirm.html")]
pub struct LogoutConfirmPage<'a> {
    pub action: &'a str,
    pub csrf: &'a str,
    pub app_name: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    description: &'a str,
    error_code: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPostPage<'a> {
    action: &'a str,
    fields: &'a [(String, String)],
}

pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub fn error(
    status: StatusCode,
    title: &str,
    description: &str,
    error_code: Option<&str>,
) -> Response {
    render(
        status,
        &ErrorPage {
            title,
            description,
            error_code,
        },
    )
}

/// The form_post response mode page. Its CSP lets the form go to the client's
/// redirect URI's origin and nowhere else; the auto-submit script is a file from this
/// server, not inline.
pub fn form_post(action: &str, fields: &[(String, String)]) -> Response {
    let mut response = render(StatusCode::OK, &FormPostPage { action, fields });
    let form_action = crate::http::middleware::form_source(action).unwrap_or("'none'".into());
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}
