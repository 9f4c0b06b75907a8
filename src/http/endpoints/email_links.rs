//! The pages of e-mailed links (`flows::email_links` decides): "Forgot password?"
//! (`/signin/forgot-password`), the reset link (`/signin/reset-password/{token}`), the
//! activation link (`/welcome/{token}`) and the address confirmation link
//! (`/signin/verify-email/{token}`). Every form is a POST with the double-submit CSRF
//! token; opening a link changes nothing (a mail scanner that fetches it uses nothing
//! up). Without `[smtp]` "Forgot password?" does not exist (404); an activation link
//! handed out by the API (`sendEmail=false`) works either way.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::flows::email_links::{self, Forgot, SetPassword};
use crate::http::extract::{Body, OAuthRejection, PeerAddr, form_params, query_params};
use crate::http::{AppState, SharedState};
use crate::http::{cookies, pages};
use crate::identity::password::MIN_PASSWORD;
use crate::oauth::params::Params;
use crate::store::LinkPurpose;

const GONE: &str = "This link has expired or was already used. Ask for a new one.";

fn not_found() -> Response {
    pages::error(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page.",
        None,
    )
}

fn refused() -> Response {
    pages::error(
        StatusCode::FORBIDDEN,
        "Request refused",
        "The form could not be verified. Go back, reload the page and try again.",
        None,
    )
}

fn bad_form() -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "Request refused",
        "The form was not filled in as expected. Go back and try again.",
        None,
    )
}

fn with_csrf(state: &AppState, mut response: Response, csrf: &str) -> Response {
    cookies::append(
        &mut response,
        cookies::set(cookies::CSRF, csrf, state.config.secure_cookies(), None),
    );
    response
}

/// Why a posted form was not taken.
enum FormRefused {
    /// Not a form, or a field given twice.
    Malformed,
    /// The CSRF token does not match the cookie's.
    Forged,
}

impl FormRefused {
    fn page(self) -> Response {
        match self {
            FormRefused::Malformed => bad_form(),
            FormRefused::Forged => refused(),
        }
    }
}

/// The posted form, once each field appears at most once and the CSRF token matches.
fn checked_form(
    headers: &HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Result<Params, FormRefused> {
    let params = body
        .map_err(|_| FormRefused::Malformed)
        .and_then(|Body(b)| form_params(headers, &b).map_err(|_| FormRefused::Malformed))?;
    if params.first_repeated().is_some() {
        return Err(FormRefused::Malformed);
    }
    let csrf = params.one("csrf").ok().flatten().unwrap_or("");
    if !cookies::csrf_matches(headers, csrf) {
        return Err(FormRefused::Forged);
    }
    Ok(params)
}

/// A sign-in transaction id as carried along: only what could be one.
fn tx_of(text: Option<&str>) -> Option<String> {
    text.filter(|t| {
        !t.is_empty()
            && t.len() <= 128
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
    .map(str::to_string)
}

fn sign_in_path(tx: Option<&str>) -> Option<String> {
    tx.map(|tx| format!("/login?tx={tx}"))
}

fn forgot_form(
    state: &AppState,
    headers: &HeaderMap,
    tx: Option<&str>,
    username: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let csrf = cookies::csrf_token(headers);
    let back = sign_in_path(tx);
    let page = pages::ForgotPasswordPage {
        csrf: &csrf,
        tx,
        username,
        error,
        back: back.as_deref(),
    };
    with_csrf(state, pages::render(status, &page), &csrf)
}

pub async fn forgot_get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if !state.mail.enabled() {
        return not_found();
    }
    let params = query_params(query.as_deref()).unwrap_or_default();
    let tx = tx_of(params.one("tx").ok().flatten());
    forgot_form(&state, &headers, tx.as_deref(), "", StatusCode::OK, None)
}

pub async fn forgot_post(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    if !state.mail.enabled() {
        return not_found();
    }
    let params = match checked_form(&headers, body) {
        Ok(params) => params,
        Err(why) => return why.page(),
    };
    let tx = tx_of(params.one("tx").ok().flatten());
    let username: String = params
        .one("username")
        .ok()
        .flatten()
        .unwrap_or("")
        .chars()
        .take(256)
        .collect();
    if username.trim().is_empty() {
        return forgot_form(
            &state,
            &headers,
            tx.as_deref(),
            "",
            StatusCode::BAD_REQUEST,
            Some("Enter your username."),
        );
    }
    let now = state.clock.now();
    match email_links::forgot(&state, &username, tx.as_deref(), ip.as_deref(), now).await {
        Ok(Forgot::Accepted) => {
            let back = sign_in_path(tx.as_deref());
            pages::render(
                StatusCode::OK,
                &pages::EmailLinkDonePage {
                    title: "Check your e-mail",
                    message: "If the account exists and has an e-mail address, a link to reset its password is on its way. The link works once, for one hour.",
                    next: back.as_deref(),
                    next_label: "Back to sign in",
                },
            )
        }
        Ok(Forgot::Throttled { wait }) => {
            let message = format!("Too many requests. Wait {wait} seconds and try again.");
            let mut response = forgot_form(
                &state,
                &headers,
                tx.as_deref(),
                &username,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&message),
            );
            if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Err(e) => pages::unavailable(&e),
    }
}

/// What a password link's page says and where it posts.
struct PasswordLink {
    purpose: LinkPurpose,
    title: &'static str,
    button: &'static str,
}

const RESET: PasswordLink = PasswordLink {
    purpose: LinkPurpose::ResetPassword,
    title: "Choose a new password",
    button: "Change password",
};

const WELCOME: PasswordLink = PasswordLink {
    purpose: LinkPurpose::Activate,
    title: "Welcome: choose your password",
    button: "Activate account",
};

fn action(kind: &PasswordLink, token: &str, tx: Option<&str>) -> String {
    let mut path = email_links::link_path(kind.purpose, token);
    if let Some(tx) = tx {
        path.push_str("?tx=");
        path.push_str(tx);
    }
    path
}

fn gone() -> Response {
    pages::render(
        StatusCode::BAD_REQUEST,
        &pages::EmailLinkDonePage {
            title: "Link expired",
            message: GONE,
            next: None,
            next_label: "",
        },
    )
}

async fn password_get(
    state: &AppState,
    kind: &PasswordLink,
    headers: &HeaderMap,
    token: &str,
    query: Option<&str>,
) -> Response {
    let params = query_params(query).unwrap_or_default();
    let tx = tx_of(params.one("tx").ok().flatten());
    match email_links::open(state, kind.purpose, token, state.clock.now()).await {
        Ok(Some((_, user))) => password_form(
            state,
            kind,
            headers,
            token,
            tx.as_deref(),
            &user.login,
            StatusCode::OK,
            None,
        ),
        Ok(None) => gone(),
        Err(e) => pages::unavailable(&e),
    }
}

#[allow(clippy::too_many_arguments)]
fn password_form(
    state: &AppState,
    kind: &PasswordLink,
    headers: &HeaderMap,
    token: &str,
    tx: Option<&str>,
    login: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let csrf = cookies::csrf_token(headers);
    let action = action(kind, token, tx);
    let page = pages::SetPasswordPage {
        title: kind.title,
        button: kind.button,
        action: &action,
        csrf: &csrf,
        login,
        min_length: MIN_PASSWORD,
        error,
    };
    let mut response = with_csrf(state, pages::render(status, &page), &csrf);
    // The link itself is a bearer credential: keep it out of other sites' Referer.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn password_post(
    state: &AppState,
    kind: &PasswordLink,
    ip: Option<String>,
    headers: &HeaderMap,
    token: &str,
    query: Option<&str>,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let params = match checked_form(headers, body) {
        Ok(params) => params,
        Err(why) => return why.page(),
    };
    let tx = tx_of(
        query_params(query)
            .unwrap_or_default()
            .one("tx")
            .ok()
            .flatten(),
    );
    let password = params
        .one("password")
        .ok()
        .flatten()
        .unwrap_or("")
        .to_string();
    let now = state.clock.now();
    match email_links::set_password(state, kind.purpose, token, password, ip.as_deref(), now).await
    {
        Ok(SetPassword::Done(user)) => {
            let next = sign_in_path(tx.as_deref());
            let message = match kind.purpose {
                LinkPurpose::Activate => format!(
                    "Your account {} is active. You can now sign in.",
                    user.login
                ),
                _ => format!(
                    "The password of {} was changed. You can now sign in with it.",
                    user.login
                ),
            };
            pages::render(
                StatusCode::OK,
                &pages::EmailLinkDonePage {
                    title: "Password set",
                    message: &message,
                    next: next.as_deref(),
                    next_label: "Sign in",
                },
            )
        }
        Ok(SetPassword::Refused(reason)) => {
            match email_links::open(state, kind.purpose, token, now).await {
                Ok(Some((_, user))) => password_form(
                    state,
                    kind,
                    headers,
                    token,
                    tx.as_deref(),
                    &user.login,
                    StatusCode::BAD_REQUEST,
                    Some(&reason),
                ),
                Ok(None) => gone(),
                Err(e) => pages::unavailable(&e),
            }
        }
        Ok(SetPassword::Gone) => gone(),
        Err(e) => pages::unavailable(&e),
    }
}

pub async fn reset_get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    password_get(&state, &RESET, &headers, &token, query.as_deref()).await
}

pub async fn reset_post(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    body: Result<Body, OAuthRejection>,
) -> Response {
    password_post(&state, &RESET, ip, &headers, &token, query.as_deref(), body).await
}

pub async fn welcome_get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    password_get(&state, &WELCOME, &headers, &token, query.as_deref()).await
}

pub async fn welcome_post(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    body: Result<Body, OAuthRejection>,
) -> Response {
    password_post(
        &state,
        &WELCOME,
        ip,
        &headers,
        &token,
        query.as_deref(),
        body,
    )
    .await
}

pub async fn verify_get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let now = state.clock.now();
    match email_links::open(&state, LinkPurpose::VerifyEmail, &token, now).await {
        Ok(Some((link, user))) => {
            let csrf = cookies::csrf_token(&headers);
            let action = email_links::link_path(LinkPurpose::VerifyEmail, &token);
            let page = pages::VerifyEmailPage {
                action: &action,
                csrf: &csrf,
                email: link.email.as_deref().unwrap_or(""),
                login: &user.login,
            };
            let mut response = with_csrf(&state, pages::render(StatusCode::OK, &page), &csrf);
            response.headers_mut().insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            response
        }
        Ok(None) => gone(),
        Err(e) => pages::unavailable(&e),
    }
}

pub async fn verify_post(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Result<Body, OAuthRejection>,
) -> Response {
    if let Err(why) = checked_form(&headers, body) {
        return why.page();
    }
    match email_links::verify_email(&state, &token, ip.as_deref(), state.clock.now()).await {
        Ok(true) => pages::render(
            StatusCode::OK,
            &pages::EmailLinkDonePage {
                title: "Address confirmed",
                message: "Thank you: your e-mail address is confirmed.",
                next: None,
                next_label: "",
            },
        ),
        Ok(false) => gone(),
        Err(e) => pages::unavailable(&e),
    }
}
