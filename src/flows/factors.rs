//! A person's second factors: enrolling and activating a TOTP factor, checking a TOTP
//! or recovery code, making new recovery codes, removing factors. Shared by the
//! sign-in step (`flows::mfa`), the self-service pages and the Factors API.
//!
//! Every code check is throttled per user (`identity::throttle::factor_*`): whoever
//! guesses has the password already, so the counter follows the person, not the
//! address. A TOTP code is accepted for one step either side of now, once: the
//! factor's last accepted step only moves forward, in one statement (RFC 6238 §5.2).

use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::UnixTime;
use crate::crypto::okta_id;
use crate::factors::{self, qr, recovery, totp};
use crate::flows::Services;
use crate::identity::throttle;
use crate::oauth::OAuthError;
use crate::store::{FactorStatus, StoreError, User, UserFactor};

/// A TOTP factor waiting for its first code: what the person's app needs.
pub struct TotpEnrollment {
    pub factor: UserFactor,
    /// The shared secret, base32, for typing into an app by hand.
    pub secret: String,
    /// The `otpauth://` URI the QR code holds.
    pub uri: String,
    /// The QR code, an inline `<svg>` element.
    pub qr_svg: String,
}

/// What a code came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Verified,
    /// Wrong, used before (a replay), or no such factor: one answer.
    Invalid,
    /// Too many wrong codes: try again after `wait` seconds (the code was not checked).
    Throttled {
        wait: i64,
    },
}

/// Whether the person has a second factor to verify with: an ACTIVE factor of any
/// kind. Sign-in offers enrollment only to someone without one (whoever holds only the
/// password must never add a factor of their choosing to an account that has one).
pub async fn has_active_factor(services: &Services, user_id: &str) -> Result<bool, OAuthError> {
    let active = services
        .store
        .user_factors(user_id)
        .await?
        .iter()
        .any(|f| f.status == FactorStatus::Active);
    // A passkey is a second factor too (kept in its own table).
    Ok(active || !services.store.user_passkeys(user_id).await?.is_empty())
}

/// The person's ACTIVE TOTP factor, if any.
pub async fn active_totp(
    services: &Services,
    user_id: &str,
) -> Result<Option<UserFactor>, OAuthError> {
    Ok(services
        .store
        .user_factors(user_id)
        .await?
        .into_iter()
        .find(|f| f.factor_type == factors::TOTP && f.status == FactorStatus::Active))
}

/// Starts a TOTP enrollment: a new 160-bit secret, sealed under the master key with
/// the factor id as context, stored PENDING_ACTIVATION (replacing an earlier pending
/// one). `None` when the person has an ACTIVE TOTP factor already.
pub async fn enroll_totp(
    services: &Services,
    user: &User,
    now: UnixTime,
) -> Result<Option<TotpEnrollment>, OAuthError> {
    let secret = crate::crypto::random_bytes::<{ totp::SECRET_BYTES }>();
    let id = okta_id(factors::TOTP_ID_PREFIX);
    let factor = UserFactor {
        id: id.clone(),
        user_id: user.id.clone(),
        factor_type: factors::TOTP.into(),
        provider: factors::TOTP_PROVIDER.into(),
        status: FactorStatus::PendingActivation,
        secret_sealed: Some(services.master.encrypt(&secret, id.as_bytes())),
        last_step: None,
        email: None,
        created_at: now,
        updated_at: now,
    };
    match services.store.enroll_factor(&factor).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    enrollment_of(services, user, factor, &secret).map(Some)
}

/// A pending TOTP factor of `user` shown again (after a wrong first code), with the
/// same secret; `None` when it is not pending (activated, removed, another user's).
pub async fn pending_totp(
    services: &Services,
    user: &User,
    factor_id: &str,
) -> Result<Option<TotpEnrollment>, OAuthError> {
    let Some(factor) = services
        .store
        .get_factor(&user.id, factor_id)
        .await?
        .filter(|f| f.status == FactorStatus::PendingActivation && f.factor_type == factors::TOTP)
    else {
        return Ok(None);
    };
    let secret = secret_of(services, &factor)?;
    enrollment_of(services, user, factor, &secret).map(Some)
}

fn enrollment_of(
    services: &Services,
    user: &User,
    factor: UserFactor,
    secret: &[u8],
) -> Result<TotpEnrollment, OAuthError> {
    // The app lists the account under this label: the server's host and the login.
    let base = services.config.base_url();
    let host = url::Url::parse(&base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or(base);
    let uri = totp::otpauth_uri(&format!("Gatehouse {host}"), &user.login, secret);
    let qr_svg = qr::svg(&uri).ok_or_else(|| OAuthError::internal(&"the QR code"))?;
    Ok(TotpEnrollment {
        factor,
        secret: totp::base32(secret),
        uri,
        qr_svg,
    })
}

fn secret_of(services: &Services, factor: &UserFactor) -> Result<Vec<u8>, OAuthError> {
    let sealed = factor
        .secret_sealed
        .as_deref()
        .ok_or_else(|| OAuthError::internal(&"a TOTP factor without a secret"))?;
    services
        .master
        .decrypt(sealed, factor.id.as_bytes())
        .map_err(|e| OAuthError::internal(&e))
}

/// Activates a pending TOTP factor with its first code (which is then used up).
pub async fn activate_totp(
    services: &Services,
    user: &User,
    factor_id: &str,
    code: &str,
    ip: Option<String>,
    now: UnixTime,
) -> Result<Check, OAuthError> {
    let actor = Actor::user(user, ip);
    activate_totp_by(services, &actor, user, factor_id, code, now).await
}

/// `activate_totp` on behalf of someone else (an admin or an API client through the
/// Factors API): the System Log names `actor`, and the user as the target.
pub async fn activate_totp_by(
    services: &Services,
    actor: &Actor,
    user: &User,
    factor_id: &str,
    code: &str,
    now: UnixTime,
) -> Result<Check, OAuthError> {
    if let Some(wait) = throttle::factor_blocked(&services.store, &user.id, now).await? {
        return Ok(Check::Throttled { wait });
    }
    let factor = services
        .store
        .get_factor(&user.id, factor_id)
        .await?
        .filter(|f| f.status == FactorStatus::PendingActivation && f.factor_type == factors::TOTP);
    let step = match &factor {
        Some(f) => totp::matching_step(&secret_of(services, f)?, code, now),
        None => None,
    };
    let activated = match step {
        Some(step) => {
            services
                .store
                .activate_factor(&user.id, factor_id, step, now)
                .await?
        }
        None => false,
    };
    if !activated {
        return failed(services, actor, user, "INVALID_CODE", now).await;
    }
    throttle::factor_succeeded(&services.store, &user.id).await?;
    let event = Event::success(
        "user.mfa.factor.activate",
        "Activate factor for user",
        vec![Target::user(user), factor_target(factor_id)],
    )
    .with_debug("factorType", factors::TOTP);
    syslog::record(&services.store, actor, event, now).await;
    services
        .mail
        .factor_enrolled(user, "an authenticator app", now)
        .await;
    Ok(Check::Verified)
}

/// Checks a code from the person's ACTIVE TOTP factor: right for a step later than any
/// accepted before (one statement decides, so a code works once).
pub async fn verify_totp(
    services: &Services,
    user: &User,
    code: &str,
    ip: Option<String>,
    now: UnixTime,
) -> Result<Check, OAuthError> {
    verify_totp_by(services, &Actor::user(user, ip), user, code, now).await
}

/// `verify_totp` on behalf of someone else (an admin or an API client through the
/// Factors API): the System Log names `actor`, and the user as the target.
pub async fn verify_totp_by(
    services: &Services,
    actor: &Actor,
    user: &User,
    code: &str,
    now: UnixTime,
) -> Result<Check, OAuthError> {
    if let Some(wait) = throttle::factor_blocked(&services.store, &user.id, now).await? {
        return Ok(Check::Throttled { wait });
    }
    let accepted = match active_totp(services, &user.id).await? {
        Some(factor) => match totp::matching_step(&secret_of(services, &factor)?, code, now) {
            Some(step) => {
                services
                    .store
                    .use_totp_step(&user.id, &factor.id, step, now)
                    .await?
            }
            None => false,
        },
        None => false,
    };
    if !accepted {
        return failed(services, actor, user, "INVALID_CODE", now).await;
    }
    verified(services, actor, user, "token:software:totp", now).await
}

/// Uses one of the person's unused recovery codes.
pub async fn verify_recovery_code(
    services: &Services,
    user: &User,
    typed: &str,
    ip: Option<String>,
    now: UnixTime,
) -> Result<Check, OAuthError> {
    if let Some(wait) = throttle::factor_blocked(&services.store, &user.id, now).await? {
        return Ok(Check::Throttled { wait });
    }
    let used = match recovery::normalise(typed) {
        Some(code) => {
            let hash = services.master.hash_recovery_code(&user.id, &code);
            services
                .store
                .use_recovery_code(&user.id, &hash, now)
                .await?
        }
        None => false,
    };
    if !used {
        let actor = Actor::user(user, ip);
        return failed(services, &actor, user, "INVALID_RECOVERY_CODE", now).await;
    }
    verified(services, &Actor::user(user, ip), user, "recovery_code", now).await
}

/// A new set of recovery codes, replacing the old ones: the codes, shown once.
pub async fn new_recovery_codes(
    services: &Services,
    user: &User,
    ip: Option<String>,
    now: UnixTime,
) -> Result<Vec<String>, OAuthError> {
    let codes = recovery::generate();
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .filter_map(|c| recovery::normalise(c))
        .map(|c| services.master.hash_recovery_code(&user.id, &c))
        .collect();
    services
        .store
        .replace_recovery_codes(&user.id, &hashes, now)
        .await?;
    let event = Event::success(
        "user.mfa.factor.update",
        "New recovery codes for user",
        vec![Target::user(user)],
    );
    syslog::record(&services.store, &Actor::user(user, ip), event, now).await;
    Ok(codes)
}

/// Removes one factor of `user` (`false`: no such factor of theirs). With the last
/// second factor gone, the recovery codes go too (they stand in for a factor).
pub async fn remove(
    services: &Services,
    actor: &Actor,
    user: &User,
    factor_id: &str,
    now: UnixTime,
) -> Result<bool, OAuthError> {
    if !services.store.delete_factor(&user.id, factor_id).await? {
        return Ok(false);
    }
    if !has_active_factor(services, &user.id).await? {
        services
            .store
            .replace_recovery_codes(&user.id, &[], now)
            .await?;
    }
    let event = Event::success(
        "user.mfa.factor.deactivate",
        "Reset factor for user",
        vec![Target::user(user), factor_target(factor_id)],
    );
    syslog::record(&services.store, actor, event, now).await;
    Ok(true)
}

/// Removes every factor and recovery code of `user` (Okta's `reset_factors`), passkeys
/// included; how many factors there were.
pub async fn reset_all(
    store: &crate::store::DynStore,
    actor: &Actor,
    user: &User,
    now: UnixTime,
) -> Result<u64, OAuthError> {
    let removed =
        store.reset_factors(&user.id).await? + store.delete_user_passkeys(&user.id).await?;
    let event = Event::success(
        "user.mfa.factor.reset_all",
        "Reset all factors for user",
        vec![Target::user(user)],
    )
    .with_debug("factorsRemoved", removed);
    syslog::record(store, actor, event, now).await;
    Ok(removed)
}

fn factor_target(factor_id: &str) -> Target {
    Target::new(factor_id, "Factor", factor_id)
}

pub(crate) async fn verified(
    services: &Services,
    actor: &Actor,
    user: &User,
    method: &str,
    now: UnixTime,
) -> Result<Check, OAuthError> {
    throttle::factor_succeeded(&services.store, &user.id).await?;
    let event = Event::success(
        "user.authentication.auth_via_mfa",
        "Authentication of user via MFA",
        vec![Target::user(user)],
    )
    .with_debug("factor", method.to_string());
    syslog::record(&services.store, actor, event, now).await;
    Ok(Check::Verified)
}

pub(crate) async fn failed(
    services: &Services,
    actor: &Actor,
    user: &User,
    reason: &str,
    now: UnixTime,
) -> Result<Check, OAuthError> {
    let wait =
        throttle::factor_failed(&services.store, &services.config.throttle, &user.id, now).await?;
    let mut event = Event::failure(
        "user.authentication.auth_via_mfa",
        "Authentication of user via MFA",
        reason.to_string(),
        vec![Target::user(user)],
    );
    if let Some(wait) = wait {
        event = event.with_debug("retryAfterSeconds", wait);
    }
    syslog::record(&services.store, actor, event, now).await;
    Ok(Check::Invalid)
}
