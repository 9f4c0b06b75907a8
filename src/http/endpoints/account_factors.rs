//! `/account/factors`: a person manages their own second factors: lists them, sets up
//! an authenticator app (the QR code and the first code), makes new recovery codes
//! (shown once), removes a factor. The page answers under the account page's binding
//! (`account::bound_account`: the browser signed in to `/account` through the account
//! app, in the session it still has), and only while the password was entered recently
//! (`flows::account::RECENT_SIGN_IN_SECONDS`): otherwise a page is sent to the account
//! app's sign-in (`prompt=login` for an old one), which returns here, and a form is
//! refused (401). Every form carries the double-submit CSRF token.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::authorize::redirect;
use crate::admin::syslog::Actor;
use crate::factors;
use crate::flows::email_factor::{self, Binding, Enrolled, Sent};
use crate::flows::factors::{self as factor_flows, Check};
use crate::http::extract::{Body, OAuthRejection, PeerAddr, form_params};
use crate::http::{AppState, SharedState};
use crate::http::{cookies, error, pages};
use crate::oauth::OAuthError;
use crate::oauth::params::Params;
use crate::store::{FactorStatus, User, UserFactor};

fn sign_in_again() -> Response {
    pages::error(
        StatusCode::UNAUTHORIZED,
        "Sign in again",
        "Changing your sign-in factors needs a recent sign-in. Sign in again from your account page, then come back.",
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

/// Whether the browser may use the page: under the account page's binding
/// (`account::bound_account`), with a sign-in recent enough for a sensitive change
/// (`flows::account::Account::recent`).
enum Access {
    Allowed(Box<User>),
    /// Not signed in to the account page.
    NotSignedIn,
    /// Signed in, but the password was entered too long ago.
    NotRecent,
}

async fn access(state: &AppState, headers: &HeaderMap) -> Result<Access, OAuthError> {
    let now = state.clock.now();
    Ok(
        match super::account::bound_account(state, headers, now).await? {
            Some(account) if account.recent(now) => Access::Allowed(Box::new(account.user)),
            Some(_) => Access::NotRecent,
            None => Access::NotSignedIn,
        },
    )
}

async fn user(state: &AppState, headers: &HeaderMap) -> Result<Option<User>, OAuthError> {
    Ok(match access(state, headers).await? {
        Access::Allowed(user) => Some(*user),
        Access::NotSignedIn | Access::NotRecent => None,
    })
}

/// A page (GET) for a browser that may not see it: the account app's sign-in (with
/// the password asked again when the sign-in is too old), back to `/account/factors`.
fn to_sign_in(state: &AppState, access: Access) -> Option<Response> {
    match access {
        Access::Allowed(_) => None,
        Access::NotSignedIn => Some(super::account::sign_in_to(state, false, PAGE)),
        Access::NotRecent => Some(super::account::sign_in_to(state, true, PAGE)),
    }
}

const PAGE: &str = "/account/factors";

/// The form of a POST, its CSRF token checked, and the person; `Err` is the answer.
async fn posted(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Result<(Params, User), Response> {
    let params = body
        .map_err(|OAuthRejection(e)| e)
        .and_then(|Body(b)| form_params(headers, &b))
        .map_err(|e| error::page(&e))?;
    let csrf = params.one("csrf").ok().flatten().unwrap_or("");
    if !cookies::csrf_matches(headers, csrf) {
        return Err(pages::error(
            StatusCode::FORBIDDEN,
            "Request refused",
            "The form could not be verified. Go back, reload the page and try again.",
            None,
        ));
    }
    match user(state, headers).await {
        Ok(Some(user)) => Ok((params, user)),
        Ok(None) => Err(sign_in_again()),
        Err(e) => Err(error::page(&e)),
    }
}

fn label(factor: &UserFactor) -> String {
    match factor.factor_type.as_str() {
        factors::TOTP => "Authenticator app".into(),
        factors::EMAIL => format!(
            "Codes by e-mail to {}",
            factor.email.as_deref().unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

async fn list_page(
    state: &AppState,
    headers: &HeaderMap,
    user: &User,
    notice: Option<&str>,
) -> Result<Response, OAuthError> {
    let found = state.store.user_factors(&user.id).await?;
    let recovery_left = state.store.recovery_codes_left(&user.id).await?;
    let rows: Vec<(String, String, String)> = found
        .iter()
        .map(|f| {
            let status = match f.status {
                FactorStatus::Active => "Active",
                FactorStatus::PendingActivation => "Not finished",
            };
            (f.id.clone(), label(f), status.to_string())
        })
        .collect();
    let offer = user
        .email
        .as_deref()
        .filter(|_| state.mail.enabled())
        .filter(|_| {
            !found
                .iter()
                .any(|f| f.factor_type == factors::EMAIL && f.status == FactorStatus::Active)
        })
        .map(email_factor::masked);
    let csrf = cookies::csrf_token(headers);
    let page = pages::AccountFactorsPage {
        login: &user.login,
        csrf: &csrf,
        factors: &rows,
        has_active: found.iter().any(|f| f.status == FactorStatus::Active),
        has_totp: found
            .iter()
            .any(|f| f.factor_type == factors::TOTP && f.status == FactorStatus::Active),
        email_offer: offer.as_deref(),
        recovery_left,
        notice,
    };
    Ok(with_csrf(
        state,
        pages::render(StatusCode::OK, &page),
        &csrf,
    ))
}

pub async fn list(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    let answer = async {
        match access(&state, &headers).await? {
            Access::Allowed(user) => list_page(&state, &headers, &user, None).await,
            other => Ok(to_sign_in(&state, other).unwrap_or_else(sign_in_again)),
        }
    };
    answer.await.unwrap_or_else(|e| error::page(&e))
}

fn enroll_page(
    state: &AppState,
    headers: &HeaderMap,
    enrollment: &factor_flows::TotpEnrollment,
    status: StatusCode,
    message: Option<&str>,
) -> Response {
    let csrf = cookies::csrf_token(headers);
    let page = pages::EnrollPage {
        app_name: "",
        action: "/account/factors/totp",
        tx: "",
        csrf: &csrf,
        factor_id: &enrollment.factor.id,
        qr_svg: &enrollment.qr_svg,
        secret: &enrollment.secret,
        error: message,
        passkey: false,
        passkey_only: false,
        email_to: None,
    };
    with_csrf(state, pages::render(status, &page), &csrf)
}

/// A new pending TOTP factor to scan (replacing an unfinished one).
pub async fn totp_form(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    let answer = async {
        let user = match access(&state, &headers).await? {
            Access::Allowed(user) => *user,
            other => return Ok(to_sign_in(&state, other).unwrap_or_else(sign_in_again)),
        };
        Ok(
            match factor_flows::enroll_totp(&state, &user, state.clock.now()).await? {
                Some(enrollment) => {
                    enroll_page(&state, &headers, &enrollment, StatusCode::OK, None)
                }
                // One authenticator app per person: remove the old one first.
                None => redirect("/account/factors", false),
            },
        )
    };
    answer.await.unwrap_or_else(|e: OAuthError| error::page(&e))
}

/// The first code turns the factor on; the first factor comes with recovery codes.
pub async fn totp_activate(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let (params, user) = match posted(&state, &headers, body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let answer = async {
        let now = state.clock.now();
        let factor_id = params.required("factor_id")?;
        let code = params.one("code")?.unwrap_or("");
        let first = !factor_flows::has_active_factor(&state, &user.id).await?;
        let check =
            factor_flows::activate_totp(&state, &user, factor_id, code, ip.clone(), now).await?;
        let (status, message) = match check {
            Check::Verified => {
                if !first {
                    return list_page(
                        &state,
                        &headers,
                        &user,
                        Some("Your authenticator app is set up."),
                    )
                    .await;
                }
                let codes = factor_flows::new_recovery_codes(&state, &user, ip, now).await?;
                return Ok(codes_page(&headers, &codes));
            }
            Check::Invalid => (
                StatusCode::UNAUTHORIZED,
                "That code is not right. Try the next one.".to_string(),
            ),
            Check::Throttled { wait } => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many wrong codes. Wait {wait} seconds and try again."),
            ),
        };
        Ok(
            match factor_flows::pending_totp(&state, &user, factor_id).await? {
                Some(enrollment) => {
                    enroll_page(&state, &headers, &enrollment, status, Some(&message))
                }
                None => redirect("/account/factors", true),
            },
        )
    };
    answer.await.unwrap_or_else(|e: OAuthError| error::page(&e))
}

fn codes_page(headers: &HeaderMap, codes: &[String]) -> Response {
    let csrf = cookies::csrf_token(headers);
    let page = pages::RecoveryCodesPage {
        codes,
        action: "/account/factors",
        tx: "",
        csrf: &csrf,
    };
    pages::render(StatusCode::OK, &page)
}

/// New recovery codes, replacing the old ones (for a person with a second factor).
pub async fn recovery_codes(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let (_, user) = match posted(&state, &headers, body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let answer = async {
        if !factor_flows::has_active_factor(&state, &user.id).await? {
            return Ok(redirect("/account/factors", true));
        }
        let codes = factor_flows::new_recovery_codes(&state, &user, ip, state.clock.now()).await?;
        Ok(codes_page(&headers, &codes))
    };
    answer.await.unwrap_or_else(|e: OAuthError| error::page(&e))
}

/// Removes one of the person's factors (another person's id is not found).
pub async fn remove(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    Path(factor_id): Path<String>,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let (_, user) = match posted(&state, &headers, body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let answer = async {
        let actor = Actor::user(&user, ip);
        if !factor_flows::remove(&state, &actor, &user, &factor_id, state.clock.now()).await? {
            return Ok(pages::error(
                StatusCode::NOT_FOUND,
                "Not found",
                "You have no such factor.",
                None,
            ));
        }
        list_page(&state, &headers, &user, Some("The factor was removed.")).await
    };
    answer.await.unwrap_or_else(|e: OAuthError| error::page(&e))
}

fn email_code_page(
    state: &AppState,
    headers: &HeaderMap,
    factor: &UserFactor,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let csrf = cookies::csrf_token(headers);
    let to = email_factor::masked(factor.email.as_deref().unwrap_or_default());
    let page = pages::EmailCodePage {
        app_name: "",
        action: "/account/factors/email/activate",
        tx: "",
        csrf: &csrf,
        factor_id: &factor.id,
        to: &to,
        error,
        notice,
    };
    with_csrf(state, pages::render(status, &page), &csrf)
}

/// Turns on codes by e-mail to the person's primary address: at once when that address
/// is verified, else after the code sent to it comes back.
pub async fn email_enroll(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let (_, user) = match posted(&state, &headers, body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let answer = async {
        let now = state.clock.now();
        let Some(email) = user.email.clone() else {
            return list_page(
                &state,
                &headers,
                &user,
                Some("Your account has no e-mail address to send codes to."),
            )
            .await;
        };
        let first = !factor_flows::has_active_factor(&state, &user.id).await?;
        let verified = email_factor::is_verified_primary(&user, &email);
        let actor = Actor::user(&user, ip.clone());
        match email_factor::enroll(&state, &actor, &user, &email, verified, now).await? {
            Enrolled::Active(_) => email_enabled(&state, &headers, &user, first, ip, now).await,
            Enrolled::Pending(factor) => Ok(email_code_page(
                &state,
                &headers,
                &factor,
                StatusCode::OK,
                None,
                None,
            )),
            Enrolled::Exists => Ok(redirect("/account/factors", true)),
            Enrolled::MailOff => {
                list_page(
                    &state,
                    &headers,
                    &user,
                    Some("E-mail is not set up on this server."),
                )
                .await
            }
        }
    };
    answer.await.unwrap_or_else(|e: OAuthError| error::page(&e))
}

/// The factor is on: the first factor comes with recovery codes.
async fn email_enabled(
    state: &AppState,
    headers: &HeaderMap,
    user: &User,
    first: bool,
    ip: Option<String>,
    now: crate::clock::UnixTime,
) -> Result<Response, OAuthError> {
    if !first {
        return list_page(state, headers, user, Some("Codes by e-mail are on.")).await;
    }
    let codes = factor_flows::new_recovery_codes(state, user, ip, now).await?;
    Ok(codes_page(headers, &codes))
}

/// The code sent to a pending e-mail factor turns it on; `send` asks for a new one.
pub async fn email_activate(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let (params, user) = match posted(&state, &headers, body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let answer = async {
        let now = state.clock.now();
        let factor_id = params.required("factor_id")?;
        let Some(factor) = email_factor::pending(&state, &user, factor_id).await? else {
            return Ok(redirect("/account/factors", true));
        };
        if params.one("send")?.is_some() {
            return Ok(
                match email_factor::send(&state, &user, &factor, Binding::Activation, now).await? {
                    Sent::Sent { .. } => email_code_page(
                        &state,
                        &headers,
                        &factor,
                        StatusCode::OK,
                        None,
                        Some("We sent a new code."),
                    ),
                    Sent::TooSoon { wait } => email_code_page(
                        &state,
                        &headers,
                        &factor,
                        StatusCode::TOO_MANY_REQUESTS,
                        Some(&format!(
                            "A code was sent a moment ago. Wait {wait} seconds before asking for another."
                        )),
                        None,
                    ),
                    Sent::Unavailable => redirect("/account/factors", true),
                },
            );
        }
        let code = params.one("code")?.unwrap_or("");
        let first = !factor_flows::has_active_factor(&state, &user.id).await?;
        let (status, message) = match email_factor::activate(
            &state,
            &user,
            factor_id,
            code,
            &Actor::user(&user, ip.clone()),
            now,
        )
        .await?
        {
            Check::Verified => {
                return email_enabled(&state, &headers, &user, first, ip, now).await;
            }
            Check::Invalid => (
                StatusCode::UNAUTHORIZED,
                "That code is not right, has expired or was used already.".to_string(),
            ),
            Check::Throttled { wait } => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many wrong codes. Wait {wait} seconds and try again."),
            ),
        };
        Ok(email_code_page(
            &state,
            &headers,
            &factor,
            status,
            Some(&message),
            None,
        ))
    };
    answer.await.unwrap_or_else(|e: OAuthError| error::page(&e))
}
