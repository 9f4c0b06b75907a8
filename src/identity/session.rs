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
    };
    (id, session)
}

/// The stored form of a cookie's session id.
pub fn id_hash(cookie_value: &str) -> Vec<u8> {
    sha256(cookie_value.as_bytes())
}
