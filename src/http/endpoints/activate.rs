//! `/activate` (RFC 8628 §3.3, the `verification_uri`): the user enters the code their
//! device shows, signs in if this browser has no session, and allows or denies the
//! app. `flows::activate` decides; this renders. Every form is a POST with the
//! double-submit CSRF token, as the sign-in and consent pages; `?user_code=` (the
//! `verification_uri_complete`) only fills the field in, the user still presses Next.
//! Plain HTML under the pages' CSP (no inline script or style).

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::flows::activate::{self, Answer, Answered, Lookup, Shown, SignedIn, Waiting};
use crate::http::extract::{Body, OAuthRejection, PeerAddr, form_params, query_params};
use crate::http::{AppState, SharedState};
use crate::http::{cookies, error, pages};
use crate::identity::session::Device;
use crate::oauth::OAuthError;
use crate::oauth::params::Params;

const UNKNOWN: &str = "That code is not right. Check the code on your device and try again.";

pub async fn get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = query_params(query.as_deref()).unwrap_or_default();
    let typed = params.one("user_code").ok().flatten().unwrap_or("");
    // Only what could be a code is written back into the field.
    let typed: String = typed.chars().take(64).collect();
    code_form(&state, &headers, &typed, StatusCode::OK, None)
}

pub async fn post(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let params = match body
        .map_err(|OAuthRejection(e)| e)
        .and_then(|Body(b)| form_params(&headers, &b))
    {
        Ok(params) => params,
        Err(e) => return error::page(&e),
    };
    match step(&state, &headers, &params, ip).await {
        Ok(response) => response,
        Err(e) => error::page(&e),
    }
}

async fn step(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    ip: Option<String>,
) -> Result<Response, OAuthError> {
    if let Some(name) = params.first_repeated() {
        return Err(OAuthError::invalid_request(format!(
            "The '{}' parameter was given more than once.",
            name.chars().take(64).collect::<String>()
        )));
    }
    if !cookies::csrf_matches(headers, params.one("csrf")?.unwrap_or("")) {
        return Ok(pages::error(
            StatusCode::FORBIDDEN,
            "Request refused",
            "The form could not be verified. Go back, reload the page and try again.",
            None,
        ));
    }
    let typed = params.required("user_code")?;
    let now = state.clock.now();
    let cookie = cookies::get(headers, cookies::SESSION);
    let cookie = cookie.as_deref();
    Ok(match params.required("step")? {
        "code" => match activate::show(state, typed, cookie, ip.as_deref(), now).await? {
            Shown::Confirm { waiting, login } => confirm(state, headers, &waiting, &login),
            Shown::SignIn(waiting) => sign_in_form(state, headers, &waiting, "", None),
            Shown::Gone(lookup) => gone(state, headers, typed, lookup),
        },
        "sign_in" => {
            let username = params.one("username")?.unwrap_or("");
            let password = params.one("password")?.unwrap_or("");
            let device = Device::new(crate::http::extract::user_agent(headers), ip);
            let outcome =
                activate::sign_in(state, typed, username, password, cookie, &device, now).await?;
            match outcome {
                SignedIn::Yes {
                    session_id,
                    login,
                    waiting,
                } => {
                    let mut response = confirm(state, headers, &waiting, &login);
                    let secure = state.config.secure_cookies();
                    cookies::start_session(&mut response, &session_id, secure);
                    response
                }
                SignedIn::Failed(waiting) => {
                    let message = "Sign-in failed: the username or password is not right.";
                    let mut response =
                        sign_in_form(state, headers, &waiting, username, Some(message));
                    *response.status_mut() = StatusCode::UNAUTHORIZED;
                    response
                }
                SignedIn::LockedOut(waiting) => {
                    let message = super::login::ACCOUNT_LOCKED;
                    let mut response =
                        sign_in_form(state, headers, &waiting, username, Some(message));
                    *response.status_mut() = StatusCode::UNAUTHORIZED;
                    response
                }
                SignedIn::Throttled { waiting, wait } => {
                    let message = format!(
                        "Too many failed sign-in attempts. Wait {} and try again.",
                        seconds(wait)
                    );
                    let response = sign_in_form(state, headers, &waiting, username, Some(&message));
                    retry_after(response, wait)
                }
                SignedIn::Gone(lookup) => gone(state, headers, typed, lookup),
            }
        }
        "decide" => {
            let allow = match params.required("decision")? {
                "allow" => true,
                "deny" => false,
                _ => {
                    return Err(OAuthError::invalid_request(
                        "The decision must be allow or deny.",
                    ));
                }
            };
            let answer = Answer {
                user_code: typed,
                allow,
                session_cookie: cookie,
                ip,
            };
            match activate::answer(state, &answer, now).await? {
                Answered::Approved { app_name } => done(
                    StatusCode::OK,
                    "Device connected",
                    &format!(
                        "{app_name} is now connected. Return to your device: it will continue by itself."
                    ),
                ),
                Answered::Denied { app_name } => done(
                    StatusCode::OK,
                    "Device not connected",
                    &format!("You denied {app_name} access. Your device will not be signed in."),
                ),
                Answered::Refused { app_name, error } => done(
                    StatusCode::FORBIDDEN,
                    "Access denied",
                    &format!(
                        "{app_name} cannot be connected for you: {}",
                        error.description
                    ),
                ),
                Answered::NotSignedIn => code_form(
                    state,
                    headers,
                    typed,
                    StatusCode::UNAUTHORIZED,
                    Some("Your session has ended. Enter the code again to sign in."),
                ),
                Answered::Gone(lookup) => gone(state, headers, typed, lookup),
            }
        }
        _ => {
            return Err(OAuthError::invalid_request(
                "The step is not one of this page's.",
            ));
        }
    })
}

/// The code did not lead to a waiting request: the form again for a wrong code, a
/// clear page for an expired or used one.
fn gone(state: &AppState, headers: &HeaderMap, typed: &str, lookup: Lookup) -> Response {
    match lookup {
        Lookup::Unknown => code_form(
            state,
            headers,
            typed,
            StatusCode::BAD_REQUEST,
            Some(UNKNOWN),
        ),
        Lookup::Throttled { wait } => {
            let message = format!(
                "Too many wrong codes. Wait {} and try again.",
                seconds(wait)
            );
            let response = code_form(
                state,
                headers,
                typed,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&message),
            );
            retry_after(response, wait)
        }
        Lookup::Expired => done(
            StatusCode::BAD_REQUEST,
            "Code expired",
            "This code has expired. Start again on your device to get a new one.",
        ),
        Lookup::Used | Lookup::Found(_) => done(
            StatusCode::BAD_REQUEST,
            "Code already used",
            "This code has already been used. Start again on your device to get a new one.",
        ),
    }
}

fn code_form(
    state: &AppState,
    headers: &HeaderMap,
    typed: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let csrf = cookies::csrf_token(headers);
    let page = pages::ActivatePage {
        csrf: &csrf,
        user_code: typed,
        error,
    };
    with_csrf(state, pages::render(status, &page), &csrf)
}

fn sign_in_form(
    state: &AppState,
    headers: &HeaderMap,
    waiting: &Waiting,
    username: &str,
    error: Option<&str>,
) -> Response {
    let csrf = cookies::csrf_token(headers);
    let page = pages::ActivateSignInPage {
        app_name: &waiting.client.name,
        user_code: &waiting.user_code,
        csrf: &csrf,
        username,
        error,
    };
    with_csrf(state, pages::render(StatusCode::OK, &page), &csrf)
}

fn confirm(state: &AppState, headers: &HeaderMap, waiting: &Waiting, login: &str) -> Response {
    let csrf = cookies::csrf_token(headers);
    let not_you = pages::logout_path(&waiting.device.server_id, &waiting.client.client_id);
    let page = pages::ActivateConfirmPage {
        app_name: &waiting.client.name,
        user_code: &waiting.user_code,
        csrf: &csrf,
        scopes: &waiting.scopes,
        signed_in_as: login,
        not_you: &not_you,
    };
    with_csrf(state, pages::render(StatusCode::OK, &page), &csrf)
}

fn done(status: StatusCode, title: &str, message: &str) -> Response {
    pages::render(status, &pages::ActivateDonePage { title, message })
}

fn with_csrf(state: &AppState, mut response: Response, csrf: &str) -> Response {
    cookies::append(
        &mut response,
        cookies::set(cookies::CSRF, csrf, state.config.secure_cookies(), None),
    );
    response
}

/// RFC 6585 §4: 429 Too Many Requests with `Retry-After`.
fn retry_after(mut response: Response, wait: i64) -> Response {
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn seconds(wait: i64) -> String {
    match wait {
        ..=1 => "1 second".to_string(),
        2..120 => format!("{wait} seconds"),
        _ => format!("{} minutes", (wait + 59) / 60),
    }
}
