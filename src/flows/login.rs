//! The hosted sign-in page's decision: check the username and password, with failures
//! throttled per (username, address) and per address (`identity::throttle`); a
//! throttled attempt is refused without the password being checked. An unknown user
//! and a wrong password get the same answer, after the same work. A success starts a
//! new session (never the browser's old id) and finishes the authorization request.

use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::UnixTime;
use crate::crypto::sha256;
use crate::factors::Proof;
use crate::flows::Services;
use crate::flows::assurance;
use crate::flows::authorize::{self, Known, Outcome};
use crate::flows::federation;
use crate::flows::lockout;
use crate::flows::sessions;
use crate::identity::password;
use crate::identity::session::Device;
use crate::identity::throttle::{self, Blocked};
use crate::oauth::authorize::AuthorizationRequest;
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, OAuthError};
use crate::store::UserStatus;

/// A sign-in form the browser posted for the pending request `tx` (its CSRF token
/// already checked).
pub struct SignInRequest<'a> {
    pub tx: &'a str,
    /// The form: `username` and `password`.
    pub params: &'a Params,
    /// The value of the browser's session cookie, if it sent one: it ends.
    pub session_cookie: Option<&'a str>,
    pub ip: Option<String>,
    /// The browser's `User-Agent`, kept with the session the sign-in starts.
    pub user_agent: Option<&'a str>,
}

/// What the browser gets.
pub enum SignIn {
    /// The pending request expired or was used already.
    Expired,
    /// Wrong username or password (or an inactive user): the form again.
    Failed(AuthorizationRequest),
    /// The account is locked and the password policy lets the page say so
    /// (`showLockoutFailures`): the form again, with that message.
    LockedOut(AuthorizationRequest),
    /// A counter is blocked: the form again, after `wait` seconds.
    Throttled {
        request: AuthorizationRequest,
        wait: i64,
    },
    /// The password was right and the request needs a second factor: the step's page
    /// (`flows::mfa`).
    SecondFactor(String),
    /// Signed in: the new session's cookie value, and the authorization's outcome.
    SignedIn {
        session_id: String,
        outcome: Outcome,
    },
    /// IdP discovery routes the username to an identity provider: this address
    /// (`/sso/idps/{id}?tx=…&login_hint=…`) sends the browser there.
    Upstream(String),
    /// IdP discovery is on and the username stays here: the form again, now asking
    /// for the password (identifier first).
    Password {
        request: AuthorizationRequest,
        username: String,
    },
}

/// The pending request behind `tx`, still waiting.
pub async fn pending(
    services: &Services,
    tx: &str,
    now: UnixTime,
) -> Result<Option<AuthorizationRequest>, OAuthError> {
    let found = services
        .store
        .get_pending(&sha256(tx.as_bytes()), now)
        .await?;
    Ok(found.and_then(|p| serde_json::from_str(&p.request).ok()))
}

pub async fn sign_in(
    services: &Services,
    request: &SignInRequest<'_>,
    now: UnixTime,
) -> Result<SignIn, OAuthError> {
    let SignInRequest {
        tx,
        params,
        session_cookie,
        ..
    } = *request;
    let ip = request.ip.clone();
    let device = Device::new(request.user_agent, ip.clone());
    let Some(request) = pending(services, tx, now).await? else {
        return Ok(SignIn::Expired);
    };
    let username = params.one("username")?.unwrap_or("").trim();
    // Okta's IdP discovery, when a rule routes somewhere other than the password: the
    // username decides first, before any password is checked.
    let routed = federation::route(
        services,
        &request.server_id,
        username,
        &request.client_id,
        ip.as_deref(),
    )
    .await?;
    if let Some(routed) = routed {
        if let Some(provider) = routed {
            let enc = |v: &str| {
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            };
            return Ok(SignIn::Upstream(format!(
                "/sso/idps/{}?tx={}&login_hint={}",
                enc(&provider.id),
                enc(tx),
                enc(username)
            )));
        }
        if params.one("password")?.is_none() {
            return Ok(SignIn::Password {
                request,
                username: username.to_string(),
            });
        }
    }
    let password_given = params.one("password")?.unwrap_or("");
    let user = match check_password(services, username, password_given, ip.clone(), now).await? {
        Checked::Valid(user) => *user,
        Checked::Invalid => return Ok(SignIn::Failed(request)),
        Checked::LockedOut => return Ok(SignIn::LockedOut(request)),
        Checked::Throttled { wait } => return Ok(SignIn::Throttled { request, wait }),
    };
    // Take the request once: a double-submitted form issues one code.
    let taken = services
        .store
        .take_pending(&sha256(tx.as_bytes()), now)
        .await?;
    if taken.is_none() {
        return Ok(SignIn::Expired);
    }
    // A second factor, when the request needs one: the session starts after it.
    let proof = Proof::password(now);
    let requirement = assurance::requirement(services, &request, &user, ip.as_deref(), now).await?;
    if !requirement.met_by_amr(&proof.amr, proof.mfa_at, now) {
        let location =
            assurance::start(services, &request, &user, &proof, requirement, now).await?;
        return Ok(SignIn::SecondFactor(location));
    }
    let (session_id, session) =
        sessions::start(services, &user.id, now, now, session_cookie, &device).await?;
    // OpenID Connect Core §3.1.2.1: a request with an `id_token_hint` is answered
    // positively only for the user it names; someone else signed in (a session of
    // their own), but the client gets an error, not a code for another user.
    let outcome = match &request.hint_sub {
        Some(sub) if *sub != user.id => Outcome::Reply(request.reply.error(&OAuthError::new(
            ErrorCode::LoginRequired,
            "The user who signed in is not the one the id_token_hint names.",
        ))),
        _ => {
            authorize::complete(
                services,
                &request,
                &user.id,
                now,
                now,
                Known {
                    ip,
                    session_hash: Some(session.id_hash),
                    ..Known::default()
                },
            )
            .await
        }
    };
    Ok(SignIn::SignedIn {
        session_id,
        outcome,
    })
}

/// What a username and password came to.
pub enum Checked {
    /// Right, for an active user (the System Log has `user.session.start`, `lastLogin`
    /// is recorded).
    Valid(Box<crate::store::User>),
    /// Wrong password, unknown user, or a user who is not active: one answer for all
    /// (the System Log says which). A LOCKED_OUT user too, unless the password policy
    /// shows lockout failures.
    Invalid,
    /// The account is LOCKED_OUT (or this failure locked it) and the password policy's
    /// `showLockoutFailures` lets the answer say so. The password was not checked
    /// against the account's hash.
    LockedOut,
    /// A counter is blocked: try again after `wait` seconds. The password was not
    /// checked, or its answer is withheld.
    Throttled { wait: i64 },
}

/// Checks a username and password as the sign-in page does, for every caller that
/// takes a password (the page, `/api/v1/authn`): failures throttled per (username,
/// address) and per address, a throttled attempt refused without the password being
/// checked, an unknown user and a wrong password answered alike after the same work
/// (a dummy Argon2id hash), every failure in the System Log and `/metrics`. With a
/// lockout in the password policy (`flows::lockout`), a wrong password of a known user
/// counts towards it, and a LOCKED_OUT user is refused whatever the password (after
/// the lock lifts by itself if its time has come).
pub async fn check_password(
    services: &Services,
    username: &str,
    password_given: &str,
    ip: Option<String>,
    now: UnixTime,
) -> Result<Checked, OAuthError> {
    // While a counter is blocked, the password is not checked at all.
    let attempt =
        match throttle::begin_sign_in(&services.store, username, ip.as_deref(), now).await? {
            Ok(attempt) => attempt,
            Err(blocked) => return Ok(throttled(services, blocked, now)),
        };

    let user = if username.is_empty() || username.len() > 256 {
        None
    } else {
        services.store.find_user_by_login(username).await?
    };
    let user = match user {
        Some(u) if u.status == UserStatus::LockedOut => {
            Some(lockout::auto_unlock(services, u, ip.clone(), now).await?)
        }
        other => other,
    };
    let active = user.clone().filter(|u| u.is_active());
    let phc = active.as_ref().and_then(|u| u.password_hash.clone());
    let ok = password_given.len() <= password::MAX_PASSWORD
        && services
            .passwords
            .verify(phc, password_given.to_string())
            .await;
    let user = match (ok, active) {
        (true, Some(user)) => user,
        _ => {
            services.metrics.login(false);
            let started = match throttle::sign_in_failed(
                &services.store,
                &services.config.throttle,
                &attempt,
                now,
            )
            .await?
            {
                Ok(started) => started,
                // Blocked by parallel failures meanwhile: answered like any blocked attempt.
                Err(blocked) => return Ok(throttled(services, blocked, now)),
            };
            // The answer is the same for every failure; the System Log says why.
            let (actor, reason) = match &user {
                None => (
                    Actor::unknown_user(username, ip.clone()),
                    "UNKNOWN_USER".to_string(),
                ),
                Some(u) if u.status == UserStatus::LockedOut => {
                    (Actor::user(u, ip.clone()), "LOCKED_OUT".to_string())
                }
                Some(u) if !u.is_active() => (
                    Actor::user(u, ip.clone()),
                    format!("USER_NOT_ACTIVE: the user is {}", u.status),
                ),
                Some(u) => (
                    Actor::user(u, ip.clone()),
                    "INVALID_CREDENTIALS".to_string(),
                ),
            };
            let event = Event::failure(
                "user.session.start",
                "User login to Gatehouse",
                reason,
                vec![],
            );
            syslog::record(&services.store, &actor, event, now).await;
            // A wrong password of an ACTIVE user counts towards the lockout.
            let locked = match &user {
                Some(u) if u.is_active() => lockout::failed(services, u, ip.clone(), now).await?,
                Some(u) => u.status == UserStatus::LockedOut,
                None => false,
            };
            if let Some(started) = started {
                block_started(services, username, ip, started, now).await;
            }
            if locked && lockout::shows_lockout(services).await? {
                return Ok(Checked::LockedOut);
            }
            return Ok(Checked::Invalid);
        }
    };

    if let Err(blocked) = throttle::sign_in_succeeded(&services.store, &attempt, now).await? {
        // Parallel failures blocked a counter while this password was checked: a burst
        // of guesses must not learn that one of them was right.
        return Ok(throttled(services, blocked, now));
    }
    // Okta's `lastLogin`: every successful sign-in, not a single sign-on from a session.
    services.store.record_login(&user.id, now).await?;
    services.metrics.login(true);
    let actor = Actor::user(&user, ip);
    let event = Event::success(
        "user.session.start",
        "User login to Gatehouse",
        vec![Target::user(&user)],
    );
    syslog::record(&services.store, &actor, event, now).await;
    Ok(Checked::Valid(Box::new(user)))
}

/// A throttled attempt: counted (the System Log heard of the block when it started).
fn throttled(services: &Services, blocked: Blocked, now: UnixTime) -> Checked {
    services.metrics.login(false);
    services
        .metrics
        .throttled(crate::metrics::Throttled::SignIn);
    Checked::Throttled {
        wait: blocked.retry_after(now),
    }
}

fn reason(blocked: Blocked) -> &'static str {
    match blocked {
        Blocked::UserAtAddress { .. } => "TOO_MANY_FAILURES: this username from this address",
        Blocked::Address { .. } => "TOO_MANY_FAILURES: this address, across usernames",
    }
}

/// A failure started a block: the System Log gets `security.request.blocked` (Okta's
/// event for a request it refused as suspicious), with which counter blocked and for
/// how long. Once per block, not for every refused attempt in it (those are counted in
/// `/metrics`), so a flood of refused guesses cannot flood the log. Okta's
/// `user.account.lock` would say the account is locked, which it is not: the same
/// username signs in from elsewhere.
async fn block_started(
    services: &Services,
    username: &str,
    ip: Option<String>,
    started: throttle::BlockStarted,
    now: crate::clock::UnixTime,
) {
    let event = Event::failure(
        "security.request.blocked",
        "Sign-in attempts throttled after repeated failures",
        reason(started.blocked),
        vec![],
    )
    .with_debug("retryAfterSeconds", started.blocked.retry_after(now))
    .with_debug("failures", started.failures);
    syslog::record(
        &services.store,
        &Actor::unknown_user(username, ip),
        event,
        now,
    )
    .await;
}
