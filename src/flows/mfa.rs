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

use crate::admin::syslog::Actor;
use crate::clock::UnixTime;
use crate::crypto::sha256;
use crate::factors::{Proof, amr};
use crate::flows::Services;
use crate::flows::assurance::{PendingVerify, store_pending};
use crate::flows::authorize::{self, Known, Outcome};
use crate::flows::email_factor::{self, Binding, Sent};
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
    /// A one-time code sent to the person's e-mail factor (`flows::email_factor`).
    Email,
}

impl Method {
    /// The form's `method` value.
    pub fn name(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::RecoveryCode => "recovery",
            Method::Passkey => "webauthn",
            Method::Email => "email",
        }
    }

    pub fn parse(name: &str) -> Option<Method> {
        [
            Method::Passkey,
            Method::Totp,
            Method::Email,
            Method::RecoveryCode,
        ]
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
    if services.mail.enabled() && email_factor::active(services, user_id).await?.is_some() {
        found.push(Method::Email);
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
    /// An e-mail code was asked for: sent to `to` (masked), or not yet, `wait` seconds
    /// after the last one; the page again.
    CodeSent {
        pending: PendingVerify,
        user: User,
        to: String,
        wait: Option<i64>,
    },
    /// An e-mail factor waits for the code sent to its address (`wait`: a new code
    /// was asked for too soon); the code page.
    EmailPending {
        pending: PendingVerify,
        user: User,
        factor: crate::store::UserFactor,
        wait: Option<i64>,
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
        Some(Method::Email) if step.params.one("send")?.is_some() => {
            return send_code(services, step.tx, pending, user, now).await;
        }
        Some(Method::Email) => (
            email_factor::verify(
                services,
                &user,
                Binding::SignIn(step.tx),
                code,
                &Actor::user(&user, ip),
                now,
            )
            .await?,
            amr::EMAIL,
        ),
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

/// "Send code": a new code to the person's e-mail factor, bound to this step.
async fn send_code(
    services: &Services,
    tx: &str,
    pending: PendingVerify,
    user: User,
    now: UnixTime,
) -> Result<Step, OAuthError> {
    let Some(factor) = email_factor::active(services, &user.id).await? else {
        return Ok(Step::Expired);
    };
    let to = email_factor::masked(factor.email.as_deref().unwrap_or(""));
    let wait = match email_factor::send(services, &user, &factor, Binding::SignIn(tx), now).await? {
        Sent::Sent { .. } => None,
        Sent::TooSoon { wait } => Some(wait),
        Sent::Unavailable => return Ok(Step::Expired),
    };
    Ok(Step::CodeSent {
        pending,
        user,
        to,
        wait,
    })
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
/// `method=email` sets up codes by e-mail to the person's primary address instead: on
/// at once when the address is verified, else after the code sent to it comes back
/// (`factor_id` and `code`; `send` for a new code).
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
    match step.params.one("method")? {
        Some("email") => return enroll_email(services, step, pending, user, now).await,
        Some("webauthn") => return enroll_passkey(services, step, pending, user, now).await,
        _ => {}
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
        Check::Verified => enrolled(services, step, pending, &user, amr::OTP, now).await,
    }
}

/// The binding of a passkey registration in the step `tx`.
fn passkey_binding(tx: &str) -> Vec<u8> {
    let mut text = b"gatehouse passkey enrollment in sign-in\0".to_vec();
    text.extend_from_slice(tx.as_bytes());
    text
}

/// The creation options for a passkey set up in the step `tx` (`None` when the step
/// is gone, or the person has a factor: they verify with it).
pub async fn enroll_passkey_options(
    services: &Services,
    tx: &str,
    ip: Option<&str>,
    now: UnixTime,
) -> Result<Option<serde_json::Value>, OAuthError> {
    let Some((pending, user)) = pending(services, tx, now).await? else {
        return Ok(None);
    };
    if pending.verified || factors::has_active_factor(services, &user.id).await? {
        return Ok(None);
    }
    let options =
        passkeys::manage::creation_options_for(services, &user, &passkey_binding(tx), ip, now)
            .await?;
    Ok(Some(options))
}

/// A passkey registered in the step: it proves possession of the key there and then
/// (`hwk`, or `swk` for a synced one), so a request asking for a phishing-resistant
/// factor is met at once.
async fn enroll_passkey(
    services: &Services,
    step: &StepRequest<'_>,
    pending: PendingVerify,
    user: User,
    now: UnixTime,
) -> Result<Step, OAuthError> {
    let field = |name| {
        step.params
            .one(name)
            .ok()
            .flatten()
            .unwrap_or("")
            .to_string()
    };
    let response = passkeys::manage::RegistrationResponse {
        client_data_json: field("client_data_json"),
        attestation_object: field("attestation_object"),
        transports: field("transports"),
        resident_key: field("resident_key"),
        name: String::new(),
    };
    let added = passkeys::manage::register_for(
        services,
        &user,
        &passkey_binding(step.tx),
        &response,
        step.ip.clone(),
        now,
    )
    .await?;
    match added {
        passkeys::manage::Added::Added(passkey) => {
            let proves = if passkey.backed_up { "swk" } else { "hwk" };
            enrolled(services, step, pending, &user, proves, now).await
        }
        passkeys::manage::Added::Refused(_) | passkeys::manage::Added::Duplicate => {
            Ok(Step::Failed { pending, user })
        }
    }
}

async fn enroll_email(
    services: &Services,
    step: &StepRequest<'_>,
    pending: PendingVerify,
    user: User,
    now: UnixTime,
) -> Result<Step, OAuthError> {
    let ip = step.ip.clone();
    let Some(factor_id) = step.params.one("factor_id")? else {
        // The choice: the primary address, the only one offered here.
        let Some(email) = user.email.clone() else {
            return Ok(Step::Expired);
        };
        let verified = email_factor::is_verified_primary(&user, &email);
        let actor = crate::admin::syslog::Actor::user(&user, ip);
        return Ok(
            match email_factor::enroll(services, &actor, &user, &email, verified, now).await? {
                email_factor::Enrolled::Active(_) => {
                    enrolled(services, step, pending, &user, amr::EMAIL, now).await?
                }
                email_factor::Enrolled::Pending(factor) => Step::EmailPending {
                    pending,
                    user,
                    factor,
                    wait: None,
                },
                email_factor::Enrolled::Exists | email_factor::Enrolled::MailOff => Step::Expired,
            },
        );
    };
    let Some(factor) = email_factor::pending(services, &user, factor_id).await? else {
        return Ok(Step::Expired);
    };
    if step.params.one("send")?.is_some() {
        let wait =
            match email_factor::send(services, &user, &factor, Binding::Activation, now).await? {
                Sent::Sent { .. } => None,
                Sent::TooSoon { wait } => Some(wait),
                Sent::Unavailable => return Ok(Step::Expired),
            };
        return Ok(Step::EmailPending {
            pending,
            user,
            factor,
            wait,
        });
    }
    let code = step.params.one("code")?.unwrap_or("");
    let actor = Actor::user(&user, ip);
    match email_factor::activate(services, &user, factor_id, code, &actor, now).await? {
        Check::Invalid => Ok(Step::Failed { pending, user }),
        Check::Throttled { wait } => Ok(Step::Throttled {
            pending,
            user,
            wait,
        }),
        Check::Verified => enrolled(services, step, pending, &user, amr::EMAIL, now).await,
    }
}

/// A first factor was just set up in the step (proving `proves`): new recovery codes,
/// and the request waits under a new `tx` until they were shown.
async fn enrolled(
    services: &Services,
    step: &StepRequest<'_>,
    pending: PendingVerify,
    user: &User,
    proves: &str,
    now: UnixTime,
) -> Result<Step, OAuthError> {
    let taken = services
        .store
        .take_pending(&sha256(step.tx.as_bytes()), now)
        .await?;
    if taken.is_none() {
        return Ok(Step::Expired);
    }
    let codes = factors::new_recovery_codes(services, user, step.ip.clone(), now).await?;
    let proof = pending.proof().with_second_factor(proves, now);
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
    // A passkey set up in the step proved a phishing-resistant factor.
    let phishing_resistant = proof.amr.iter().any(|m| m == "hwk" || m == "swk");
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
    let (session_id, session) = match pending.federation() {
        Some(federation) => {
            sessions::start_federated(
                services,
                &user.id,
                proof.clone(),
                federation,
                now,
                step.session_cookie,
                &device,
            )
            .await?
        }
        None => {
            sessions::start_proven(
                services,
                &user.id,
                proof.clone(),
                now,
                step.session_cookie,
                &device,
            )
            .await?
        }
    };
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
