//! The logout token of OpenID Connect Back-Channel Logout 1.0 §2.4: a JWT the server
//! signs and POSTs to an app when a session the app was signed in through ends.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::crypto::random_token;

/// §2.4: the one event a logout token carries.
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// §2.4: the JOSE `typ` of a logout token (§4.1: so it cannot pass for an ID token).
pub const TYP: &str = "logout+jwt";
/// How long a logout token is valid: minted at each attempt, it is used at once.
pub const TTL: i64 = 120;

/// §2.4's claims: `sub` and `sid` (both, always: an app that asked for `sid` gets it,
/// and one keyed by user finds `sub`), never a `nonce`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
    pub jti: String,
    pub events: Map<String, Value>,
    pub sid: String,
}

/// The claims of a logout token from `issuer` to `client_id` for the user `sub`, whose
/// session `sid` ended, minted at `now` with a fresh `jti`.
pub fn claims(issuer: &str, client_id: &str, sub: &str, sid: &str, now: UnixTime) -> LogoutClaims {
    let mut events = Map::new();
    events.insert(EVENT.into(), Value::Object(Map::new()));
    LogoutClaims {
        iss: issuer.to_string(),
        sub: sub.to_string(),
        aud: client_id.to_string(),
        iat: now,
        exp: now + TTL,
        jti: random_token(),
        events,
        sid: sid.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logout_token_has_the_event_both_subjects_and_no_nonce() {
        let c = claims("https://id.example", "0oa1", "00u1", "102abc", 1_000);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["events"][EVENT], serde_json::json!({}));
        assert_eq!(
            (json["sub"].as_str(), json["sid"].as_str()),
            (Some("00u1"), Some("102abc"))
        );
        assert_eq!(json["exp"].as_i64(), Some(1_000 + TTL));
        assert!(json.get("nonce").is_none());
        assert_ne!(c.jti, claims("i", "a", "s", "x", 0).jti);
    }
}
