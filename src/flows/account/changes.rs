//! The changes a person makes on the account page: their profile, their password, and
//! "sign out everywhere". Each is recorded in the System Log with the person as the
//! actor. The handler has checked the form's CSRF token; these check the rest.

use serde_json::{Map, Value};

use super::Account;
use crate::admin::syslog::{self, Actor, Event, Target};
use crate::admin::users::{self, ProfileChange};
use crate::admin::{AdminError, check_text};
use crate::clock::UnixTime;
use crate::flows::Services;
use crate::identity::throttle;
use crate::identity::{password, session};
use crate::oauth::OAuthError;

/// The profile attributes a person may change themselves, with their form field and
/// longest value. Not the login (an admin's decision, and what other systems know the
/// person by), nor the email address (it receives password resets: a new one must be
/// verified first, which is an admin's change today).
pub const EDITABLE: &[(&str, &str, usize)] = &[
    ("firstName", "first_name", 50),
    ("lastName", "last_name", 50),
    ("mobilePhone", "mobile_phone", 32),
];

/// A change's outcome.
#[derive(Debug)]
pub enum Change {
    /// Made. For a change that ended every session, the new cookie of this browser's
    /// session (`continue_session`).
    Done { session_cookie: Option<String> },
    /// The sign-in is not recent enough: sign in again first. Nothing changed.
    SignInAgain,
    /// The form is not right: what to tell the person. Nothing changed.
    Invalid(String),
    /// The current password is wrong. Nothing changed.
    WrongPassword,
    /// Too many wrong passwords: try again after `wait` seconds. Nothing was checked.
    Throttled { wait: i64 },
}

/// What the person typed into the profile form, by form field (`EDITABLE`); a field
/// left empty clears the attribute.
pub async fn update_profile(
    services: &Services,
    account: &Account,
    form: &[(&str, Option<&str>)],
    ip: Option<String>,
    now: UnixTime,
) -> Result<Change, OAuthError> {
    if !account.recent(now) {
        return Ok(Change::SignInAgain);
    }
    let mut changes = Map::new();
    for (attribute, field, longest) in EDITABLE {
        let Some((_, value)) = form.iter().find(|(name, _)| name == field) else {
            continue;
        };
        let value = value.unwrap_or("").trim();
        if value.is_empty() {
            changes.insert(attribute.to_string(), Value::Null);
            continue;
        }
        if let Err(e) = check_text("profile", value, *longest) {
            return Ok(Change::Invalid(invalid_message(label(field), &e)));
        }
        changes.insert(attribute.to_string(), Value::String(value.to_string()));
    }
    if changes.is_empty() {
        return Ok(Change::Done {
            session_cookie: None,
        });
    }
    let actor = Actor::user(&account.user, ip);
    let change = Some(ProfileChange::Merge(changes));
    match users::update(
        &services.store,
        &services.passwords,
        &actor,
        &account.user.id,
        change,
        None,
        now,
    )
    .await
    {
        Ok(_) => Ok(Change::Done {
            session_cookie: None,
        }),
        Err(e) => admin_outcome(e),
    }
}

/// What the person calls a form field.
fn label(field: &str) -> &'static str {
    match field {
        "first_name" => "First name",
        "last_name" => "Last name",
        "mobile_phone" => "Mobile phone",
        "new_password" => "New password",
        _ => "The value",
    }
}

fn invalid_message(label: &str, e: &AdminError) -> String {
    match e {
        AdminError::Invalid { message, .. } => format!("{label} {message}."),
        other => format!("{label}: {other}."),
    }
}

/// An admin-layer refusal as a change's outcome: invalid input is said to the person;
/// a store failure is the usual 503.
fn admin_outcome(e: AdminError) -> Result<Change, OAuthError> {
    match e {
        AdminError::Store(e) => Err(e.into()),
        AdminError::Invalid { field, message } => Ok(Change::Invalid(format!(
            "{} {message}.",
            if field.starts_with("credentials") {
                "The new password"
            } else {
                "The profile"
            }
        ))),
        other => Ok(Change::Invalid(format!("{other}."))),
    }
}

/// The password form.
pub struct NewPassword<'a> {
    pub current: &'a str,
    pub new: &'a str,
    pub confirm: &'a str,
}

/// Changes the person's password. The current one must be right; wrong guesses count
/// against the same throttle as the sign-in page (per username and address, and per
/// address), so the form is no way around it. A new password ends every session and
/// revokes every refresh token of the person (`users::update`), then this browser
/// continues under a new session id, its password just verified.
pub async fn change_password(
    services: &Services,
    account: &Account,
    form: &NewPassword<'_>,
    ip: Option<String>,
    now: UnixTime,
) -> Result<Change, OAuthError> {
    if !account.recent(now) {
        return Ok(Change::SignInAgain);
    }
    if form.new != form.confirm {
        return Ok(Change::Invalid(
            "The new password and its confirmation are not the same.".into(),
        ));
    }
    if form.new.chars().count() < password::MIN_PASSWORD {
        return Ok(Change::Invalid(format!(
            "The new password must be at least {} characters.",
            password::MIN_PASSWORD
        )));
    }
    if form.new == form.current {
        return Ok(Change::Invalid(
            "The new password must differ from the current one.".into(),
        ));
    }
    let user = &account.user;
    let store = &services.store;
    let attempt = match throttle::begin_sign_in(store, &user.login, ip.as_deref(), now).await? {
        Ok(attempt) => attempt,
        Err(blocked) => {
            return Ok(Change::Throttled {
                wait: blocked.retry_after(now),
            });
        }
    };
    // A LOCKED_OUT person (their session outlives the lock) is checked against the
    // dummy hash: the lock holds here too, until an unlock or a password reset.
    let phc = user
        .is_active()
        .then(|| user.password_hash.clone())
        .flatten();
    let right = form.current.len() <= password::MAX_PASSWORD
        && services
            .passwords
            .verify(phc, form.current.to_string())
            .await;
    if !right {
        // The form is no way around the lockout either: a wrong current password counts.
        crate::flows::lockout::failed(services, user, ip.clone(), now).await?;
    }
    let actor = Actor::user(user, ip);
    if !right {
        let counted =
            throttle::sign_in_failed(store, &services.config.throttle, &attempt, now).await?;
        let event = Event::failure(
            "user.account.update_password",
            "Update password for Okta user",
            "INVALID_CREDENTIALS: the current password is not right",
            vec![Target::user(user)],
        );
        syslog::record(store, &actor, event, now).await;
        return Ok(match counted {
            Err(blocked) => Change::Throttled {
                wait: blocked.retry_after(now),
            },
            Ok(_) => Change::WrongPassword,
        });
    }
    if let Err(blocked) = throttle::sign_in_succeeded(store, &attempt, now).await? {
        return Ok(Change::Throttled {
            wait: blocked.retry_after(now),
        });
    }
    if let Err(e) = users::update(
        store,
        &services.passwords,
        &actor,
        &user.id,
        None,
        Some(form.new.to_string()),
        now,
    )
    .await
    {
        return admin_outcome(e);
    }
    services.mail.password_changed(user, now).await;
    let (cookie, _) = super::continue_session(services, &account.session, Some(now), now).await?;
    Ok(Change::Done {
        session_cookie: Some(cookie),
    })
}

/// Signs out one other session of the person, named by its public id
/// (`identity::session::public_id`, as the page lists it): it ends, with the
/// back-channel logouts it owes its apps. Protective, so it needs no recent sign-in.
/// An unknown id, another person's session and one that has ended get one answer;
/// this browser's own session is signed out with "Sign out", not here. Records
/// `user.session.end`.
pub async fn sign_out_session(
    services: &Services,
    account: &Account,
    session_id: &str,
    ip: Option<String>,
    now: UnixTime,
) -> Result<Change, OAuthError> {
    let ended = || Ok(Change::Invalid("That session has already ended.".into()));
    let Some(hash) = session::hash_of_public_id(session_id) else {
        return ended();
    };
    if hash == account.session.id_hash {
        return Ok(Change::Invalid(
            "This is the session you are using: sign out with Sign out.".into(),
        ));
    }
    match services.store.live_session(&hash, now).await? {
        Some(s) if s.user_id == account.user.id => {}
        _ => return ended(),
    }
    services.store.end_session(&hash, now).await?;
    let user = &account.user;
    let event = Event::success(
        "user.session.end",
        "User logout from Gatehouse",
        vec![Target::user(user)],
    );
    syslog::record(&services.store, &Actor::user(user, ip), event, now).await;
    Ok(Change::Done {
        session_cookie: None,
    })
}

/// "Sign out everywhere": every session of the person ends, and with `apps` every
/// refresh token too (apps that stay signed in must sign in again); this browser
/// continues under a new session id. Protective, so it needs no recent sign-in.
/// Records `user.session.clear`.
pub async fn sign_out_everywhere(
    services: &Services,
    account: &Account,
    apps: bool,
    ip: Option<String>,
    now: UnixTime,
) -> Result<Change, OAuthError> {
    let user = &account.user;
    let ended = services.store.end_user_sessions(&user.id, now).await?;
    if apps {
        services.store.revoke_user_families(&user.id, now).await?;
    }
    let (cookie, _) = super::continue_session(services, &account.session, None, now).await?;
    let event = Event::success(
        "user.session.clear",
        "Clear user session",
        vec![Target::user(user)],
    )
    .with_debug("sessionsEnded", ended.saturating_sub(1))
    .with_debug("oauthTokensRevoked", apps);
    syslog::record(&services.store, &Actor::user(user, ip), event, now).await;
    Ok(Change::Done {
        session_cookie: Some(cookie),
    })
}
