//! Lockout after repeated wrong passwords, as the org's password policy asks
//! (`settings.password.lockout`; off by default). Every place that checks a password
//! (`flows::login::check_password`, so the sign-in page, `/api/v1/authn` and activation;
//! the account page's password change) calls these:
//!
//! - `auto_unlock` before checking: a lock older than `autoUnlockMinutes` lifts, in one
//!   statement (`user.account.unlock`);
//! - `failed` after a wrong password of an ACTIVE user: counted, and the count reaching
//!   `maxAttempts` locks in the same statement (`user.account.lock`, and the e-mail
//!   notice when the policy's channel is EMAIL);
//! - a successful sign-in sets the count back to 0 (`UserStore::record_login`).
//!
//! The throttle (`identity::throttle`) stays in front of all of it: it slows guessing
//! per username and address without locking anyone out.

use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::UnixTime;
use crate::flows::Services;
use crate::oauth::OAuthError;
use crate::store::{User, UserStatus};

/// A LOCKED_OUT user whose lock is at least `autoUnlockMinutes` old is unlocked now
/// (Okta evaluates it at the next attempt). Returns the user as they are after it.
pub async fn auto_unlock(
    services: &Services,
    user: User,
    ip: Option<String>,
    now: UnixTime,
) -> Result<User, OAuthError> {
    if user.status != UserStatus::LockedOut || !services.store.auto_unlock(&user.id, now).await? {
        return Ok(user);
    }
    let event = Event::success(
        "user.account.unlock",
        "Unlock user account after the lockout period",
        vec![Target::user(&user).changed(
            Some(serde_json::json!({ "status": UserStatus::LockedOut })),
            Some(serde_json::json!({ "status": UserStatus::Active })),
        )],
    );
    syslog::record(&services.store, &Actor::user(&user, ip), event, now).await;
    Ok(services.store.get_user(&user.id).await?.unwrap_or(user))
}

/// Counts a wrong password of `user`; true when it locked the account. Only an ACTIVE
/// user is counted (a locked one stays locked, its count where it stopped).
pub async fn failed(
    services: &Services,
    user: &User,
    ip: Option<String>,
    now: UnixTime,
) -> Result<bool, OAuthError> {
    let Some(failed) = services.store.count_failed_sign_in(&user.id, now).await? else {
        return Ok(false);
    };
    if !failed.locked {
        return Ok(false);
    }
    let policy = services.store.password_policy().await?;
    let target = Target::user(user).changed(
        Some(serde_json::json!({ "status": UserStatus::Active })),
        Some(serde_json::json!({ "status": UserStatus::LockedOut })),
    );
    let event = Event::failure(
        "user.account.lock",
        "Max sign in attempts exceeded",
        "LOCKED_OUT: too many wrong passwords in a row",
        vec![target],
    )
    .with_debug("failures", failed.failures)
    .with_debug("autoUnlockMinutes", policy.auto_unlock_minutes);
    syslog::record(&services.store, &Actor::user(user, ip), event, now).await;
    if policy.notify_email {
        services
            .mail
            .account_locked(user, &unlock_text(policy.auto_unlock_minutes), now)
            .await;
    }
    Ok(true)
}

/// Whether the answer to a locked account may say it is locked (the policy's
/// `showLockoutFailures`); otherwise it is the wrong-password answer.
pub async fn shows_lockout(services: &Services) -> Result<bool, OAuthError> {
    Ok(services
        .store
        .password_policy()
        .await?
        .show_lockout_failures)
}

/// The e-mail's sentence on how the account unlocks.
fn unlock_text(auto_unlock_minutes: i64) -> String {
    match auto_unlock_minutes {
        0 => "An administrator can unlock it, or you can unlock it by resetting your password \
              (\"Forgot password?\" on the sign-in page)."
            .to_string(),
        1 => "It unlocks by itself after 1 minute, or when you reset your password.".to_string(),
        m => format!("It unlocks by itself after {m} minutes, or when you reset your password."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::testing::fixture;
    use crate::store::PasswordPolicy;

    async fn set(f: &crate::flows::testing::Fixture, max: i64, unlock: i64) -> PasswordPolicy {
        let mut policy = f.services.store.password_policy().await.unwrap();
        policy.max_attempts = max;
        policy.auto_unlock_minutes = unlock;
        assert!(
            f.services
                .store
                .update_password_policy(&policy)
                .await
                .unwrap()
        );
        policy
    }

    #[tokio::test]
    async fn off_by_default_counts_but_never_locks() {
        let f = fixture().await;
        let user = f.user("ada@example.com").await;
        assert_eq!(
            f.services
                .store
                .password_policy()
                .await
                .unwrap()
                .max_attempts,
            0
        );
        for _ in 0..20 {
            assert!(!failed(&f.services, &user, None, f.now).await.unwrap());
        }
        let now = f.services.store.get_user(&user.id).await.unwrap().unwrap();
        assert_eq!(now.status, UserStatus::Active);
    }

    #[tokio::test]
    async fn the_nth_failure_locks_and_the_lock_lifts_after_its_minutes() {
        let f = fixture().await;
        set(&f, 3, 2).await;
        let user = f.user("ada@example.com").await;
        assert!(!failed(&f.services, &user, None, f.now).await.unwrap());
        assert!(!failed(&f.services, &user, None, f.now).await.unwrap());
        assert!(failed(&f.services, &user, None, f.now).await.unwrap());
        // Locked: further failures are not counted.
        assert!(!failed(&f.services, &user, None, f.now).await.unwrap());
        assert_eq!(f.services.store.failed_sign_ins(&user.id).await.unwrap(), 3);
        let locked = f.services.store.get_user(&user.id).await.unwrap().unwrap();
        assert_eq!(locked.status, UserStatus::LockedOut);
        let still = auto_unlock(&f.services, locked.clone(), None, f.now + 119)
            .await
            .unwrap();
        assert_eq!(still.status, UserStatus::LockedOut);
        let open = auto_unlock(&f.services, locked, None, f.now + 120)
            .await
            .unwrap();
        assert_eq!(open.status, UserStatus::Active);
        assert_eq!(f.services.store.failed_sign_ins(&user.id).await.unwrap(), 0);
    }

    #[test]
    fn the_notice_says_how_it_unlocks() {
        assert!(unlock_text(0).contains("administrator"));
        assert!(unlock_text(1).contains("1 minute,"));
        assert!(unlock_text(30).contains("30 minutes"));
    }
}
