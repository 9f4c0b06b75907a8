//! One-time codes sent by e-mail as a second factor (Okta's `factorType: "email"`,
//! provider `OKTA`). A factor holds the address its codes go to. Enrolled to the
//! person's primary address when that address is verified, it is ACTIVE at once (Okta
//! auto-activates the primary address); any other address, or an unverified one, is
//! PENDING_ACTIVATION until the code sent to it comes back, so nobody gets codes at an
//! address they have not shown they read.
//!
//! A code is six digits, kept only as a keyed hash (`Master::hash_recovery_code`, with
//! the factor id and a label of its own), lives `CODE_TTL` seconds, works once, and is
//! bound to what asked for it (`Binding`: the sign-in step's transaction, activation,
//! or the Factors API's verify), so a code sent for one sign-in does not finish
//! another. There is one outstanding code per factor and binding: sending again
//! replaces it, no sooner than `RESEND_AFTER` seconds after the last one. Wrong codes
//! count towards the same per-user throttle as TOTP and recovery codes
//! (`identity::throttle::factor_*`). The message is queued in the transaction that
//! stores the code, so a code exists exactly when its e-mail is on its way.

use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::UnixTime;
use crate::crypto::{okta_id, sha256};
use crate::factors;
use crate::flows::Services;
use crate::flows::factors::{self as factor_flows, Check};
use crate::identity::throttle;
use crate::oauth::OAuthError;
use crate::store::{FactorCode, FactorStatus, StoreError, User, UserFactor};

/// How long a code is valid: five minutes, Okta's default `tokenLifetimeSeconds`.
pub const CODE_TTL: i64 = 300;
/// How long to wait before another code is sent for the same purpose.
pub const RESEND_AFTER: i64 = 30;
/// How many digits a code has.
pub const DIGITS: usize = 6;

/// What a code is for.
#[derive(Debug, Clone, Copy)]
pub enum Binding<'a> {
    /// The sign-in step waiting under this transaction (`flows::mfa`).
    SignIn(&'a str),
    /// The factor's activation (the account page, the sign-in enrollment, the API).
    Activation,
    /// `POST /api/v1/users/{id}/factors/{fid}/verify` without a `passCode`.
    Api,
}

impl Binding<'_> {
    fn bytes(self) -> Vec<u8> {
        let text = match self {
            Binding::SignIn(tx) => format!("gatehouse email code sign-in\0{tx}"),
            Binding::Activation => "gatehouse email code activation".to_string(),
            Binding::Api => "gatehouse email code api".to_string(),
        };
        sha256(text.as_bytes())
    }
}

/// What sending a code came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Queued; valid until `expires_at`.
    Sent { expires_at: UnixTime },
    /// A code for this purpose was sent less than `RESEND_AFTER` seconds ago: `wait`
    /// seconds more.
    TooSoon { wait: i64 },
    /// E-mail is not configured, or the factor is gone.
    Unavailable,
}

/// What enrolling came to.
#[derive(Debug, Clone)]
pub enum Enrolled {
    /// ACTIVE at once (the verified primary address).
    Active(UserFactor),
    /// PENDING_ACTIVATION; a code was sent to the address.
    Pending(UserFactor),
    /// The person has an ACTIVE e-mail factor already.
    Exists,
    /// E-mail is not configured on this server.
    MailOff,
}

/// The address hidden for a page: `a***@example.com`.
pub fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

/// The person's ACTIVE e-mail factor, if any.
pub async fn active(services: &Services, user_id: &str) -> Result<Option<UserFactor>, OAuthError> {
    Ok(services
        .store
        .user_factors(user_id)
        .await?
        .into_iter()
        .find(|f| f.factor_type == factors::EMAIL && f.status == FactorStatus::Active))
}

/// A pending e-mail factor of `user`, if `factor_id` names one.
pub async fn pending(
    services: &Services,
    user: &User,
    factor_id: &str,
) -> Result<Option<UserFactor>, OAuthError> {
    Ok(services
        .store
        .get_factor(&user.id, factor_id)
        .await?
        .filter(|f| f.factor_type == factors::EMAIL && f.status == FactorStatus::PendingActivation))
}

/// Whether `email` is `user`'s primary address and proven (a link followed).
pub fn is_verified_primary(user: &User, email: &str) -> bool {
    user.email_verified()
        && user
            .email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(email))
}

/// Enrolls an e-mail factor for `user` at `email`. `activate`: ACTIVE at once, which
/// only an address the person has proven may be (the verified primary address; an
/// admin's `activate=true` for another address is the caller's to refuse). Otherwise
/// PENDING_ACTIVATION with a code sent to the address.
pub async fn enroll(
    services: &Services,
    actor: &Actor,
    user: &User,
    email: &str,
    activate: bool,
    now: UnixTime,
) -> Result<Enrolled, OAuthError> {
    if !services.mail.enabled() {
        return Ok(Enrolled::MailOff);
    }
    let id = okta_id(factors::EMAIL_ID_PREFIX);
    let mut factor = UserFactor {
        id: id.clone(),
        user_id: user.id.clone(),
        factor_type: factors::EMAIL.into(),
        provider: factors::EMAIL_PROVIDER.into(),
        status: if activate {
            FactorStatus::Active
        } else {
            FactorStatus::PendingActivation
        },
        secret_sealed: None,
        last_step: None,
        email: Some(email.to_string()),
        created_at: now,
        updated_at: now,
    };
    match services.store.enroll_factor(&factor).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Ok(Enrolled::Exists),
        Err(e) => return Err(e.into()),
    }
    if activate {
        activated(services, actor, user, &factor.id, now).await;
        return Ok(Enrolled::Active(factor));
    }
    // A new factor has no code yet: this send is never throttled.
    if let Sent::Unavailable = send(services, user, &factor, Binding::Activation, now).await? {
        return Ok(Enrolled::MailOff);
    }
    factor.status = FactorStatus::PendingActivation;
    Ok(Enrolled::Pending(factor))
}

/// Sends a new code of `factor` for `binding`, unless one was sent for it less than
/// `RESEND_AFTER` seconds ago.
pub async fn send(
    services: &Services,
    user: &User,
    factor: &UserFactor,
    binding: Binding<'_>,
    now: UnixTime,
) -> Result<Sent, OAuthError> {
    let Some(to) = factor.email.as_deref().filter(|_| services.mail.enabled()) else {
        return Ok(Sent::Unavailable);
    };
    let code = new_code();
    let row = FactorCode {
        factor_id: factor.id.clone(),
        user_id: user.id.clone(),
        binding: binding.bytes(),
        code_hash: hash(services, &factor.id, &code),
        created_at: now,
        expires_at: now + CODE_TTL,
    };
    let email = services.mail.factor_code(user, to, &code, "5 minutes");
    let job = services.mail.job(&email, now);
    if services
        .store
        .issue_factor_code(&row, now - RESEND_AFTER, &job)
        .await?
    {
        services.mail.wake();
        return Ok(Sent::Sent {
            expires_at: row.expires_at,
        });
    }
    Ok(
        match services
            .store
            .factor_code_sent_at(&factor.id, &row.binding)
            .await?
        {
            Some(at) => Sent::TooSoon {
                wait: (at + RESEND_AFTER - now).max(1),
            },
            None => Sent::Unavailable,
        },
    )
}

/// Checks a code of the person's ACTIVE e-mail factor sent for `binding`.
pub async fn verify(
    services: &Services,
    user: &User,
    binding: Binding<'_>,
    typed: &str,
    actor: &Actor,
    now: UnixTime,
) -> Result<Check, OAuthError> {
    let factor = active(services, &user.id).await?;
    check(services, user, factor.as_ref(), binding, typed, actor, now).await
}

/// Activates a pending e-mail factor with the code sent to its address.
pub async fn activate(
    services: &Services,
    user: &User,
    factor_id: &str,
    typed: &str,
    actor: &Actor,
    now: UnixTime,
) -> Result<Check, OAuthError> {
    let factor = pending(services, user, factor_id).await?;
    let check = check(
        services,
        user,
        factor.as_ref(),
        Binding::Activation,
        typed,
        actor,
        now,
    )
    .await?;
    if check != Check::Verified {
        return Ok(check);
    }
    // The step is meaningless for e-mail codes; the same statement turns TOTP on.
    if !services
        .store
        .activate_factor(&user.id, factor_id, 0, now)
        .await?
    {
        return Ok(Check::Invalid);
    }
    activated(services, actor, user, factor_id, now).await;
    Ok(Check::Verified)
}

async fn check(
    services: &Services,
    user: &User,
    factor: Option<&UserFactor>,
    binding: Binding<'_>,
    typed: &str,
    actor: &Actor,
    now: UnixTime,
) -> Result<Check, OAuthError> {
    if let Some(wait) = throttle::factor_blocked(&services.store, &user.id, now).await? {
        return Ok(Check::Throttled { wait });
    }
    let accepted = match (factor, normalise(typed)) {
        (Some(factor), Some(code)) => {
            services
                .store
                .use_factor_code(
                    &factor.id,
                    &binding.bytes(),
                    &hash(services, &factor.id, &code),
                    now,
                )
                .await?
        }
        _ => false,
    };
    if !accepted {
        return factor_flows::failed(services, actor, user, "INVALID_CODE", now).await;
    }
    if matches!(binding, Binding::Activation) {
        throttle::factor_succeeded(&services.store, &user.id).await?;
        return Ok(Check::Verified);
    }
    factor_flows::verified(services, actor, user, factors::EMAIL, now).await
}

async fn activated(
    services: &Services,
    actor: &Actor,
    user: &User,
    factor_id: &str,
    now: UnixTime,
) {
    let event = Event::success(
        "user.mfa.factor.activate",
        "Activate factor for user",
        vec![
            Target::user(user),
            Target::new(factor_id, "Factor", factor_id),
        ],
    )
    .with_debug("factorType", factors::EMAIL);
    syslog::record(&services.store, actor, event, now).await;
    services
        .mail
        .factor_enrolled(user, "one-time codes by e-mail", now)
        .await;
}

fn hash(services: &Services, factor_id: &str, code: &str) -> Vec<u8> {
    services
        .master
        .hash_recovery_code(&format!("email factor code\0{factor_id}"), code)
}

/// A new code: `DIGITS` decimal digits, uniform (rejection sampling).
fn new_code() -> String {
    let modulus = 10u32.pow(DIGITS as u32);
    let limit = u32::MAX - u32::MAX % modulus;
    loop {
        let n = u32::from_be_bytes(crate::crypto::random_bytes::<4>());
        if n < limit {
            return format!("{:0width$}", n % modulus, width = DIGITS);
        }
    }
}

/// The digits of a typed code (spaces and dashes ignored), if it has `DIGITS`.
fn normalise(typed: &str) -> Option<String> {
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (digits.len() == DIGITS && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_typing_is_forgiving() {
        for _ in 0..100 {
            let code = new_code();
            assert_eq!(code.len(), DIGITS);
            assert!(code.chars().all(|c| c.is_ascii_digit()));
        }
        assert_eq!(normalise(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalise("123-456").as_deref(), Some("123456"));
        assert_eq!(normalise("12345"), None);
        assert_eq!(normalise("12345a"), None);
        assert_eq!(masked("ada@example.com"), "a***@example.com");
    }

    #[test]
    fn bindings_differ() {
        assert_ne!(Binding::SignIn("a").bytes(), Binding::SignIn("b").bytes());
        assert_ne!(Binding::Activation.bytes(), Binding::Api.bytes());
    }
}
