//! Sign-in sessions as the Authentication and Sessions APIs see them: starting one
//! (from the sign-in page or a redeemed `sessionToken`), redeeming a `sessionToken`,
//! and reading, refreshing and ending a session by its stored hash (from the browser's
//! cookie for `/api/v1/sessions/me`, from the public session id for the admin
//! operations).

use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::UnixTime;
use crate::factors::Proof;
use crate::flows::Services;
use crate::identity::session::{self, Device};
use crate::oauth::OAuthError;
use crate::store::{Session, SessionFederation, SessionToken, User};

/// Starts a new session at `now` for `user_id`, who authenticated at `auth_time`, and
/// ends the browser's old one (`old_cookie`) if it had one: a new session id at every
/// sign-in, never the one the browser brought (no session fixation). The new cookie
/// value and the stored session.
pub async fn start(
    services: &Services,
    user_id: &str,
    auth_time: UnixTime,
    now: UnixTime,
    old_cookie: Option<&str>,
    device: &Device,
) -> Result<(String, Session), OAuthError> {
    start_proven(
        services,
        user_id,
        Proof::password(auth_time),
        now,
        old_cookie,
        device,
    )
    .await
}

/// `start`, for a sign-in that proved `proof` (a password and a second factor, say):
/// the session records its `amr` and when the second factor was verified, and the
/// `device` it was started from.
pub async fn start_proven(
    services: &Services,
    user_id: &str,
    proof: Proof,
    now: UnixTime,
    old_cookie: Option<&str>,
    device: &Device,
) -> Result<(String, Session), OAuthError> {
    if let Some(old) = old_cookie {
        services
            .store
            .end_session(&session::id_hash(old), now)
            .await?;
    }
    let (session_id, mut row) =
        session::start(user_id, now, services.config.session_lifetime_seconds);
    row.auth_time = proof.auth_time;
    row.amr = proof.amr;
    row.mfa_at = proof.mfa_at;
    row.user_agent = device.user_agent.clone();
    row.ip = device.ip.clone();
    services.store.insert_session(&row).await?;
    Ok((session_id, row))
}

/// `start_proven`, for a sign-in through the identity provider `idp_id`: the session
/// records the provider, and its ID token sealed with the master key (`seal_id_token`)
/// for the provider's logout. One insert: the session and what it records, or nothing.
pub async fn start_federated(
    services: &Services,
    user_id: &str,
    proof: Proof,
    federation: SessionFederation,
    now: UnixTime,
    old_cookie: Option<&str>,
    device: &Device,
) -> Result<(String, Session), OAuthError> {
    if let Some(old) = old_cookie {
        services
            .store
            .end_session(&session::id_hash(old), now)
            .await?;
    }
    let (session_id, mut row) =
        session::start(user_id, now, services.config.session_lifetime_seconds);
    row.auth_time = proof.auth_time;
    row.amr = proof.amr;
    row.mfa_at = proof.mfa_at;
    row.user_agent = device.user_agent.clone();
    row.ip = device.ip.clone();
    services
        .store
        .insert_federated_session(&row, &federation)
        .await?;
    Ok((session_id, row))
}

/// What an upstream ID token is sealed to: the provider and the user, so a sealed
/// token moved to another user's or provider's row does not open.
fn id_token_context(idp_id: &str, user_id: &str) -> Vec<u8> {
    let mut context = b"gatehouse upstream id_token v1\0".to_vec();
    context.extend_from_slice(idp_id.as_bytes());
    context.push(0);
    context.extend_from_slice(user_id.as_bytes());
    context
}

/// An identity provider's ID token for `user_id`, sealed (AES-256-GCM under the master
/// key) to keep with the session.
pub fn seal_id_token(services: &Services, idp_id: &str, user_id: &str, token: &str) -> Vec<u8> {
    services
        .master
        .encrypt(token.as_bytes(), &id_token_context(idp_id, user_id))
}

/// The identity provider's ID token kept with a session, opened; `None` when it does not
/// open (another master key, a row tampered with).
pub fn open_id_token(
    services: &Services,
    idp_id: &str,
    user_id: &str,
    sealed: &[u8],
) -> Option<String> {
    let plain = services
        .master
        .decrypt(sealed, &id_token_context(idp_id, user_id))
        .ok()?;
    String::from_utf8(plain).ok()
}

/// Redeems a `sessionToken` (once: the store deletes it in the same statement): the
/// token and its user, when it was issued by `/api/v1/authn`, has not expired, was not
/// redeemed before, and its user is still active. Anything else is `None`, one answer
/// for every reason.
pub async fn redeem_token(
    services: &Services,
    value: &str,
    now: UnixTime,
) -> Result<Option<(SessionToken, User)>, OAuthError> {
    // A token is 43 characters; anything much longer is not one, and is not hashed.
    if value.is_empty() || value.len() > 128 {
        return Ok(None);
    }
    let Some(token) = services
        .store
        .redeem_session_token(&session::session_token_hash(value), now)
        .await?
    else {
        return Ok(None);
    };
    match services.store.get_user(&token.user_id).await? {
        Some(user) if user.is_active() => Ok(Some((token, user))),
        _ => Ok(None),
    }
}

/// The live session stored as `id_hash` and its user, if the user is still active.
pub async fn live(
    services: &Services,
    id_hash: &[u8],
    now: UnixTime,
) -> Result<Option<(Session, User)>, OAuthError> {
    let Some(session) = services.store.live_session(id_hash, now).await? else {
        return Ok(None);
    };
    match services.store.get_user(&session.user_id).await? {
        Some(user) if user.keeps_sign_in() => Ok(Some((session, user))),
        _ => Ok(None),
    }
}

/// Okta's session refresh: a live session's expiry moves to a full session lifetime
/// from `now` (a sliding expiry, like Okta's default global session policy, which has
/// no maximum lifetime). `None` when there is no live session.
pub async fn refresh(
    services: &Services,
    id_hash: &[u8],
    now: UnixTime,
) -> Result<Option<(Session, User)>, OAuthError> {
    if live(services, id_hash, now).await?.is_none() {
        return Ok(None);
    }
    let expires_at = now + services.config.session_lifetime_seconds;
    let Some(session) = services
        .store
        .refresh_session(id_hash, expires_at, now)
        .await?
    else {
        return Ok(None);
    };
    live(services, &session.id_hash, now).await
}

/// Ends a live session (`user.session.end` in the System Log, by `actor`, or by the
/// session's user when `actor` is `None`); false when there was none.
pub async fn close(
    services: &Services,
    id_hash: &[u8],
    actor: Option<&Actor>,
    ip: Option<String>,
    now: UnixTime,
) -> Result<bool, OAuthError> {
    let Some((_, user)) = live(services, id_hash, now).await? else {
        return Ok(false);
    };
    services.store.end_session(id_hash, now).await?;
    let own;
    let actor = match actor {
        Some(actor) => actor,
        None => {
            own = Actor::user(&user, ip);
            &own
        }
    };
    let event = Event::success(
        "user.session.end",
        "User logout from Gatehouse",
        vec![Target::user(&user)],
    );
    syslog::record(&services.store, actor, event, now).await;
    Ok(true)
}

/// What `/login/sessionCookieRedirect` does.
#[derive(Debug)]
pub enum CookieRedirect {
    /// `redirectUrl` is missing or not on a trusted origin: an error page, never a
    /// redirect (an open redirect would lend this server's name to any phishing link).
    Untrusted,
    /// The token is unknown, expired or already redeemed: an error page, no session.
    InvalidToken,
    /// A new session (its cookie value) and where the browser goes now.
    SignedIn { cookie: String, location: String },
}

/// Where `/login/sessionCookieRedirect` may send the browser: an absolute http(s) URL
/// on this server's own origin (e.g. an `/authorize` request, which checks its own
/// redirect URI), or on one of the trusted origins (`cors_allowed_origins`, Okta's
/// Trusted Origins). The URL as parsed and written back by the `url` crate, so the
/// browser is sent to exactly the URL that was checked (no backslash or
/// whitespace trick can make it read another host). `None` for anything else.
pub fn trusted_redirect(config: &crate::config::ServerConfig, text: &str) -> Option<String> {
    if text.len() > 4096 {
        return None;
    }
    let url = url::Url::parse(text).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    let origin = url.origin().ascii_serialization();
    let ours = config.public_url.origin().ascii_serialization();
    let trusted = origin == ours || config.cors_allowed_origins.contains(&origin);
    trusted.then(|| url.to_string())
}

/// Okta's `/login/sessionCookieRedirect?token=…&redirectUrl=…`: redeems the
/// `sessionToken`, starts a session (ending the browser's old one) and sends the
/// browser to `redirectUrl`, which must be trusted; it is checked before the token is
/// touched, so a refused redirect does not use the token up.
pub async fn cookie_redirect(
    services: &Services,
    token: Option<&str>,
    redirect_url: Option<&str>,
    old_cookie: Option<&str>,
    device: &Device,
    now: UnixTime,
) -> Result<CookieRedirect, OAuthError> {
    let Some(location) = redirect_url.and_then(|u| trusted_redirect(&services.config, u)) else {
        return Ok(CookieRedirect::Untrusted);
    };
    let Some((token, user)) = redeem_token(services, token.unwrap_or(""), now).await? else {
        return Ok(CookieRedirect::InvalidToken);
    };
    let (cookie, _) = start(services, &user.id, token.auth_time, now, old_cookie, device).await?;
    Ok(CookieRedirect::SignedIn { cookie, location })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::testing::fixture;

    #[tokio::test]
    async fn a_session_token_is_redeemed_once_and_not_after_it_expires() {
        let f = fixture().await;
        let user = f.user("ada@example.com").await;
        let (value, row) = session::new_session_token(&user.id, f.now);
        f.services.store.insert_session_token(&row).await.unwrap();
        let (token, found) = redeem_token(&f.services, &value, f.now + 1)
            .await
            .unwrap()
            .expect("redeemed");
        assert_eq!((token.auth_time, found.id), (f.now, user.id.clone()));
        assert!(
            redeem_token(&f.services, &value, f.now + 2)
                .await
                .unwrap()
                .is_none()
        );

        let (late, row) = session::new_session_token(&user.id, f.now);
        f.services.store.insert_session_token(&row).await.unwrap();
        let expiry = f.now + session::SESSION_TOKEN_TTL;
        assert!(
            redeem_token(&f.services, &late, expiry)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn refresh_moves_the_expiry_and_close_ends_the_session() {
        let f = fixture().await;
        let user = f.user("ada@example.com").await;
        let (cookie, _) = start(
            &f.services,
            &user.id,
            f.now - 30,
            f.now,
            None,
            &Device::default(),
        )
        .await
        .unwrap();
        let hash = session::id_hash(&cookie);
        let (session, _) = live(&f.services, &hash, f.now).await.unwrap().unwrap();
        assert_eq!(session.auth_time, f.now - 30);
        let later = f.now + 600;
        let (refreshed, _) = refresh(&f.services, &hash, later).await.unwrap().unwrap();
        assert_eq!(
            refreshed.expires_at,
            later + f.services.config.session_lifetime_seconds
        );
        assert!(close(&f.services, &hash, None, None, later).await.unwrap());
        assert!(!close(&f.services, &hash, None, None, later).await.unwrap());
        assert!(refresh(&f.services, &hash, later).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn only_our_origin_and_trusted_origins_are_redirect_targets() {
        let mut f = fixture().await;
        f.services.config.cors_allowed_origins = vec!["https://app.test".into()];
        let config = &f.services.config;
        for yes in [
            "https://gatehouse.test/oauth2/default/v1/authorize?client_id=x",
            "https://app.test/",
            "https://app.test/deep/link?x=1#y",
            "HTTPS://APP.TEST/home",
        ] {
            assert!(trusted_redirect(config, yes).is_some(), "{yes}");
        }
        for no in [
            "",
            "/relative",
            "//evil.test/",
            "https://evil.test/",
            "https://app.test.evil.test/",
            "https://app.test:444/",
            "http://app.test/",
            "https://evil.test\\@app.test/",
            "https:\\\\evil.test/",
            "javascript:alert(1)",
            "data:text/html,hi",
            "https://gatehouse.test.evil.test/",
        ] {
            assert!(trusted_redirect(config, no).is_none(), "{no}");
        }
        // Written back as parsed: the browser goes where the check looked.
        assert_eq!(
            trusted_redirect(config, "https://app.test/a b").as_deref(),
            Some("https://app.test/a%20b")
        );
    }
}
