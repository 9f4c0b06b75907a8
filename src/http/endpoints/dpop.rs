//! DPoP (RFC 9449) at the HTTP edge: read the `DPoP` headers (`flows::dpop` checks the
//! proof and records its `jti`), and answer with a fresh `DPoP-Nonce` when the server
//! demands nonces. Used by the token endpoint and by
//! userinfo (a resource endpoint).

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use crate::clock::UnixTime;
use crate::flows::Services;
use crate::flows::dpop::DpopHeader;
use crate::oauth::{ErrorCode, OAuthError};
use crate::tokens::jose::ASYMMETRIC_ALGS;

pub const HEADER: &str = "dpop";
pub const NONCE_HEADER: &str = "dpop-nonce";

/// The request's `DPoP` header values, for `flows::dpop::proof`.
pub fn header(headers: &HeaderMap) -> DpopHeader<'_> {
    DpopHeader(
        headers
            .get_all(HEADER)
            .iter()
            .map(|v| v.to_str().ok())
            .collect(),
    )
}

/// §8: a `use_dpop_nonce` answer carries the nonce to use; so does every answer when
/// the server demands nonces, so clients keep a current one.
pub fn add_nonce(state: &Services, e: Option<&OAuthError>, response: &mut Response, now: UnixTime) {
    if state.config.client_auth.dpop_require_nonce
        || e.is_some_and(|e| e.code == ErrorCode::UseDpopNonce)
    {
        let nonce = state.master.current_dpop_nonce(now);
        if let Ok(v) = HeaderValue::from_str(&nonce) {
            response.headers_mut().insert(NONCE_HEADER, v);
        }
    }
}

/// `dpop_signing_alg_values_supported` and the `algs` of a `WWW-Authenticate: DPoP`.
pub fn algs() -> String {
    ASYMMETRIC_ALGS.join(" ")
}
