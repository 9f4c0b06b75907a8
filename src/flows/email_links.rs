//! Links sent by e-mail: "Forgot password?" (`/signin/forgot-password`, then
//! `/signin/reset-password/{token}`), activation (`/welcome/{token}`, Okta's
//! `activate` with `sendEmail`) and address confirmation (`/signin/verify-email/{token}`).
//!
//! A link's token is 256 random bits; the store keeps its SHA-256 only, issued in the
//! same transaction as the e-mail job that carries it, and used by one `DELETE` that
//! finds it unexpired (single use, OWASP Forgot Password Cheat Sheet). Issuing a link
//! deletes the user's earlier ones of that purpose. "Forgot password?" answers the
//! same whatever was typed (the account exists or not, has an address or not): the
//! lookup and the e-mail happen after the answer, in a task of their own, so not even
//! the time taken differs; the requests are throttled per username and address like
//! sign-ins (`identity::throttle::email_request`).

use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::UnixTime;
use crate::crypto::{random_token, sha256};
use crate::flows::Services;
use crate::identity::{password, throttle};
use crate::mail::Template;
use crate::store::{LinkPurpose, PasswordByLink, StoreResult, User, UserStatus, UserToken};

/// How long a reset link works (Okta's default recovery token lifetime: one hour).
pub const RESET_SECONDS: i64 = 3600;
/// How long an activation link works (Okta's default: seven days).
pub const ACTIVATION_SECONDS: i64 = 7 * 86_400;
/// How long an address confirmation link works.
pub const VERIFY_SECONDS: i64 = 86_400;

/// The path of a link, below the public URL.
pub fn link_path(purpose: LinkPurpose, token: &str) -> String {
    match purpose {
        LinkPurpose::ResetPassword => format!("/signin/reset-password/{token}"),
        LinkPurpose::Activate => format!("/welcome/{token}"),
        LinkPurpose::VerifyEmail => format!("/signin/verify-email/{token}"),
    }
}

fn lifetime(purpose: LinkPurpose) -> (i64, &'static str) {
    match purpose {
        LinkPurpose::ResetPassword => (RESET_SECONDS, "1 hour"),
        LinkPurpose::Activate => (ACTIVATION_SECONDS, "7 days"),
        LinkPurpose::VerifyEmail => (VERIFY_SECONDS, "24 hours"),
    }
}

/// What "Forgot password?" answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgot {
    /// "If the account exists and has an address, a link is on its way": for every
    /// username.
    Accepted,
    /// Too many requests for this username or from this address: wait.
    Throttled { wait: i64 },
}

/// "Forgot password?" for `username`: counts the request, answers, and (in a task of
/// its own) sends a reset link if the username names an ACTIVE or PASSWORD_EXPIRED
/// user with an address. `continue_to` is the sign-in the person came from
/// (`/login?tx=…`), carried in the link so they can go back to it.
pub async fn forgot(
    services: &Services,
    username: &str,
    continue_tx: Option<&str>,
    ip: Option<&str>,
    now: UnixTime,
) -> StoreResult<Forgot> {
    let throttle = &services.config.throttle;
    if let Some(wait) =
        throttle::email_request(&services.store, throttle, username, ip, now).await?
    {
        return Ok(Forgot::Throttled { wait });
    }
    let store = services.store.clone();
    let mail = services.mail.clone();
    let base = services.config.base_url();
    let username = username.trim().to_string();
    let tx = continue_tx.map(str::to_string);
    let ip = ip.map(str::to_string);
    tokio::spawn(async move {
        let user = match store.find_user_by_login(&username).await {
            Ok(Some(user)) => user,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "forgot password: the database failed");
                return;
            }
        };
        if !matches!(
            user.status,
            UserStatus::Active | UserStatus::PasswordExpired | UserStatus::LockedOut
        ) {
            return;
        }
        let issued = issue(
            &store,
            &mail,
            &base,
            &user,
            LinkPurpose::ResetPassword,
            tx.as_deref(),
            true,
            now,
        )
        .await;
        match issued {
            Ok(Some(_)) => {
                let event = Event::success(
                    "user.account.reset_password",
                    "Send a password reset link by e-mail",
                    vec![Target::user(&user)],
                );
                syslog::record(&store, &Actor::user(&user, ip), event, now).await;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "forgot password: the link was not issued"),
        }
    });
    Ok(Forgot::Accepted)
}

/// A link issued: the token (in clear, only in the e-mail or the answer) and the
/// whole URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub token: String,
    pub url: String,
}

/// Issues a link of `purpose` for `user` and, when `send`, queues the e-mail carrying
/// it, in one transaction. None: it was to be sent and the user has no address
/// (nothing was done).
#[allow(clippy::too_many_arguments)]
async fn issue(
    store: &crate::store::DynStore,
    mail: &crate::mail::Outbox,
    base: &str,
    user: &User,
    purpose: LinkPurpose,
    continue_tx: Option<&str>,
    send: bool,
    now: UnixTime,
) -> StoreResult<Option<Link>> {
    let token = random_token();
    let mut url = format!("{base}{}", link_path(purpose, &token));
    if let Some(tx) = continue_tx {
        url.push_str("?tx=");
        url.push_str(
            &percent_encoding::utf8_percent_encode(tx, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
    }
    let (seconds, valid_for) = lifetime(purpose);
    let template = match purpose {
        LinkPurpose::ResetPassword => Template::PasswordReset,
        LinkPurpose::Activate => Template::Activation,
        LinkPurpose::VerifyEmail => Template::VerifyEmail,
    };
    let email_address = user.email.clone().unwrap_or_default();
    let values = [
        ("link", url.as_str()),
        ("valid_for", valid_for),
        ("email", email_address.as_str()),
    ];
    let email = match send {
        true => match mail.compose(template, user, &values) {
            Some(email) => Some(email),
            None => return Ok(None),
        },
        false => None,
    };
    let row = UserToken {
        token_hash: sha256(token.as_bytes()),
        purpose,
        user_id: user.id.clone(),
        email: user.email.clone(),
        created_at: now,
        expires_at: now + seconds,
    };
    let job = email.as_ref().map(|email| mail.job(email, now));
    store.issue_user_token(&row, job.as_ref()).await?;
    if job.is_some() {
        mail.wake();
    }
    Ok(Some(Link { token, url }))
}

/// An activation link for `user` (a PROVISIONED user: created without a password and
/// activated), to choose their first password: e-mailed when `send` (None: they have
/// no address), else only returned (Okta's `sendEmail=false`: the admin hands it on).
pub async fn activation(
    services: &Services,
    user: &User,
    send: bool,
    now: UnixTime,
) -> StoreResult<Option<Link>> {
    let base = services.config.base_url();
    issue(
        &services.store,
        &services.mail,
        &base,
        user,
        LinkPurpose::Activate,
        None,
        send,
        now,
    )
    .await
}

/// E-mails `user` a link confirming their current address (`email_verified`). None:
/// they have no address.
pub async fn send_verification(
    services: &Services,
    user: &User,
    now: UnixTime,
) -> StoreResult<Option<Link>> {
    let base = services.config.base_url();
    issue(
        &services.store,
        &services.mail,
        &base,
        user,
        LinkPurpose::VerifyEmail,
        None,
        true,
        now,
    )
    .await
}

/// The user a link is for while it works (the page asking for a new password shows
/// their login); None: unknown, used or expired (the same answer for all three).
pub async fn open(
    services: &Services,
    purpose: LinkPurpose,
    token: &str,
    now: UnixTime,
) -> StoreResult<Option<(UserToken, User)>> {
    if token.len() > 128 {
        return Ok(None);
    }
    let Some(link) = services
        .store
        .find_user_token(&sha256(token.as_bytes()), purpose, now)
        .await?
    else {
        return Ok(None);
    };
    let user = services.store.get_user(&link.user_id).await?;
    Ok(user.map(|user| (link, user)))
}

/// What setting a password through a link came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetPassword {
    /// Set; the user is ACTIVE, their other sessions ended.
    Done(Box<User>),
    /// The new password breaks a rule; the link still works.
    Refused(String),
    /// The link is unknown, used or expired, or the user can no longer use it.
    Gone,
}

/// Sets the password through a reset or activation link: checks the password's
/// rules, then uses the link, sets the password, makes the user ACTIVE, queues the
/// "password changed" notice and writes the System Log event, all in one transaction
/// (a second use of the link, even at the same moment, changes nothing); then ends the
/// user's sessions and refresh tokens, as an admin's password change does.
pub async fn set_password(
    services: &Services,
    purpose: LinkPurpose,
    token: &str,
    new_password: String,
    ip: Option<&str>,
    now: UnixTime,
) -> StoreResult<SetPassword> {
    let Some((link, user)) = open(services, purpose, token, now).await? else {
        return Ok(SetPassword::Gone);
    };
    if new_password.chars().count() < password::MIN_PASSWORD {
        return Ok(SetPassword::Refused(format!(
            "The password must be at least {} characters.",
            password::MIN_PASSWORD
        )));
    }
    if new_password.len() > password::MAX_PASSWORD {
        return Ok(SetPassword::Refused("The password is too long.".into()));
    }
    let from_statuses: &[&str] = match purpose {
        // A completed reset also unlocks a LOCKED_OUT account (Okta's self-service unlock).
        LinkPurpose::ResetPassword => &["ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT"],
        LinkPurpose::Activate => &["PROVISIONED"],
        LinkPurpose::VerifyEmail => return Ok(SetPassword::Gone),
    };
    let hash = services.passwords.hash(new_password).await;
    let notice = services
        .mail
        .enabled()
        .then(|| {
            let time = crate::clock::rfc3339(now);
            services
                .mail
                .compose(Template::PasswordChanged, &user, &[("time", &time)])
        })
        .flatten()
        .map(|email| services.mail.job(&email, now));
    let (event_type, message) = match purpose {
        LinkPurpose::Activate => ("user.lifecycle.activate", "Activate user by e-mail link"),
        _ => (
            "user.account.update_password",
            "Reset password by e-mail link",
        ),
    };
    let event = Event::success(event_type, message, vec![Target::user(&user)]);
    let row = syslog::row(&Actor::user(&user, ip.map(str::to_string)), &event, now);
    let redeem = PasswordByLink {
        token_hash: &link.token_hash,
        purpose,
        user_id: &user.id,
        email: link.email.as_deref(),
        password_hash: &hash,
        from_statuses,
        now,
    };
    if !services
        .store
        .redeem_password_link(&redeem, notice.as_ref(), &row)
        .await?
    {
        return Ok(SetPassword::Gone);
    }
    services.mail.wake();
    if user.status == UserStatus::LockedOut {
        // Okta's self-service unlock: the reset proved the person holds the address.
        let event = Event::success(
            "user.account.unlock",
            "Unlock user account by password reset",
            vec![Target::user(&user)],
        );
        syslog::record(
            &services.store,
            &Actor::user(&user, ip.map(str::to_string)),
            event,
            now,
        )
        .await;
    }
    services.store.end_user_sessions(&user.id, now).await?;
    services.store.revoke_user_families(&user.id, now).await?;
    let user = services.store.get_user(&user.id).await?.unwrap_or(user);
    Ok(SetPassword::Done(Box::new(user)))
}

/// Confirms an address through its link: true when it was confirmed now; false when
/// the link is unknown, used or expired, or the user's address changed since.
pub async fn verify_email(
    services: &Services,
    token: &str,
    ip: Option<&str>,
    now: UnixTime,
) -> StoreResult<bool> {
    let Some((link, user)) = open(services, LinkPurpose::VerifyEmail, token, now).await? else {
        return Ok(false);
    };
    let Some(email) = link.email.as_deref() else {
        return Ok(false);
    };
    let event = Event::success(
        "user.account.verify_email",
        "Confirm the e-mail address by e-mail link",
        vec![Target::user(&user)],
    );
    let row = syslog::row(&Actor::user(&user, ip.map(str::to_string)), &event, now);
    services
        .store
        .redeem_verify_link(&link.token_hash, &user.id, email, now, &row)
        .await
}
