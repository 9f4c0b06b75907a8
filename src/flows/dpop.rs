//! DPoP proofs (RFC 9449) for the token endpoint and userinfo: check the one `DPoP`
//! header's proof (`oauth::dpop`) and record its `jti` once in the store.

use crate::clock::UnixTime;
use crate::flows::Services;
use crate::oauth::OAuthError;
use crate::oauth::dpop::{self, Expected, Proof};

/// The request's `DPoP` header values as they came: `None` for a value that is not
/// visible ASCII text.
#[derive(Debug, Default, Clone)]
pub struct DpopHeader<'a>(pub Vec<Option<&'a str>>);

/// The proof in the request's `DPoP` header, checked and used up; `None` without one.
/// §4.3 item 1: more than one `DPoP` header is refused.
pub async fn proof(
    services: &Services,
    header: &DpopHeader<'_>,
    htm: &str,
    htu: &str,
    access_token: Option<&str>,
    now: UnixTime,
) -> Result<Option<Proof>, OAuthError> {
    let text = match header.0.as_slice() {
        [] => return Ok(None),
        [Some(text)] => *text,
        [None] => return Err(dpop::invalid("The DPoP header is not a JWT.")),
        _ => return Err(dpop::invalid("More than one DPoP header was sent.")),
    };
    // The check is synchronous: nothing it borrows is held across the store call.
    let proof = {
        let master = &services.master;
        let current = |nonce: &str| master.dpop_nonce_is_current(nonce, now);
        let expected = Expected {
            htm,
            htu,
            now,
            access_token,
            nonce: services
                .config
                .client_auth
                .dpop_require_nonce
                .then_some(&current as &dyn Fn(&str) -> bool),
        };
        dpop::check(text, &expected)?
    };
    // §11.1: each proof once, across every instance sharing the database.
    if services
        .store
        .use_jti_once(&proof.replay_key, proof.keep_until, now)
        .await?
    {
        Ok(Some(proof))
    } else {
        Err(dpop::invalid("The DPoP proof has been used before."))
    }
}
