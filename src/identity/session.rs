//! Sign-in sessions. The browser's cookie holds a random 256-bit id; the store holds
//! only its SHA-256, so a copy of the database cannot be replayed as a cookie.

use crate::clock::UnixTime;
use crate::crypto::{random_token, sha256};
use crate::store::Session;

/// A new session for `user_id`, signed in at `now`: the cookie value and the row.
pub fn start(user_id: &str, now: UnixTime, lifetime: i64) -> (String, Session) {
    let id = random_token();
    let session = Session {
        id_hash: sha256(id.as_bytes()),
        user_id: user_id.to_string(),
        auth_time: now,
        created_at: now,
        expires_at: now + lifetime,
        amr: vec![crate::factors::amr::PWD.to_string()],
        mfa_at: None,
    };
    (id, session)
}

/// The stored form of a cookie's session id.
pub fn id_hash(cookie_value: &str) -> Vec<u8> {
    sha256(cookie_value.as_bytes())
}

/// How long an Authentication API `sessionToken` can be redeemed (Okta's authn
/// transaction lifetime, 5 minutes).
pub const SESSION_TOKEN_TTL: i64 = 300;

/// A new one-time `sessionToken` for `user_id`, who entered the password at `now`:
/// the value the caller gets, and the row (only its SHA-256).
pub fn new_session_token(user_id: &str, now: UnixTime) -> (String, crate::store::SessionToken) {
    let value = random_token();
    let row = crate::store::SessionToken {
        token_hash: session_token_hash(&value),
        user_id: user_id.to_string(),
        auth_time: now,
        created_at: now,
        expires_at: now + SESSION_TOKEN_TTL,
    };
    (value, row)
}

/// The stored form of a `sessionToken`: SHA-256 under a label of its own, so that no
/// other kind of token (a session cookie, a sign-in `tx`) can ever be taken for one.
pub fn session_token_hash(value: &str) -> Vec<u8> {
    let mut text = b"gatehouse sessionToken\0".to_vec();
    text.extend_from_slice(value.as_bytes());
    sha256(&text)
}

/// What the Sessions API calls a session: `102` and the base64url of the stored hash.
/// The store keeps only the hash of the cookie, so the public id is derived from that
/// hash; it names the session to an admin but cannot be turned back into the cookie.
pub fn public_id(id_hash: &[u8]) -> String {
    format!("102{}", crate::crypto::b64url(id_hash))
}

/// The stored hash a public session id names (`None`: not one of ours).
pub fn hash_of_public_id(id: &str) -> Option<Vec<u8>> {
    let hash = crate::crypto::b64url_decode(id.strip_prefix("102")?)?;
    (hash.len() == 32).then_some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_id_names_its_session_and_nothing_else() {
        let (cookie, row) = start("00u1", 0, 60);
        let id = public_id(&row.id_hash);
        assert_eq!(hash_of_public_id(&id), Some(row.id_hash.clone()));
        assert!(!id.contains(&cookie));
        for bad in [
            "",
            "102",
            "103abc",
            "102!!",
            &format!("102{}", crate::crypto::b64url(b"short")),
        ] {
            assert_eq!(hash_of_public_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_session_token_hash_differs_from_a_session_id_hash() {
        assert_ne!(session_token_hash("x"), id_hash("x"));
    }
}
