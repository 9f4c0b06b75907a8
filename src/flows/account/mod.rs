//! The account page (`/account`): what a person sees of their own account, and the
//! changes they may make to it. A person reaches it by signing in to the built-in
//! account app (`admin::account_app`) through the org server's `/authorize`, which
//! binds the page to the browser's sign-in session; from then on the page answers
//! for that session, as long as it lives and its user is active.
//!
//! Changes that could take the account over (the profile, the password) need a recent
//! sign-in: the session's last password verification within `RECENT_SIGN_IN_SECONDS`.
//! An older one is asked to sign in again (`prompt=login`) first.

pub mod activity;
pub mod changes;

use crate::admin::app_links;
use crate::clock::UnixTime;
use crate::crypto::constant_time_eq;
use crate::flows::{Services, sessions};
use crate::identity::session;
use crate::oauth::OAuthError;
use crate::store::{Client, Session, User};

pub use activity::Activity;

/// How long after entering the password a person may change their profile or
/// password without entering it again (GitHub's "sudo mode" and Okta's
/// re-authentication for sensitive actions do the same).
pub const RECENT_SIGN_IN_SECONDS: i64 = 15 * 60;

/// How many sign-in events the page shows.
pub const ACTIVITY_EVENTS: i64 = 20;

/// The person the page is for: their live session and their (active) user.
#[derive(Debug, Clone)]
pub struct Account {
    pub session: Session,
    pub user: User,
}

impl Account {
    /// Was the password entered recently enough for a sensitive change?
    pub fn recent(&self, now: UnixTime) -> bool {
        now - self.session.auth_time <= RECENT_SIGN_IN_SECONDS
    }
}

/// The account the browser's session cookie names, if the page was bound to that very
/// session (`bound`: the stored hash of the session the account app's sign-in ended
/// in), the session is live and its user active. A session started since (another
/// person signing in on this browser) is not the bound one: `None`, and the page asks
/// for a sign-in again.
pub async fn signed_in(
    services: &Services,
    session_cookie: Option<&str>,
    bound: Option<&[u8]>,
    now: UnixTime,
) -> Result<Option<Account>, OAuthError> {
    let (Some(cookie), Some(bound)) = (session_cookie, bound) else {
        return Ok(None);
    };
    let hash = session::id_hash(cookie);
    if !constant_time_eq(&hash, bound) {
        return Ok(None);
    }
    Ok(sessions::live(services, &hash, now)
        .await?
        .map(|(session, user)| Account { session, user }))
}

/// One of the person's live sessions, as the page lists it.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// Its public id (`identity::session::public_id`), which names it to sign it out.
    pub id: String,
    pub started: UnixTime,
    pub password_verified: UnixTime,
    pub expires: UnixTime,
    /// This browser's session.
    pub current: bool,
    /// The browser's `User-Agent` and the address it was started from, when kept.
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// When it was last used at /authorize.
    pub last_seen: Option<UnixTime>,
}

/// One of the person's apps: its name and where it lives (none for a native app).
#[derive(Debug, Clone)]
pub struct AppView {
    pub name: String,
    pub link: Option<String>,
}

/// One of the person's passkeys (managed on `/account/passkeys`).
#[derive(Debug, Clone)]
pub struct PasskeyView {
    pub name: String,
    pub created: UnixTime,
    pub last_used: Option<UnixTime>,
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct Overview {
    pub apps: Vec<AppView>,
    pub passkeys: Vec<PasskeyView>,
    pub sessions: Vec<SessionView>,
    pub activity: Vec<Activity>,
}

/// The person's apps (assigned to them or open to everyone, as Okta's app links), their
/// passkeys, their live sessions (this one first, then newest first) and their recent sign-in activity
/// from the System Log.
pub async fn overview(
    services: &Services,
    account: &Account,
    now: UnixTime,
) -> Result<Overview, OAuthError> {
    let user_id = &account.user.id;
    let apps = app_links::dashboard(services.store.apps_of_user(user_id).await?)
        .iter()
        .map(app_view)
        .collect();
    let mut sessions: Vec<SessionView> = services
        .store
        .user_sessions(user_id, now)
        .await?
        .iter()
        .map(|s| SessionView {
            id: session::public_id(&s.id_hash),
            started: s.created_at,
            password_verified: s.auth_time,
            expires: s.expires_at,
            current: s.id_hash == account.session.id_hash,
            user_agent: s.user_agent.clone(),
            ip: s.ip.clone(),
            last_seen: s.last_seen_at,
        })
        .collect();
    sessions.sort_by_key(|s| (!s.current, -s.started));
    let activity = activity::recent(services, user_id, ACTIVITY_EVENTS).await?;
    let passkeys = services
        .store
        .user_passkeys(user_id)
        .await?
        .into_iter()
        .map(|p| PasskeyView {
            name: p.name,
            created: p.created_at,
            last_used: p.last_used_at,
        })
        .collect();
    Ok(Overview {
        apps,
        passkeys,
        sessions,
        activity,
    })
}

fn app_view(client: &Client) -> AppView {
    AppView {
        name: client.name.clone(),
        link: app_links::link_url(client),
    }
}

/// The same sign-in, under a new session id: after a change that ended every session
/// of the person (a new password, "sign out everywhere"), the browser that made it
/// stays signed in, and nobody else does. Everything the old session proved is kept;
/// `password_verified` moves its last password verification when the change itself
/// checked the password. The new cookie value and the row.
pub async fn continue_session(
    services: &Services,
    old: &Session,
    password_verified: Option<UnixTime>,
    now: UnixTime,
) -> Result<(String, Session), OAuthError> {
    let (cookie, fresh) = session::start(&old.user_id, now, 0);
    let row = Session {
        id_hash: fresh.id_hash,
        auth_time: password_verified.unwrap_or(old.auth_time),
        ..old.clone()
    };
    services.store.insert_session(&row).await?;
    Ok((cookie, row))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::testing::fixture;

    #[tokio::test]
    async fn the_page_answers_only_for_the_session_it_was_bound_to() {
        let f = fixture().await;
        let now = f.now;
        let user = f.user("alice@example.com").await;
        let (cookie, row) = session::start(&user.id, now, 3600);
        f.services.store.insert_session(&row).await.unwrap();
        let (other, other_row) = session::start(&user.id, now, 3600);
        f.services.store.insert_session(&other_row).await.unwrap();
        let s = &f.services;
        let bound = row.id_hash.as_slice();
        assert!(
            signed_in(s, None, Some(bound), now)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            signed_in(s, Some(&cookie), None, now)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            signed_in(s, Some(&other), Some(bound), now)
                .await
                .unwrap()
                .is_none(),
            "another session of the same person is not the bound one"
        );
        let account = signed_in(s, Some(&cookie), Some(bound), now)
            .await
            .unwrap()
            .expect("the bound session");
        assert!(account.recent(now + RECENT_SIGN_IN_SECONDS));
        assert!(!account.recent(now + RECENT_SIGN_IN_SECONDS + 1));

        // Continued under a new id: the same sign-in, the password moved only when
        // the change verified it.
        let later = now + 60;
        let (next, moved) = continue_session(s, &account.session, Some(later), later)
            .await
            .unwrap();
        assert_ne!(next, cookie);
        assert_eq!(
            (moved.created_at, moved.expires_at, moved.auth_time),
            (row.created_at, row.expires_at, later)
        );
        let (_, kept) = continue_session(s, &account.session, None, later)
            .await
            .unwrap();
        assert_eq!(kept.auth_time, row.auth_time);

        s.store.end_session(&row.id_hash, later).await.unwrap();
        assert!(
            signed_in(s, Some(&cookie), Some(bound), later)
                .await
                .unwrap()
                .is_none(),
            "an ended session"
        );
    }
}
