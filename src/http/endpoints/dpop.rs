//! DPoP (RFC 9449) at the HTTP edge: read the one `DPoP` header, check the proof
//! (`oauth::dpop`), record its `jti` once in the store, and answer with a fresh
//! `DPoP-Nonce` when the server demands nonces. Used by the token endpoint and by
//! userinfo (a resource endpoint).

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use crate::app::AppState;
use crate::oauth::dpop::{self, Expected, Proof};
use crate::oauth::{ErrorCode, OAuthError};
use crate::tokens::jose::ASYMMETRIC_ALGS;

pub const HEADER: &str = "dpop";
pub const NONCE_HEADER: &str = "dpop-nonce";

/// The proof in the request's `DPoP` header, checked and used up; `None` without one.
/// §4.3 item 1: more than one `DPoP` header is refused.
pub async fn proof(
    state: &AppState,
    headers: &HeaderMap,
    htm: &str,
    htu: &str,
    access_token: Option<&str>,
) -> Result<Option<Proof>, OAuthError> {
    let mut values = headers.get_all(HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(dpop::invalid("More than one DPoP header was sent."));
    }
    let text = value
        .to_str()
        .map_err(|_| dpop::invalid("The DPoP header is not a JWT."))?;
    let now = state.clock.now();
    // The check is synchronous: nothing it borrows is held across the store call.
    let proof = {
        let master = &state.master;
        let current = |nonce: &str| master.dpop_nonce_is_current(nonce, now);
        let expected = Expected {
            htm,
            htu,
            now,
            access_token,
            nonce: state
                .config
                .client_auth
                .dpop_require_nonce
                .then_some(&current as &dyn Fn(&str) -> bool),
        };
        dpop::check(text, &expected)?
    };
    // §11.1: each proof once, across every instance sharing the database.
    match state
        .store
        .use_jti_once(&proof.replay_key, proof.keep_until, now)
        .await
    {
        Ok(true) => Ok(Some(proof)),
        Ok(false) => Err(dpop::invalid("The DPoP proof has been used before.")),
        Err(e) => Err(e.into()),
    }
}

/// §8: a `use_dpop_nonce` answer carries the nonce to use; so does every answer when
/// the server demands nonces, so clients keep a current one.
pub fn add_nonce(state: &AppState, e: Option<&OAuthError>, response: &mut Response) {
    if state.config.client_auth.dpop_require_nonce
        || e.is_some_and(|e| e.code == ErrorCode::UseDpopNonce)
    {
        let nonce = state.master.current_dpop_nonce(state.clock.now());
        if let Ok(v) = HeaderValue::from_str(&nonce) {
            response.headers_mut().insert(NONCE_HEADER, v);
        }
    }
}

/// `dpop_signing_alg_values_supported` and the `algs` of a `WWW-Authenticate: DPoP`.
pub fn algs() -> String {
    ASYMMETRIC_ALGS.join(" ")
}
