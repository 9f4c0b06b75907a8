//! Okta's classic Authentication API, primary authentication (`POST /api/v1/authn`):
//! a username and password checked exactly as the sign-in page checks them
//! (`flows::login::check_password`: the same throttle, the same answer and work for an
//! unknown user and a wrong password), and on success a one-time `sessionToken` that
//! `/authorize` or `/login/sessionCookieRedirect` turns into a session.
//!
//! The states Gatehouse can reach: `SUCCESS`, and `LOCKED_OUT` while the sign-in
//! throttle blocks the attempt or when the account is locked by the password policy's
//! lockout (if the policy shows lockout failures). `PASSWORD_EXPIRED` and `MFA_REQUIRED` are not reached:
//! users have no password-expiry state and no factors.

use crate::clock::UnixTime;
use crate::flows::Services;
use crate::flows::login::{Checked, check_password};
use crate::identity::session;
use crate::oauth::OAuthError;
use crate::store::User;

/// What the caller posted.
pub struct AuthnRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// The caller's address (the throttle's key, the System Log's).
    pub ip: Option<String>,
}

/// The transaction's state.
#[derive(Debug)]
pub enum Authn {
    /// The password is right: the `sessionToken`, until when it can be redeemed, and
    /// the user.
    Success {
        session_token: String,
        expires_at: UnixTime,
        user: Box<User>,
    },
    /// The sign-in throttle blocks this username from this address (or this address):
    /// Okta's `LOCKED_OUT`, for `wait` seconds. Known and unknown usernames alike.
    LockedOut { wait: i64 },
    /// The account is LOCKED_OUT (the password policy's lockout) and the policy shows
    /// lockout failures: Okta's `LOCKED_OUT` too, without a time to wait.
    AccountLocked,
    /// Wrong password, unknown user, or a user who is not active (a locked one too,
    /// unless the policy shows lockout failures).
    Failed,
}

pub async fn authn(
    services: &Services,
    request: &AuthnRequest<'_>,
    now: UnixTime,
) -> Result<Authn, OAuthError> {
    let username = request.username.trim();
    let checked = check_password(
        services,
        username,
        request.password,
        request.ip.clone(),
        now,
    )
    .await?;
    Ok(match checked {
        Checked::Valid(user) => {
            let (session_token, row) = session::new_session_token(&user.id, now);
            services.store.insert_session_token(&row).await?;
            Authn::Success {
                session_token,
                expires_at: row.expires_at,
                user,
            }
        }
        Checked::Invalid => Authn::Failed,
        Checked::LockedOut => Authn::AccountLocked,
        Checked::Throttled { wait } => Authn::LockedOut { wait },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::sessions;
    use crate::flows::testing::fixture;

    #[tokio::test]
    async fn a_right_password_gets_a_token_that_redeems_for_its_user() {
        let f = fixture().await;
        let user = f.user("ada@example.com").await;
        let request = AuthnRequest {
            username: " ADA@example.com ",
            password: "a long test password",
            ip: None,
        };
        let Authn::Success {
            session_token,
            expires_at,
            ..
        } = authn(&f.services, &request, f.now).await.unwrap()
        else {
            panic!("success");
        };
        assert_eq!(expires_at, f.now + session::SESSION_TOKEN_TTL);
        let (_, found) = sessions::redeem_token(&f.services, &session_token, f.now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, user.id);
    }

    #[tokio::test]
    async fn wrong_passwords_fail_then_lock_out_known_and_unknown_alike() {
        let f = fixture().await;
        f.user("ada@example.com").await;
        for username in ["ada@example.com", "nobody@example.com"] {
            let request = AuthnRequest {
                username,
                password: "wrong",
                ip: Some("192.0.2.9".into()),
            };
            let threshold = f.services.config.throttle.sign_in_threshold;
            for _ in 0..threshold {
                let answer = authn(&f.services, &request, f.now).await.unwrap();
                assert!(matches!(answer, Authn::Failed), "{answer:?}");
            }
            let answer = authn(&f.services, &request, f.now).await.unwrap();
            assert!(
                matches!(answer, Authn::LockedOut { wait } if wait >= 1),
                "{answer:?}"
            );
        }
    }
}
