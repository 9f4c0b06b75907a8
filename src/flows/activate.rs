//! `/activate`, the user's side of the device authorization grant (RFC 8628 §3.3): the
//! user enters the code their device shows, signs in if this browser has no session
//! (the hosted sign-in's password check and session, `flows::login`), sees which app
//! asks for which scopes, and allows or denies it.
//!
//! Guessing (§5.1, §5.2): a code that matches nothing counts against the address's
//! counter and a global one (`identity::throttle`); while either is blocked no code is
//! looked up. Remote phishing (§5.4): the page always says which app asks and waits
//! for the user's Allow; a `verification_uri_complete` only fills in the code.
//! Allowing evaluates what /authorize would (the user active and assigned to the app,
//! the access policy for this grant type) and records consent to the scopes that need
//! it; the answer is one statement that finds the request still pending.

use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::UnixTime;
use crate::flows::Services;
use crate::flows::authorize::signed_in;
use crate::flows::login::{self, Checked};
use crate::flows::sessions;
use crate::flows::settings::{Settings, Subject, check_assigned};
use crate::identity::session::Device;
use crate::identity::throttle;
use crate::oauth::OAuthError;
use crate::oauth::consent;
use crate::oauth::grants::device_code::{self, GRANT_TYPE};
use crate::oauth::scope::Scope;
use crate::store::{Client, DeviceCode, DeviceStatus, User};

/// A request waiting for its user, as the page shows it.
#[derive(Debug)]
pub struct Waiting {
    /// The code as shown (`XXXX-XXXX`).
    pub user_code: String,
    pub device: DeviceCode,
    pub client: Client,
    /// Each requested scope and its description.
    pub scopes: Vec<(String, String)>,
}

/// What a typed user code came to.
#[derive(Debug)]
pub enum Lookup {
    Found(Box<Waiting>),
    /// Matches no request (or cannot be a code): counted as a guess.
    Unknown,
    /// The request expired before the user answered.
    Expired,
    /// The request was answered already.
    Used,
    /// Too many wrong codes: wait this many seconds; nothing was looked up.
    Throttled {
        wait: i64,
    },
}

/// Looks a typed code up, throttled per address and globally.
pub async fn lookup(
    services: &Services,
    typed: &str,
    ip: Option<&str>,
    now: UnixTime,
) -> Result<Lookup, OAuthError> {
    if let Some(wait) = throttle::user_code_blocked(&services.store, ip, now).await? {
        return Ok(Lookup::Throttled { wait });
    }
    let found = match device_code::normalise(typed) {
        Some(code) => services
            .store
            .find_user_code(&device_code::user_code_hash(&code))
            .await?
            .map(|d| (code, d)),
        None => None,
    };
    let Some((code, device)) = found else {
        throttle::user_code_failed(&services.store, &services.config.throttle, ip, now).await?;
        return Ok(Lookup::Unknown);
    };
    if device.status != DeviceStatus::Pending {
        return Ok(Lookup::Used);
    }
    if now >= device.expires_at {
        return Ok(Lookup::Expired);
    }
    let (client, offered) = tokio::try_join!(
        services.store.get_client(&device.client_id),
        services.store.list_scopes(&device.server_id)
    )?;
    let Some(client) = client.filter(|c| c.status == crate::store::Status::Active) else {
        return Ok(Lookup::Unknown);
    };
    let scopes = Scope::parse(&device.scope)?
        .iter()
        .map(|name| {
            let description = offered
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.description.clone())
                .unwrap_or_default();
            (name.to_string(), description)
        })
        .collect();
    Ok(Lookup::Found(Box::new(Waiting {
        user_code: device_code::display(&code),
        device,
        client,
        scopes,
    })))
}

/// What the page shows for a typed code.
#[derive(Debug)]
pub enum Shown {
    /// The request and the signed-in user's login: Allow or Deny.
    Confirm {
        waiting: Box<Waiting>,
        login: String,
    },
    /// The request; the browser has no session: sign in first.
    SignIn(Box<Waiting>),
    /// The code does not lead to a waiting request.
    Gone(Lookup),
}

/// The code the user typed, and whether this browser is signed in.
pub async fn show(
    services: &Services,
    typed: &str,
    session_cookie: Option<&str>,
    ip: Option<&str>,
    now: UnixTime,
) -> Result<Shown, OAuthError> {
    let waiting = match lookup(services, typed, ip, now).await? {
        Lookup::Found(waiting) => waiting,
        other => return Ok(Shown::Gone(other)),
    };
    Ok(match signed_in(services, session_cookie, now).await? {
        Some((_, user)) => Shown::Confirm {
            waiting,
            login: user.login,
        },
        None => Shown::SignIn(waiting),
    })
}

/// What signing in on the page came to.
#[derive(Debug)]
pub enum SignedIn {
    /// Signed in: the new session's cookie value, the user's login, and the request.
    Yes {
        session_id: String,
        login: String,
        waiting: Box<Waiting>,
    },
    /// Wrong username or password (one answer for every cause): the form again.
    Failed(Box<Waiting>),
    /// The account is locked and the password policy lets the page say so.
    LockedOut(Box<Waiting>),
    /// A sign-in counter is blocked: the form again after `wait` seconds.
    Throttled { waiting: Box<Waiting>, wait: i64 },
    /// The code does not lead to a waiting request.
    Gone(Lookup),
}

/// Signs in with the hosted sign-in's check (`login::check_password`: throttled, one
/// answer for an unknown user and a wrong password, in the System Log) and starts a
/// new session, for the request behind `typed`.
pub async fn sign_in(
    services: &Services,
    typed: &str,
    username: &str,
    password: &str,
    session_cookie: Option<&str>,
    device: &Device,
    now: UnixTime,
) -> Result<SignedIn, OAuthError> {
    let ip = device.ip.clone();
    let waiting = match lookup(services, typed, ip.as_deref(), now).await? {
        Lookup::Found(waiting) => waiting,
        other => return Ok(SignedIn::Gone(other)),
    };
    let user = match login::check_password(services, username.trim(), password, ip, now).await? {
        Checked::Valid(user) => user,
        Checked::Invalid => return Ok(SignedIn::Failed(waiting)),
        Checked::LockedOut => return Ok(SignedIn::LockedOut(waiting)),
        Checked::Throttled { wait } => return Ok(SignedIn::Throttled { waiting, wait }),
    };
    let (session_id, _) =
        sessions::start(services, &user.id, now, now, session_cookie, device).await?;
    Ok(SignedIn::Yes {
        session_id,
        login: user.login,
        waiting,
    })
}

/// The user's Allow or Deny (the form's CSRF token already checked).
pub struct Answer<'a> {
    /// The code as the form carries it.
    pub user_code: &'a str,
    pub allow: bool,
    /// The value of the browser's session cookie: the answer is its user's.
    pub session_cookie: Option<&'a str>,
    pub ip: Option<String>,
}

/// What the answer came to.
#[derive(Debug)]
pub enum Answered {
    /// The device will get its tokens at its next poll.
    Approved { app_name: String },
    /// The user said no: the device hears `access_denied`.
    Denied { app_name: String },
    /// The user allowed it but may not have it (not assigned, or the access policy
    /// refuses): the device hears `access_denied`, the page says why.
    Refused { app_name: String, error: OAuthError },
    /// The browser has no session (it ended meanwhile): sign in first.
    NotSignedIn,
    /// The code no longer waits (or never did): what the page says instead.
    Gone(Lookup),
}

pub async fn answer(
    services: &Services,
    answer: &Answer<'_>,
    now: UnixTime,
) -> Result<Answered, OAuthError> {
    let Some((session, user)) = signed_in(services, answer.session_cookie, now).await? else {
        return Ok(Answered::NotSignedIn);
    };
    let waiting = match lookup(services, answer.user_code, answer.ip.as_deref(), now).await? {
        Lookup::Found(waiting) => waiting,
        other => return Ok(Answered::Gone(other)),
    };
    let app_name = waiting.client.name.clone();
    let hash = waiting.device.user_code_hash.clone();
    let actor = Actor::user(&user, answer.ip.clone());
    if !answer.allow {
        if !decide(services, &hash, false, &user, session.auth_time, now).await? {
            return Ok(Answered::Gone(Lookup::Used));
        }
        record(
            services,
            &actor,
            &user,
            &waiting.client,
            Some("DENIED_BY_USER"),
            now,
        )
        .await;
        return Ok(Answered::Denied { app_name });
    }
    if let Err(error) = permitted(services, &waiting, user.clone(), now).await {
        if error.status() == 503 {
            return Err(error);
        }
        if !decide(services, &hash, false, &user, session.auth_time, now).await? {
            return Ok(Answered::Gone(Lookup::Used));
        }
        record(
            services,
            &actor,
            &user,
            &waiting.client,
            Some(&error.description),
            now,
        )
        .await;
        return Ok(Answered::Refused { app_name, error });
    }
    if !decide(services, &hash, true, &user, session.auth_time, now).await? {
        return Ok(Answered::Gone(Lookup::Used));
    }
    record(services, &actor, &user, &waiting.client, None, now).await;
    Ok(Answered::Approved { app_name })
}

/// What /authorize checks for a signed-in user, for this grant; on success records
/// consent to the requested scopes that need it (the user has just seen them).
async fn permitted(
    services: &Services,
    waiting: &Waiting,
    user: User,
    now: UnixTime,
) -> Result<(), OAuthError> {
    let device = &waiting.device;
    let subject = Subject::with_groups(services, user)
        .await?
        .ok_or_else(OAuthError::policy_denied)?;
    check_assigned(services, &device.client_id, &subject.user.id).await?;
    let settings = Settings::load_by_id(services, &device.server_id).await?;
    let scope = Scope::parse(&device.scope)?;
    settings.check_offered(&scope)?;
    settings.decide(&device.client_id, GRANT_TYPE, &scope, Some(&subject))?;
    let needed = consent::needed(&scope, &settings.scopes, &[], false);
    if !needed.is_empty() {
        services
            .store
            .grant_consent(
                &subject.user.id,
                &device.client_id,
                &device.server_id,
                &needed,
                now,
            )
            .await?;
    }
    Ok(())
}

async fn decide(
    services: &Services,
    user_code_hash: &[u8],
    approve: bool,
    user: &User,
    auth_time: UnixTime,
    now: UnixTime,
) -> Result<bool, OAuthError> {
    Ok(services
        .store
        .decide_device_code(user_code_hash, approve, &user.id, auth_time, now)
        .await?)
}

/// `app.oauth2.device.activate`: the user approved a device (success) or did not
/// (failure, with why). Never the codes.
async fn record(
    services: &Services,
    actor: &Actor,
    user: &User,
    client: &Client,
    refused: Option<&str>,
    now: UnixTime,
) {
    let targets = vec![Target::user(user), Target::app(client)];
    let event = match refused {
        None => Event::success(
            "app.oauth2.device.activate",
            "User approved a device sign-in",
            targets,
        ),
        Some(reason) => Event::failure(
            "app.oauth2.device.activate",
            "User did not approve a device sign-in",
            reason.to_string(),
            targets,
        ),
    };
    syslog::record(
        &services.store,
        actor,
        event.with_debug("grantType", GRANT_TYPE),
        now,
    )
    .await;
}
