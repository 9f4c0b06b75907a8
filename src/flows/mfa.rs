//! The second-factor step of sign-in: `/signin/verify` (enter a code from an enrolled
//! method) and `/signin/enroll` (set up a first factor when one is required and the
//! person has none). A request lands here from the sign-in page after the password, or
//! from `/authorize` when the browser's session has not proved what the request needs
//! (`flows::assurance`, whose `start` sends it here). The request waits in
//! `pending_authorizations` as a `PendingVerify` under its own `tx`, taken once when
//! the step succeeds.
//!
//! Methods. The verify page lists every method the person can use (`Method`), and the
//! form posts `method` with what that method needs. A new kind of factor plugs in
//! with a variant of `Method` (its name, label and whether the person has it,
//! `methods`), and an arm in `verify`'s `match` that checks it and names the RFC 8176
//! `amr` value it proves.

use crate::clock::UnixTime;
use crate::crypto::sha256;
use crate::factors::{Proof, amr};
use crate::flows::Services;
use crate::flows::assurance::{PendingVerify, store_pending};
use crate::flows::authorize::{self, Known, Outcome};
use crate::flows::factors::{self, Check, TotpEnrollment};
use crate::flows::passkeys::{self, AssertionResponse};
use crate::flows::sessions;
use crate::identity::session::Device;
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, OAuthError};
use crate::store::User;

/// A way to prove a second factor on the verify page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A six-digit code from an authenticator app.
    Totp,
    /// One of the person's one-time recovery codes.
    RecoveryCode,
    /// One of the person's passkeys or security keys (`flows::passkeys::second_factor`).
    Passkey,
}

impl Method {
    /// The form's `method` value.
    pub fn name(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::RecoveryCode => "recovery",
            Method::Passkey => "webauthn",
        }
    }

    pub fn parse(name: &str) -> Option<Method> {
        [Method::Passkey, Method::Totp, Method::RecoveryCode]
            .into_iter()
            .find(|m| m.name() == name)
    }

    /// Whether this method proves a phishing-resistant factor: a passkey's signature
    /// covers the origin; a code can be typed into any site.
    fn phishing_resistant(self) -> bool {
        self == Method::Passkey
    }
}

/// The methods `user_id` can verify with, in the order the page offers them.
pub async fn methods(services: &Services, user_id: &str) -> Result<Vec<Method>, OAuthError> {
    let mut found = Vec::new();
    if passkeys::second_factor::available(services, user_id).await? {
        found.push(Method::Passkey);
    }
    if factors::active_totp(services, user_id).await?.is_some() {
        found.push(Method::Totp);
    }
    if services.store.recovery_codes_left(user_id).await? > 0 {
        found.push(Method::RecoveryCode);
    }
    Ok(found)
}

/// The request waiting behind `tx` and its user (still active), if any.
pub async fn pending(
    services: &Services,
    tx: &str,
    now: UnixTime,
) -> Result<Option<(PendingVerify, User)>, OAuthError> {
    let Some(row) = services
        .store
        .get_pending(&sha256(tx.as_bytes()), now)
        .await?
    else {
        return Ok(None);
    };
    let Ok(pending) = serde_json::from_str::<PendingVerify>(&row.request) else {
        return Ok(None);
    };
    match services.store.get_user(&pending.user_id).await? {
        Some(user) if user.is_active() => Ok(Some((pending, user))),
        _ => Ok(None),
    }
}

/// A form the browser posted to the step (its CSRF token already checked).
pub struct StepRequest<'a> {
    pub tx: &'a str,
    pub params: &'a Params,
    pub session_cookie: Option<&'a str>,
    pub ip: Option<String>,
    /// The browser's `User-Agent`, kept with the session the step starts.
    pub user_agent: Option<&'a str>,
}

/// What the browser gets.
pub enum Step {
    /// The step expired, was used already, or its user is no longer active.
    Expired,
    /// The code was not right: the page again.
    Failed { pending: PendingVerify, user: User },
    /// Too many wrong codes: the page again, after `wait` seconds.
    Throttled {
        pending: PendingVerify,
        user: User,
        wait: i64,
    },
    /// The methods offered cannot meet what the request needs (a phishing-resistant
    /// factor, say): the app gets `access_denied`.
    Unmet(Outcome),
    /// A factor was just enrolled: the recovery codes to show once, and the `tx` under
    /// which the request goes on (`resume`).
    Enrolled { tx: String, codes: Vec<String> },
    /// Signed in: the new session's cookie value, and the authorization's outcome.
    Done {
        session_id: String,
        outcome: Outcome,
    },
}

/// `/signin/verify`: checks the code of the posted `method`.
pub async fn verify(
    services: &Services,
    step: &StepRequest<'_>,
    now: UnixTime,
) -> Result<Step, OAuthError> {
    let Some((pending, user)) = pending(services, step.tx, now).await? else {
        return Ok(Step::Expired);
    };
    if pending.verified {
        return Ok(Step::Expired);
    }
    let offered = methods(services, &user.id).await?;
    let method = step
        .params
        .one("method")?
        .and_then(Method::parse)
        .filter(|m| offered.contains(m));
    let code = step.params.one("code")?.unwrap_or("");
    let ip = step.ip.clone();
    let (check, proves) = match method {
        Some(Method::Totp) => (
            factors::verify_totp(services, &user, code, ip, now).await?,
            amr::OTP,
        ),
        Some(Method::RecoveryCode) => (
            factors::verify_recovery_code(services, &user, code, ip, now).await?,
            amr::OTP,
        ),
        Some(Method::Passkey) => {
            let response = AssertionResponse::from_params(step.params)?;
            passkeys::second_factor::check(services, &user, step.tx, &response, ip, now).await?
        }
        None => {
            return Err(OAuthError::invalid_request(
                "The method is not one this person can use.",
            ));
        }
    };
    match check {
        Check::Invalid => Ok(Step::Failed { pending, user }),
        Check::Throttled { wait } => Ok(Step::Throttled {
            pending,
            user,
            wait,
        }),
        Check::Verified => {
            let phishing_resistant = method.is_some_and(Method::phishing_resistant);
            let proof = pending.proof().with_second_factor(proves, now);
            finish(
                services,
                step,
                pending,
                user,
                proof,
                phishing_resistant,
                now,
            )
            .await
        }
    }
}

/// `/signin/enroll` (GET): a new pending TOTP factor to show, for a person who has no
/// second factor (`None` when the step is gone, or the person has one: they verify).
pub async fn enrollment(
    services: &Services,
    tx: &str,
    now: UnixTime,
) -> Result<Option<(PendingVerify, TotpEnrollment)>, OAuthError> {
    let Some((pending, user)) = pending(services, tx, now).await? else {
        return Ok(None);
    };
    if pending.verified || factors::has_active_factor(services, &user.id).await? {
        return Ok(None);
    }
    Ok(factors::enroll_totp(services, &user, now)
        .await?
        .map(|e| (pending, e)))
}

/// `/signin/enroll` (POST): the first code activates the factor shown (`factor_id`);
/// then new recovery codes, shown once, and the request waits under a new `tx`.
pub async fn enroll(
    services: &Services,
    step: &StepRequest<'_>,
    now: UnixTime,
) -> Result<Step, OAuthError> {
    let Some((pending, user)) = pending(services, step.tx, now).await? else {
        return Ok(Step::Expired);
    };
    // Whoever holds only the password must never add a factor to an account that has
    // one: enrolling in sign-in is for people without any.
    if pending.verified || factors::has_active_factor(services, &user.id).await? {
        return Ok(Step::Expired);
    }
    let factor_id = step.params.required("factor_id")?;
    let code = step.params.one("code")?.unwrap_or("");
    match factors::activate_totp(services, &user, factor_id, code, step.ip.clone(), now).await? {
        Check::Invalid => Ok(Step::Failed { pending, user }),
        Check::Throttled { wait } => Ok(Step::Throttled {
            pending,
            user,
            wait,
        }),
        Check::Verified => {
            let taken = services
                .store
                .take_pending(&sha256(step.tx.as_bytes()), now)
                .await?;
            if taken.is_none() {
                return Ok(Step::Expired);
            }
            let codes = factors::new_recovery_codes(services, &user, step.ip.clone(), now).await?;
            let proof = pending.proof().with_second_factor(amr::OTP, now);
            let next = PendingVerify {
                auth_time: proof.auth_time,
                amr: proof.amr,
                mfa_at: proof.mfa_at,
                verified: true,
                ..pending
            };
            let tx = store_pending(services, &next, now).await?;
            Ok(Step::Enrolled { tx, codes })
        }
    }
}

/// `/signin/continue`: after the recovery codes were shown, the request goes on.
pub async fn resume(
    services: &Services,
    step: &StepRequest<'_>,
    now: UnixTime,
) -> Result<Step, OAuthError> {
    let Some((pending, user)) = pending(services, step.tx, now).await? else {
        return Ok(Step::Expired);
    };
    if !pending.verified {
        return Ok(Step::Expired);
    }
    let proof = pending.proof();
    finish(services, step, pending, user, proof, false, now).await
}

/// The factor was verified: takes the request once, starts a new session recording
/// what was proved, and finishes the authorization request.
async fn finish(
    services: &Services,
    step: &StepRequest<'_>,
    pending: PendingVerify,
    user: User,
    proof: Proof,
    phishing_resistant: bool,
    now: UnixTime,
) -> Result<Step, OAuthError> {
    let taken = services
        .store
        .take_pending(&sha256(step.tx.as_bytes()), now)
        .await?;
    if taken.is_none() {
        return Ok(Step::Expired);
    }
    let request = pending.verify.clone();
    let requirement = pending.requirement();
    if requirement.phishing_resistant && !phishing_resistant {
        let e = OAuthError::new(
            ErrorCode::AccessDenied,
            "The sign-in did not use a phishing-resistant factor, which the request requires.",
        );
        return Ok(Step::Unmet(Outcome::Reply(request.reply.error(&e))));
    }
    let device = Device::new(step.user_agent, step.ip.clone());
    let (session_id, session) = sessions::start_proven(
        services,
        &user.id,
        proof.clone(),
        now,
        step.session_cookie,
        &device,
    )
    .await?;
    let outcome = match &request.hint_sub {
        Some(sub) if *sub != user.id => Outcome::Reply(request.reply.error(&OAuthError::new(
            ErrorCode::LoginRequired,
            "The user who signed in is not the one the id_token_hint names.",
        ))),
        _ => {
            let user_id = user.id.clone();
            authorize::complete(
                services,
                &request,
                &user_id,
                proof.auth_time,
                now,
                Known {
                    ip: step.ip.clone(),
                    user: Some(user),
                    amr: proof.amr,
                    session_hash: Some(session.id_hash),
                    ..Known::default()
                },
            )
            .await
        }
    };
    Ok(Step::Done {
        session_id,
        outcome,
    })
}
