//! A user's sign-in sessions, as an admin sees and ends them (Okta's
//! `GET`/`DELETE /api/v1/users/{id}/sessions`). Sessions are found by the SHA-256 of
//! their cookie; an admin names one by its public id (`identity::session::public_id`),
//! which cannot be turned back into the cookie.

use serde_json::{Value, json};

use super::AdminError;
use super::syslog::{self, Actor, Event, Target};
use super::users;
use crate::clock::{UnixTime, rfc3339};
use crate::identity::session;
use crate::store::{DynStore, Session};

/// The user's live sessions, newest first.
pub async fn list(
    store: &DynStore,
    user_id: &str,
    now: UnixTime,
) -> Result<Vec<Session>, AdminError> {
    let user = users::find(store, user_id).await?;
    Ok(store.user_sessions(&user.id, now).await?)
}

/// Okta's "clear user sessions": every live session of the user ends; with
/// `oauth_tokens` their refresh tokens are revoked too (Okta's `oauthTokens=true`).
/// Records `user.session.clear`. Returns how many sessions ended.
pub async fn clear(
    store: &DynStore,
    actor: &Actor,
    user_id: &str,
    oauth_tokens: bool,
    now: UnixTime,
) -> Result<u64, AdminError> {
    let user = users::find(store, user_id).await?;
    let ended = store.end_user_sessions(&user.id, now).await?;
    if oauth_tokens {
        store.revoke_user_families(&user.id, now).await?;
    }
    let event = Event::success(
        "user.session.clear",
        "Clear user session",
        vec![Target::user(&user)],
    )
    .with_debug("sessionsEnded", ended)
    .with_debug("oauthTokensRevoked", oauth_tokens);
    syslog::record(store, actor, event, now).await;
    Ok(ended)
}

/// Ends one live session of the user, named by its public id. A session of another
/// user, or one that has ended, is not found (an admin cannot probe ids through
/// another user's path). Records `user.session.end`.
pub async fn end(
    store: &DynStore,
    actor: &Actor,
    user_id: &str,
    session_id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let user = users::find(store, user_id).await?;
    let not_found = || AdminError::NotFound(format!("session {session_id}"));
    let hash = session::hash_of_public_id(session_id).ok_or_else(not_found)?;
    match store.live_session(&hash, now).await? {
        Some(s) if s.user_id == user.id => {}
        _ => return Err(not_found()),
    }
    store.end_session(&hash, now).await?;
    let event = Event::success(
        "user.session.end",
        "User logout from Gatehouse",
        vec![Target::user(&user)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(())
}

/// A session as the Users API and the console list it: Okta's session fields, and
/// where it was started from in the shape of Okta's System Log `client` object
/// (`client.userAgent.rawUserAgent`, `client.ipAddress`), with Gatehouse's short
/// `client.userAgent.summary` and `lastSeenAt` (`null` on sessions from before these
/// were kept).
pub fn to_json(s: &Session) -> Value {
    json!({
        "id": session::public_id(&s.id_hash),
        "userId": s.user_id,
        "createdAt": rfc3339(s.created_at),
        "expiresAt": rfc3339(s.expires_at),
        "lastPasswordVerification": rfc3339(s.auth_time),
        "lastSeenAt": s.last_seen_at.map(rfc3339),
        "status": "ACTIVE",
        "client": {
            "userAgent": {
                "rawUserAgent": s.user_agent,
                "summary": s.user_agent.as_deref().map(session::describe_user_agent),
            },
            "ipAddress": s.ip,
        },
    })
}
