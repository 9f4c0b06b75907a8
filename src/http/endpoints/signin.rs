//! The second-factor step of sign-in (`flows::mfa`): `/signin/verify` (a code from an
//! enrolled method), `/signin/enroll` (set up a first factor when one is required and
//! the person has none) and `/signin/continue` (after the new recovery codes were
//! shown). Plain HTML forms with the double-submit CSRF token of the sign-in page; a
//! wrong code is the page again (401), too many are throttled (429 with
//! `Retry-After`), and a verified one starts a new session and answers the app.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::authorize;
use crate::flows::assurance::PendingVerify;
use crate::flows::email_factor;
use crate::flows::factors::{self, TotpEnrollment};
use crate::flows::mfa::{self, Step, StepRequest};
use crate::http::extract::{Body, OAuthRejection, PeerAddr, form_params, query_params};
use crate::http::{AppState, SharedState};
use crate::http::{cookies, error, middleware, pages};
use crate::oauth::OAuthError;
use crate::oauth::params::Params;
use crate::store::{User, UserFactor};

const WRONG_CODE: &str = "That code is not right, or was used already. Try the next one.";

fn expired_page() -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "Sign-in expired",
        "This sign-in page has expired or was already used. Return to the application and sign in again.",
        None,
    )
}

fn throttled_message(wait: i64) -> String {
    format!(
        "Too many wrong codes. Wait {} and try again.",
        match wait {
            ..=1 => "1 second".to_string(),
            2..120 => format!("{wait} seconds"),
            _ => format!("{} minutes", (wait + 59) / 60),
        }
    )
}

fn resend_message(wait: i64) -> String {
    format!(
        "A code was sent a moment ago. Check your inbox, or wait {} before asking for another.",
        match wait {
            ..=1 => "1 second".to_string(),
            _ => format!("{wait} seconds"),
        }
    )
}

async fn app_name(state: &AppState, client_id: &str) -> String {
    match state.store.get_client(client_id).await {
        Ok(Some(client)) => client.name,
        _ => client_id.to_string(),
    }
}

/// The `tx` of a GET, or `None` (the expired page).
fn tx_of(query: Option<&str>) -> Result<Option<String>, OAuthError> {
    let params = query_params(query)?;
    Ok(params.one("tx").ok().flatten().map(str::to_string))
}

/// A page of the step, with its CSRF cookie and the app's redirect URI allowed as a
/// form target (a verified code is answered with a redirect to the app).
fn finish_page(
    state: &AppState,
    mut response: Response,
    csrf: &str,
    pending: &PendingVerify,
) -> Response {
    middleware::allow_form_target(&mut response, &pending.verify.reply.redirect_uri);
    cookies::append(
        &mut response,
        cookies::set(cookies::CSRF, csrf, state.config.secure_cookies(), None),
    );
    response
}

#[allow(clippy::too_many_arguments)]
async fn verify_page(
    state: &AppState,
    headers: &HeaderMap,
    tx: &str,
    pending: &PendingVerify,
    user: &User,
    status: StatusCode,
    message: Option<&str>,
    notice: Option<&str>,
) -> Result<Response, OAuthError> {
    let methods = mfa::methods(state, &user.id).await?;
    let names: Vec<&str> = methods.iter().map(|m| m.name()).collect();
    let email_to = match methods.contains(&mfa::Method::Email) {
        true => email_factor::active(state, &user.id)
            .await?
            .and_then(|f| f.email)
            .map(|e| email_factor::masked(&e))
            .unwrap_or_default(),
        false => String::new(),
    };
    let csrf = cookies::csrf_token(headers);
    let name = app_name(state, &pending.verify.client_id).await;
    let page = pages::VerifyPage {
        app_name: &name,
        login: &user.login,
        tx,
        csrf: &csrf,
        methods: &names,
        error: message,
        email_to: &email_to,
        notice,
    };
    Ok(finish_page(
        state,
        pages::render(status, &page),
        &csrf,
        pending,
    ))
}

#[allow(clippy::too_many_arguments)]
async fn enroll_page(
    state: &AppState,
    headers: &HeaderMap,
    tx: &str,
    pending: &PendingVerify,
    enrollment: &TotpEnrollment,
    status: StatusCode,
    message: Option<&str>,
) -> Response {
    let csrf = cookies::csrf_token(headers);
    let name = app_name(state, &pending.verify.client_id).await;
    // Codes by e-mail go to the person's primary address only.
    let email_to = match state.mail.enabled() {
        true => match state.store.get_user(&pending.user_id).await {
            Ok(Some(user)) => user.email.as_deref().map(email_factor::masked),
            _ => None,
        },
        false => None,
    };
    let page = pages::EnrollPage {
        app_name: &name,
        action: "/signin/enroll",
        tx,
        csrf: &csrf,
        factor_id: &enrollment.factor.id,
        qr_svg: &enrollment.qr_svg,
        secret: &enrollment.secret,
        error: message,
        passkey: true,
        passkey_only: pending.phishing_resistant,
        email_to: email_to.as_deref(),
    };
    finish_page(state, pages::render(status, &page), &csrf, pending)
}

/// The code sent to a new e-mail factor, to turn it on in the step.
#[allow(clippy::too_many_arguments)]
async fn email_code_page(
    state: &AppState,
    headers: &HeaderMap,
    tx: &str,
    pending: &PendingVerify,
    factor: &UserFactor,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let csrf = cookies::csrf_token(headers);
    let name = app_name(state, &pending.verify.client_id).await;
    let to = email_factor::masked(factor.email.as_deref().unwrap_or_default());
    let page = pages::EmailCodePage {
        app_name: &name,
        action: "/signin/enroll",
        tx,
        csrf: &csrf,
        factor_id: &factor.id,
        to: &to,
        error,
        notice,
    };
    finish_page(state, pages::render(status, &page), &csrf, pending)
}

fn retry_after(mut response: Response, wait: i64) -> Response {
    if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

pub async fn get_verify(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let answer = async {
        let Some(tx) = tx_of(query.as_deref())? else {
            return Ok(expired_page());
        };
        match mfa::pending(&state, &tx, state.clock.now()).await? {
            Some((pending, user)) if !pending.verified => {
                verify_page(
                    &state,
                    &headers,
                    &tx,
                    &pending,
                    &user,
                    StatusCode::OK,
                    None,
                    None,
                )
                .await
            }
            _ => Ok(expired_page()),
        }
    };
    answer.await.unwrap_or_else(|e| error::page(&e))
}

pub async fn get_enroll(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let answer = async {
        let Some(tx) = tx_of(query.as_deref())? else {
            return Ok(expired_page());
        };
        let now = state.clock.now();
        Ok(match mfa::enrollment(&state, &tx, now).await? {
            Some((pending, enrollment)) => {
                enroll_page(
                    &state,
                    &headers,
                    &tx,
                    &pending,
                    &enrollment,
                    StatusCode::OK,
                    None,
                )
                .await
            }
            None => expired_page(),
        })
    };
    answer.await.unwrap_or_else(|e: OAuthError| error::page(&e))
}

/// Which form was posted.
#[derive(Clone, Copy)]
enum Form {
    Verify,
    Enroll,
    Continue,
}

pub async fn post_verify(
    state: State<SharedState>,
    ip: PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    post(state, ip, headers, body, Form::Verify).await
}

pub async fn post_enroll(
    state: State<SharedState>,
    ip: PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    post(state, ip, headers, body, Form::Enroll).await
}

pub async fn post_continue(
    state: State<SharedState>,
    ip: PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    post(state, ip, headers, body, Form::Continue).await
}

async fn post(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
    form: Form,
) -> Response {
    let params = match body
        .map_err(|OAuthRejection(e)| e)
        .and_then(|Body(b)| form_params(&headers, &b))
    {
        Ok(params) => params,
        Err(e) => return error::page(&e),
    };
    match answer(&state, &headers, &params, ip, form).await {
        Ok(response) => response,
        Err(e) => error::page(&e),
    }
}

async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    ip: Option<String>,
    form: Form,
) -> Result<Response, OAuthError> {
    let tx = params.required("tx")?;
    let csrf_form = params.one("csrf")?.unwrap_or("");
    if !cookies::csrf_matches(headers, csrf_form) {
        return Ok(pages::error(
            StatusCode::FORBIDDEN,
            "Sign-in refused",
            "The form could not be verified. Go back, reload the page and try again.",
            None,
        ));
    }
    let now = state.clock.now();
    let cookie = cookies::get(headers, cookies::SESSION);
    let step = StepRequest {
        tx,
        params,
        session_cookie: cookie.as_deref(),
        ip,
        user_agent: crate::http::extract::user_agent(headers),
    };
    let outcome = match form {
        Form::Verify => mfa::verify(state, &step, now).await?,
        Form::Enroll => mfa::enroll(state, &step, now).await?,
        Form::Continue => mfa::resume(state, &step, now).await?,
    };
    Ok(match outcome {
        Step::Expired => expired_page(),
        Step::Failed { pending, user } => {
            again(
                state,
                headers,
                tx,
                params,
                &pending,
                &user,
                form,
                StatusCode::UNAUTHORIZED,
                WRONG_CODE,
            )
            .await?
        }
        Step::Throttled {
            pending,
            user,
            wait,
        } => {
            let message = throttled_message(wait);
            let page = again(
                state,
                headers,
                tx,
                params,
                &pending,
                &user,
                form,
                StatusCode::TOO_MANY_REQUESTS,
                &message,
            )
            .await?;
            retry_after(page, wait)
        }
        Step::CodeSent {
            pending,
            user,
            to,
            wait: None,
        } => {
            let notice = format!("We sent a code to {to}. It is valid for 5 minutes.");
            verify_page(
                state,
                headers,
                tx,
                &pending,
                &user,
                StatusCode::OK,
                None,
                Some(&notice),
            )
            .await?
        }
        Step::CodeSent {
            pending,
            user,
            wait: Some(wait),
            ..
        } => {
            let message = resend_message(wait);
            let page = verify_page(
                state,
                headers,
                tx,
                &pending,
                &user,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&message),
                None,
            )
            .await?;
            retry_after(page, wait)
        }
        Step::EmailPending {
            pending,
            user: _,
            factor,
            wait,
        } => {
            let message = wait.map(resend_message);
            let notice = wait.is_none().then_some("We sent a code.");
            let status = match wait {
                Some(_) => StatusCode::TOO_MANY_REQUESTS,
                None => StatusCode::OK,
            };
            let page = email_code_page(
                state,
                headers,
                tx,
                &pending,
                &factor,
                status,
                message.as_deref(),
                notice,
            )
            .await;
            match wait {
                Some(wait) => retry_after(page, wait),
                None => page,
            }
        }
        Step::Unmet(outcome) => authorize::render(outcome, true),
        Step::Enrolled { tx, codes } => {
            let csrf = cookies::csrf_token(headers);
            let page = pages::RecoveryCodesPage {
                codes: &codes,
                action: "/signin/continue",
                tx: &tx,
                csrf: &csrf,
            };
            let mut response = pages::render(StatusCode::OK, &page);
            // The next form is answered with a redirect to the app.
            if let Ok(Some((pending, _))) = mfa::pending(state, &tx, now).await {
                middleware::allow_form_target(&mut response, &pending.verify.reply.redirect_uri);
            }
            cookies::append(
                &mut response,
                cookies::set(cookies::CSRF, &csrf, state.config.secure_cookies(), None),
            );
            response
        }
        Step::Done {
            session_id,
            outcome,
        } => {
            let mut response = authorize::render(outcome, true);
            cookies::start_session(&mut response, &session_id, state.config.secure_cookies());
            response
        }
    })
}

/// The page the form came from, again, with `message`.
#[allow(clippy::too_many_arguments)]
async fn again(
    state: &AppState,
    headers: &HeaderMap,
    tx: &str,
    params: &Params,
    pending: &PendingVerify,
    user: &User,
    form: Form,
    status: StatusCode,
    message: &str,
) -> Result<Response, OAuthError> {
    match form {
        Form::Enroll if params.one("method")? == Some("email") => {
            let factor_id = params.one("factor_id")?.unwrap_or("");
            Ok(match email_factor::pending(state, user, factor_id).await? {
                Some(factor) => {
                    email_code_page(
                        state,
                        headers,
                        tx,
                        pending,
                        &factor,
                        status,
                        Some(message),
                        None,
                    )
                    .await
                }
                None => expired_page(),
            })
        }
        Form::Enroll if params.one("method")? == Some("webauthn") => {
            let message = "The passkey was not set up. Try again, or choose another way.";
            Ok(match mfa::enrollment(state, tx, state.clock.now()).await? {
                Some((pending, enrollment)) => {
                    enroll_page(
                        state,
                        headers,
                        tx,
                        &pending,
                        &enrollment,
                        status,
                        Some(message),
                    )
                    .await
                }
                None => expired_page(),
            })
        }
        Form::Enroll => {
            let factor_id = params.one("factor_id")?.unwrap_or("");
            Ok(match factors::pending_totp(state, user, factor_id).await? {
                Some(enrollment) => {
                    enroll_page(
                        state,
                        headers,
                        tx,
                        pending,
                        &enrollment,
                        status,
                        Some(message),
                    )
                    .await
                }
                None => expired_page(),
            })
        }
        Form::Verify | Form::Continue => {
            verify_page(
                state,
                headers,
                tx,
                pending,
                user,
                status,
                Some(message),
                None,
            )
            .await
        }
    }
}
