//! "Sign in with a passkey" on the sign-in page (`flows::passkeys::sign_in`): the
//! page's script posts the transaction and its CSRF token to `/login/passkey/options`
//! for the request options (JSON), asks the browser for an assertion, and posts it to
//! `/login/passkey` as a plain form, whose answer is the same as a password's: a
//! redirect back to the app (or to consent), with a new session. The second-factor
//! step's passkey method gets its options from `/signin/verify/passkey/options` and
//! posts its assertion with the step's other methods to `/signin/verify`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{authorize, login};
use crate::flows::mfa;
use crate::flows::passkeys::sign_in::{self, PasskeySignIn};
use crate::flows::passkeys::{AssertionResponse, second_factor};
use crate::http::extract::{Body, OAuthRejection, PeerAddr, form_params};
use crate::http::{SharedState, cookies, error};
use crate::identity::session::Device;
use crate::oauth::OAuthError;
use crate::oauth::params::Params;

const REFUSED: &str =
    "That passkey could not sign you in. Try again, or sign in with your password.";

fn form(headers: &HeaderMap, body: Result<Body, OAuthRejection>) -> Result<Params, OAuthError> {
    let params = body
        .map_err(|OAuthRejection(e)| e)
        .and_then(|Body(b)| form_params(headers, &b))?;
    if let Some(name) = params.first_repeated() {
        return Err(OAuthError::invalid_request(format!(
            "The '{}' parameter was given more than once.",
            name.chars().take(64).collect::<String>()
        )));
    }
    Ok(params)
}

/// An options request's form, its CSRF token matching the browser's cookie; or the
/// status and `error` the page's script is answered (the protocol error's code, or
/// `csrf` with 403: see `refusal`).
fn options_form(
    headers: &HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Result<Params, (StatusCode, &'static str)> {
    let params = form(headers, body).map_err(|e| (status_of(&e), e.code()))?;
    if !cookies::csrf_matches(headers, params.one("csrf").ok().flatten().unwrap_or("")) {
        return Err((StatusCode::FORBIDDEN, "csrf"));
    }
    Ok(params)
}

/// The JSON answer `{"error": code}` the options scripts show.
fn refusal((status, code): (StatusCode, &str)) -> Response {
    json(status, serde_json::json!({ "error": code }))
}

/// The sign-in step is gone or used (400 `{"error": "expired"}`): the script reloads.
fn expired() -> Response {
    refusal((StatusCode::BAD_REQUEST, "expired"))
}

/// A JSON answer that no cache keeps.
pub fn json(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /login/passkey/options`: `tx` and `csrf`; the request options, or 400/403
/// with an `error` the script shows, or 429 with `Retry-After` when this address asked
/// for too many.
pub async fn options(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let params = match options_form(&headers, body) {
        Ok(params) => params,
        Err(refused) => return refusal(refused),
    };
    let Ok(Some(tx)) = params.one("tx") else {
        return expired();
    };
    match sign_in::options(&state, tx, ip.as_deref(), state.clock.now()).await {
        Ok(Some(options)) => json(StatusCode::OK, options),
        Ok(None) => expired(),
        Err(e) => json_error(&e),
    }
}

/// `POST /login/passkey`: the assertion for the pending sign-in `tx`.
pub async fn post(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let params = match form(&headers, body) {
        Ok(params) => params,
        Err(e) => return error::page(&e),
    };
    if !cookies::csrf_matches(&headers, params.one("csrf").ok().flatten().unwrap_or("")) {
        return login::refused_page();
    }
    let (tx, response) = match (
        params.required("tx"),
        AssertionResponse::from_params(&params),
    ) {
        (Ok(tx), Ok(response)) => (tx, response),
        (Err(e), _) | (_, Err(e)) => return error::page(&e),
    };
    let now = state.clock.now();
    let cookie = cookies::get(&headers, cookies::SESSION);
    let device = Device::new(crate::http::extract::user_agent(&headers), ip);
    match sign_in::finish(&state, tx, &response, cookie.as_deref(), &device, now).await {
        Ok(PasskeySignIn::Expired) => login::expired_page(),
        Ok(PasskeySignIn::SecondFactor(location)) => authorize::redirect(&location, true),
        Ok(PasskeySignIn::Failed(request)) => {
            login::form_with(
                &state,
                &headers,
                tx,
                &request,
                "",
                StatusCode::UNAUTHORIZED,
                Some(REFUSED),
            )
            .await
        }
        Ok(PasskeySignIn::SignedIn {
            session_id,
            outcome,
        }) => {
            let mut response = authorize::render(outcome, true);
            cookies::start_session(&mut response, &session_id, state.config.secure_cookies());
            response
        }
        Err(e) => error::page(&e),
    }
}

/// A refusal as JSON: `error` and the status of `e`, with `Retry-After` when it is
/// a throttle's 429.
pub fn json_error(e: &OAuthError) -> Response {
    let mut response = json(status_of(e), serde_json::json!({ "error": e.code() }));
    if let Some(seconds) = e.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The HTTP status of a protocol error, for a JSON answer.
pub fn status_of(e: &OAuthError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST)
}

/// `POST /signin/verify/passkey/options`: `tx` and `csrf` of the second-factor step;
/// the request options naming the person's own passkeys, or 400/403, or 429 with
/// `Retry-After` when this address or person asked for too many.
pub async fn verify_options(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let params = match options_form(&headers, body) {
        Ok(params) => params,
        Err(refused) => return refusal(refused),
    };
    let Ok(Some(tx)) = params.one("tx") else {
        return expired();
    };
    let now = state.clock.now();
    let options = match mfa::pending(&state, tx, now).await {
        Ok(Some((pending, user))) if !pending.verified => {
            second_factor::options(&state, &user.id, tx, ip.as_deref(), now).await
        }
        Ok(_) => {
            return expired();
        }
        Err(e) => Err(e),
    };
    match options {
        Ok(options) => json(StatusCode::OK, options),
        Err(e) => json_error(&e),
    }
}

/// `POST /signin/enroll/passkey/options`: the creation options for a passkey set up in
/// the sign-in step (`tx`), for a person without a second factor; 429 with
/// `Retry-After` when this address or person asked for too many.
pub async fn enroll_options(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let params = match options_form(&headers, body) {
        Ok(params) => params,
        Err(refused) => return refusal(refused),
    };
    let Ok(Some(tx)) = params.one("tx") else {
        return expired();
    };
    match mfa::enroll_passkey_options(&state, tx, ip.as_deref(), state.clock.now()).await {
        Ok(Some(options)) => json(StatusCode::OK, options),
        Ok(None) => expired(),
        Err(e) => json_error(&e),
    }
}
