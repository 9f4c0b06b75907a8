//! Users: create, read, list, update the profile and password, and Okta's lifecycle
//! (STAGED → PROVISIONED/ACTIVE ⇄ SUSPENDED, → DEPROVISIONED → deleted). A user who is
//! not ACTIVE cannot sign in, and deactivating or suspending ends their sessions.

use serde_json::{Map, Value, json};

use super::filter::{self, Attr, Kind};
use super::syslog::{self, Actor, Event, Target};
use super::{AdminError, check_text};
use crate::clock::{UnixTime, rfc3339};
use crate::crypto::okta_id;
use crate::identity::password::{self, PasswordPool};
use crate::store::{DynStore, Expr, Op, Page, SqlValue, StoreError, User, UserStatus};

/// Okta's default user type id (every user here is of the default type).
pub const DEFAULT_TYPE_ID: &str = "oty00000000000000000";

/// A user's profile: the four attributes with columns, and any others.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    pub login: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Other attributes (`displayName`, `mobilePhone`, custom ones).
    pub extra: Map<String, Value>,
}

impl Profile {
    pub fn of(user: &User) -> Profile {
        Profile {
            login: user.login.clone(),
            email: user.email.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            extra: user.profile_extra.clone(),
        }
    }

    /// Sets the attributes `changes` names (Okta's partial update: an attribute left
    /// out keeps its value; `null` clears it).
    pub fn merge(&mut self, changes: &Map<String, Value>) -> Result<(), AdminError> {
        for (name, value) in changes {
            let text = || -> Result<Option<String>, AdminError> {
                match value {
                    Value::Null => Ok(None),
                    Value::String(s) => Ok(Some(s.clone())),
                    _ => Err(AdminError::invalid(profile_field(name), "must be a string")),
                }
            };
            match name.as_str() {
                "login" => {
                    self.login = text()?
                        .ok_or_else(|| AdminError::invalid("profile.login", "is required"))?
                }
                "email" => self.email = text()?,
                "firstName" => self.first_name = text()?,
                "lastName" => self.last_name = text()?,
                _ if value.is_null() => {
                    self.extra.remove(name);
                }
                _ => {
                    self.extra.insert(name.clone(), value.clone());
                }
            }
        }
        Ok(())
    }

    /// A whole profile from its JSON (Okta's replace: what is left out is cleared).
    pub fn from_json(map: &Map<String, Value>) -> Result<Profile, AdminError> {
        if !map.contains_key("login") {
            return Err(AdminError::invalid("profile.login", "is required"));
        }
        let mut profile = Profile::default();
        profile.merge(map)?;
        Ok(profile)
    }

    pub fn check(&mut self) -> Result<(), AdminError> {
        check_text("profile.login", &self.login, 100)?;
        if self.login.contains(char::is_whitespace) {
            return Err(AdminError::invalid(
                "profile.login",
                "must not contain spaces",
            ));
        }
        match &self.email {
            Some(email) => check_email("profile.email", email)?,
            // Okta's default profile: the login when it is an address.
            None => {
                self.email = check_email("profile.login", &self.login)
                    .ok()
                    .map(|_| self.login.clone())
            }
        }
        for (field, value) in [
            ("profile.firstName", &self.first_name),
            ("profile.lastName", &self.last_name),
        ] {
            if let Some(v) = value {
                check_text(field, v, 50)?;
            }
        }
        check_extra(&self.extra)
    }
}

/// `profile.{name}` for the attributes with columns (for `errorCauses`).
fn profile_field(name: &str) -> &'static str {
    match name {
        "login" => "profile.login",
        "email" => "profile.email",
        "firstName" => "profile.firstName",
        "lastName" => "profile.lastName",
        _ => "profile",
    }
}

const MAX_EXTRA: usize = 50;

/// Other attributes: names of letters, digits and `_` starting with a letter; values
/// strings (at most 1024 bytes), numbers, booleans, or lists of strings.
fn check_extra(extra: &Map<String, Value>) -> Result<(), AdminError> {
    if extra.len() > MAX_EXTRA {
        return Err(AdminError::invalid(
            "profile",
            format!(
                "may have at most {MAX_EXTRA} attributes besides login, email, firstName and lastName"
            ),
        ));
    }
    for (name, value) in extra {
        let good_name = name.len() <= 50
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !good_name {
            return Err(AdminError::invalid(
                "profile",
                format!(
                    "{:?} is not an attribute name",
                    name.chars().take(60).collect::<String>()
                ),
            ));
        }
        let short = |s: &str| s.len() <= 1024 && !s.chars().any(char::is_control);
        let good_value = match value {
            Value::String(s) => short(s),
            Value::Number(_) | Value::Bool(_) => true,
            Value::Array(items) => {
                items.len() <= 100 && items.iter().all(|i| i.as_str().is_some_and(short))
            }
            Value::Null | Value::Object(_) => false,
        };
        if !good_value {
            return Err(AdminError::invalid(
                "profile",
                format!("{name}: must be a string, number, boolean or list of strings"),
            ));
        }
    }
    Ok(())
}

fn check_email(field: &'static str, value: &str) -> Result<(), AdminError> {
    check_text(field, value, 100)?;
    match value.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !value.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(AdminError::invalid(field, "must be an email address")),
    }
}

/// Hashes a new password on the bounded pool (a flood of API password changes waits
/// its turn there, as sign-ins do, instead of filling the blocking threads).
async fn hash_password(
    passwords: &PasswordPool,
    field: &'static str,
    p: String,
) -> Result<String, AdminError> {
    if p.chars().count() < password::MIN_PASSWORD {
        return Err(AdminError::invalid(
            field,
            format!("must be at least {} characters", password::MIN_PASSWORD),
        ));
    }
    if p.len() > password::MAX_PASSWORD {
        return Err(AdminError::invalid(field, "is too long"));
    }
    Ok(passwords.hash(p).await)
}

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub login: String,
    pub password: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub extra: Map<String, Value>,
    /// Okta's `activate` (default true): ACTIVE with a password, PROVISIONED without
    /// one (they cannot sign in until one is set). False: STAGED.
    pub activate: Option<bool>,
}

fn conflict(e: StoreError) -> AdminError {
    match e {
        StoreError::Conflict(_) => {
            AdminError::invalid("profile.login", "a user with this login already exists")
        }
        e => e.into(),
    }
}

/// Validates and stores a new user.
pub async fn create(
    store: &DynStore,
    passwords: &PasswordPool,
    actor: &Actor,
    new: NewUser,
    now: UnixTime,
) -> Result<User, AdminError> {
    let mut profile = Profile {
        login: new.login,
        email: new.email,
        first_name: new.first_name,
        last_name: new.last_name,
        extra: new.extra,
    };
    profile.check()?;
    let password_hash = match new.password {
        Some(p) => Some(hash_password(passwords, "credentials.password.value", p).await?),
        None => None,
    };
    let status = match (new.activate.unwrap_or(true), password_hash.is_some()) {
        (false, _) => UserStatus::Staged,
        (true, true) => UserStatus::Active,
        (true, false) => UserStatus::Provisioned,
    };
    let user = User {
        id: okta_id("00u"),
        login: profile.login,
        email: profile.email,
        first_name: profile.first_name,
        last_name: profile.last_name,
        password_changed_at: password_hash.as_ref().map(|_| now),
        password_hash,
        status,
        profile_extra: profile.extra,
        created_at: now,
        updated_at: now,
        activated_at: (status == UserStatus::Active).then_some(now),
        status_changed_at: (status != UserStatus::Staged).then_some(now),
        last_login_at: None,
        verified_email: None,
    };
    store.insert_user(&user).await.map_err(conflict)?;
    let target = Target::user(&user).changed(None, Some(to_json(&user)));
    syslog::record(
        store,
        actor,
        Event::success("user.lifecycle.create", "Create Okta user", vec![target]),
        now,
    )
    .await;
    Ok(user)
}

/// A user by id or login.
pub async fn find(store: &DynStore, id_or_login: &str) -> Result<User, AdminError> {
    if let Some(user) = store.get_user(id_or_login).await? {
        return Ok(user);
    }
    store
        .find_user_by_login(id_or_login)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("user {id_or_login}")))
}

/// How a profile changes.
#[derive(Debug, Clone)]
pub enum ProfileChange {
    /// Okta's POST: only the attributes given.
    Merge(Map<String, Value>),
    /// Okta's PUT: the whole profile.
    Replace(Map<String, Value>),
}

/// Changes a user's profile and, when given, sets their password.
pub async fn update(
    store: &DynStore,
    passwords: &PasswordPool,
    actor: &Actor,
    id: &str,
    change: Option<ProfileChange>,
    new_password: Option<String>,
    now: UnixTime,
) -> Result<User, AdminError> {
    let before = find(store, id).await?;
    let mut profile = match &change {
        Some(ProfileChange::Replace(map)) => Profile::from_json(map)?,
        Some(ProfileChange::Merge(map)) => {
            let mut p = Profile::of(&before);
            p.merge(map)?;
            p
        }
        None => Profile::of(&before),
    };
    profile.check()?;
    let mut user = before.clone();
    user.login = profile.login;
    user.email = profile.email;
    user.first_name = profile.first_name;
    user.last_name = profile.last_name;
    user.profile_extra = profile.extra;
    user.updated_at = now;
    let password_set = new_password.is_some();
    if let Some(p) = new_password {
        user.password_hash = Some(hash_password(passwords, "credentials.password.value", p).await?);
        user.password_changed_at = Some(now);
        // Okta: a new password ends PASSWORD_EXPIRED.
        if user.status == UserStatus::PasswordExpired {
            user.status = UserStatus::Active;
            user.status_changed_at = Some(now);
        }
    }
    if !store.update_user(&user).await.map_err(conflict)? {
        return Err(AdminError::NotFound(format!("user {id}")));
    }
    if password_set {
        end_sign_ins(store, &user.id, now).await?;
    }
    let mut events = Vec::new();
    if change.is_some() {
        let target = Target::user(&user).changed(Some(to_json(&before)), Some(to_json(&user)));
        events.push(Event::success(
            "user.account.update_profile",
            "Update user profile for Okta",
            vec![target],
        ));
    }
    if password_set {
        events.push(Event::success(
            "user.account.update_password",
            "Update password for Okta user",
            vec![Target::user(&user)],
        ));
    }
    for event in events {
        syslog::record(store, actor, event, now).await;
    }
    Ok(user)
}

/// A new password ends what the old one started: sessions and refresh tokens (an
/// attacker who knew the old password keeps nothing).
async fn end_sign_ins(store: &DynStore, user_id: &str, now: UnixTime) -> Result<(), AdminError> {
    store.end_user_sessions(user_id, now).await?;
    store.revoke_user_families(user_id, now).await?;
    Ok(())
}

/// The user changes their own password: the old one must match.
pub async fn change_password(
    store: &DynStore,
    passwords: &PasswordPool,
    actor: &Actor,
    id: &str,
    old: String,
    new: String,
    now: UnixTime,
) -> Result<User, AdminError> {
    let user = find(store, id).await?;
    if !matches!(
        user.status,
        UserStatus::Active | UserStatus::PasswordExpired
    ) {
        return Err(AdminError::not_allowed(
            "E0000038",
            "This operation is not allowed in the user's current status.",
        ));
    }
    // On the pool; without a password the dummy hash is checked (and fails), so the
    // answer takes as long either way.
    if !passwords.verify(user.password_hash.clone(), old).await {
        return Err(AdminError::invalid(
            "oldPassword",
            "the old password is not correct",
        ));
    }
    update(store, passwords, actor, &user.id, None, Some(new), now).await
}

/// Okta's `lifecycle/expire_password`: an ACTIVE user with a password moves to
/// PASSWORD_EXPIRED and cannot sign in (their sessions stop answering) until a new
/// password is set, by an admin or with `change_password`. Already expired: nothing
/// changes. Records `user.account.expire_password`.
pub async fn expire_password(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    now: UnixTime,
) -> Result<User, AdminError> {
    let before = find(store, id).await?;
    match (before.status, before.password_hash.is_some()) {
        (UserStatus::PasswordExpired, _) => return Ok(before),
        (UserStatus::Active, true) => {}
        (status, _) => {
            return Err(AdminError::not_allowed(
                "E0000038",
                format!(
                    "This operation is not allowed in the user's current status ({status}{}).",
                    if status == UserStatus::Active {
                        ", without a password"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    let mut user = before.clone();
    user.status = UserStatus::PasswordExpired;
    user.status_changed_at = Some(now);
    user.updated_at = now;
    if !store.update_user(&user).await? {
        return Err(AdminError::NotFound(format!("user {id}")));
    }
    let target = Target::user(&user).changed(
        Some(json!({ "status": before.status })),
        Some(json!({ "status": user.status })),
    );
    syslog::record(
        store,
        actor,
        Event::success(
            "user.account.expire_password",
            "Expire user password",
            vec![target],
        ),
        now,
    )
    .await;
    Ok(user)
}

/// Okta's `lifecycle/unlock`: a LOCKED_OUT user (the password policy's lockout) becomes
/// ACTIVE with no wrong passwords counted. Their sessions and tokens were kept through
/// the lock, so nothing else changes. A user in another status is refused with
/// E0000038, as Okta refuses it. Records `user.account.unlock_by_admin`.
pub async fn unlock(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    now: UnixTime,
) -> Result<User, AdminError> {
    let before = find(store, id).await?;
    // One statement whose WHERE is the status: a sign-in's auto-unlock or another
    // admin's unlock in between leaves nothing to do, and that is refused like any
    // user who is not locked.
    if before.status != UserStatus::LockedOut || !store.unlock_user(&before.id, now).await? {
        return Err(AdminError::not_allowed(
            "E0000038",
            format!(
                "This operation is not allowed in the user's current status ({}): only a \
                 LOCKED_OUT user can be unlocked.",
                before.status
            ),
        ));
    }
    let user = find(store, &before.id).await?;
    let target = Target::user(&user).changed(
        Some(json!({ "status": before.status })),
        Some(json!({ "status": user.status })),
    );
    syslog::record(
        store,
        actor,
        Event::success(
            "user.account.unlock_by_admin",
            "Unlock user account by admin",
            vec![target],
        ),
        now,
    )
    .await;
    Ok(user)
}

/// A lifecycle operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Activate,
    Deactivate,
    Suspend,
    Unsuspend,
}

impl Lifecycle {
    /// The status the user moves to from `from`, or why they cannot.
    pub fn next(self, from: UserStatus, has_password: bool) -> Result<UserStatus, AdminError> {
        let refuse = || {
            AdminError::not_allowed(
                "E0000038",
                format!("This operation is not allowed in the user's current status ({from})."),
            )
        };
        match (self, from) {
            (Lifecycle::Activate, UserStatus::Active) => Err(AdminError::not_allowed(
                "E0000016",
                "Activation failed because the user is already active.",
            )),
            (
                Lifecycle::Activate,
                UserStatus::Staged | UserStatus::Provisioned | UserStatus::Deprovisioned,
            ) => Ok(if has_password {
                UserStatus::Active
            } else {
                UserStatus::Provisioned
            }),
            (Lifecycle::Deactivate, UserStatus::Deprovisioned) => Err(refuse()),
            (Lifecycle::Deactivate, _) => Ok(UserStatus::Deprovisioned),
            (Lifecycle::Suspend, UserStatus::Active) => Ok(UserStatus::Suspended),
            (Lifecycle::Unsuspend, UserStatus::Suspended) => Ok(UserStatus::Active),
            _ => Err(refuse()),
        }
    }

    fn event(self) -> (&'static str, &'static str) {
        match self {
            Lifecycle::Activate => ("user.lifecycle.activate", "Activate Okta user"),
            Lifecycle::Deactivate => ("user.lifecycle.deactivate", "Deactivate Okta user"),
            Lifecycle::Suspend => ("user.lifecycle.suspend", "Suspend Okta user"),
            Lifecycle::Unsuspend => ("user.lifecycle.unsuspend", "Unsuspend Okta user"),
        }
    }
}

/// Moves a user through the lifecycle. Leaving ACTIVE ends every session they have.
pub async fn lifecycle(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    op: Lifecycle,
    now: UnixTime,
) -> Result<User, AdminError> {
    let before = find(store, id).await?;
    let status = op.next(before.status, before.password_hash.is_some())?;
    let mut user = before.clone();
    user.status = status;
    user.status_changed_at = Some(now);
    user.updated_at = now;
    if status == UserStatus::Active && user.activated_at.is_none() {
        user.activated_at = Some(now);
    }
    if !store.update_user(&user).await? {
        return Err(AdminError::NotFound(format!("user {id}")));
    }
    if status != UserStatus::Active {
        // Okta ends a deactivated or suspended user's sessions and revokes their
        // tokens: reactivating them must not bring old refresh tokens back.
        store.end_user_sessions(&user.id, now).await?;
        store.revoke_user_families(&user.id, now).await?;
    }
    let (event_type, message) = op.event();
    let target = Target::user(&user).changed(
        Some(json!({ "status": before.status })),
        Some(json!({ "status": user.status })),
    );
    syslog::record(
        store,
        actor,
        Event::success(event_type, message, vec![target]),
        now,
    )
    .await;
    Ok(user)
}

/// What `delete` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// As in Okta, deleting a user who is not DEPROVISIONED deactivates them first.
    Deactivated(Box<User>),
    Deleted,
}

pub async fn delete(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    now: UnixTime,
) -> Result<Deletion, AdminError> {
    let user = find(store, id).await?;
    if user.status != UserStatus::Deprovisioned {
        return lifecycle(store, actor, &user.id, Lifecycle::Deactivate, now)
            .await
            .map(|user| Deletion::Deactivated(Box::new(user)));
    }
    if !store.delete_user(&user.id).await? {
        return Err(AdminError::NotFound(format!("user {id}")));
    }
    let target = Target::user(&user).changed(Some(to_json(&user)), None);
    syslog::record(
        store,
        actor,
        Event::success(
            "user.lifecycle.delete.completed",
            "Delete Okta user",
            vec![target],
        ),
        now,
    )
    .await;
    Ok(Deletion::Deleted)
}

/// What `filter` and `search` may name on users.
pub const USER_ATTRS: &[Attr] = &[
    Attr {
        name: "id",
        column: "id",
        kind: Kind::Text,
    },
    Attr {
        name: "status",
        column: "status",
        kind: Kind::Text,
    },
    Attr {
        name: "created",
        column: "created_at",
        kind: Kind::Time,
    },
    Attr {
        name: "lastUpdated",
        column: "updated_at",
        kind: Kind::Time,
    },
    Attr {
        name: "profile.login",
        column: "login_key",
        kind: Kind::Lower,
    },
    Attr {
        name: "profile.email",
        column: "email",
        kind: Kind::Text,
    },
    Attr {
        name: "profile.firstName",
        column: "first_name",
        kind: Kind::Text,
    },
    Attr {
        name: "profile.lastName",
        column: "last_name",
        kind: Kind::Text,
    },
];

pub const DEFAULT_LIMIT: i64 = 200;
pub const MAX_LIMIT: i64 = 200;

/// What a list of users takes (Okta's query parameters).
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Prefix of login, email, first or last name.
    pub q: Option<String>,
    pub filter: Option<String>,
    pub search: Option<String>,
    pub after: Option<String>,
    pub limit: Option<i64>,
}

/// `q`: a prefix of the login, email, first name or last name.
pub fn prefix_of_names(q: &str, columns: &[&'static str]) -> Result<Expr, AdminError> {
    filter::check_no_controls("q", q)?;
    if q.len() > 200 {
        return Err(AdminError::invalid("q", "must be at most 200 characters"));
    }
    Ok(Expr::Or(
        columns
            .iter()
            .map(|c| Expr::cond(c, Op::StartsWith, SqlValue::Text(q.into())))
            .collect(),
    ))
}

/// One page of users (ordered by id) and the cursor of the next page, if any.
pub async fn list(
    store: &DynStore,
    query: &UserQuery,
) -> Result<(Vec<User>, Option<String>), AdminError> {
    let limit = filter::limit(query.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let mut conditions = Vec::new();
    if let Some(q) = query.q.as_deref().filter(|q| !q.is_empty()) {
        // login_key is the login lowercased: its index serves the prefix.
        conditions.push(prefix_of_names(
            q,
            &["login_key", "email", "first_name", "last_name"],
        )?);
    }
    for (field, text) in [("filter", &query.filter), ("search", &query.search)] {
        if let Some(text) = text.as_deref().filter(|t| !t.trim().is_empty()) {
            conditions.push(filter::parse(field, text, USER_ATTRS)?);
        }
    }
    let page = Page {
        filter: (!conditions.is_empty()).then_some(Expr::And(conditions)),
        after: query.after.clone().map(SqlValue::Text),
        limit: limit + 1,
    };
    let users = store.query_users(&page).await?;
    Ok(next_page(users, limit, |u| u.id.clone()))
}

/// Cuts a page fetched with one row extra to `limit`, and gives the cursor of the
/// next page when the extra row was there.
pub fn next_page<T>(
    mut rows: Vec<T>,
    limit: i64,
    cursor: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next = if more { rows.last().map(cursor) } else { None };
    (rows, next)
}

/// Okta's user shape. Never the password hash: `credentials.password` is `{}` when
/// the user has a password.
pub fn to_json(user: &User) -> Value {
    let mut profile = user.profile_extra.clone();
    profile.insert("login".into(), json!(user.login));
    profile.insert("email".into(), json!(user.email));
    profile.insert("firstName".into(), json!(user.first_name));
    profile.insert("lastName".into(), json!(user.last_name));
    let mut credentials = json!({ "provider": { "type": "OKTA", "name": "OKTA" } });
    if user.password_hash.is_some() {
        credentials["password"] = json!({});
    }
    let time = |t: Option<UnixTime>| t.map(rfc3339);
    json!({
        "id": user.id,
        "status": user.status,
        "created": rfc3339(user.created_at),
        "activated": time(user.activated_at),
        "statusChanged": time(user.status_changed_at),
        "lastLogin": time(user.last_login_at),
        "lastUpdated": rfc3339(user.updated_at),
        "passwordChanged": time(user.password_changed_at),
        "type": { "id": DEFAULT_TYPE_ID },
        "profile": profile,
        "credentials": credentials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_follows_okta() {
        use Lifecycle::*;
        assert_eq!(
            Activate.next(UserStatus::Staged, true).unwrap(),
            UserStatus::Active
        );
        assert_eq!(
            Activate.next(UserStatus::Staged, false).unwrap(),
            UserStatus::Provisioned
        );
        assert!(Activate.next(UserStatus::Active, true).is_err());
        assert_eq!(
            Suspend.next(UserStatus::Active, true).unwrap(),
            UserStatus::Suspended
        );
        assert!(Suspend.next(UserStatus::Staged, true).is_err());
        assert_eq!(
            Unsuspend.next(UserStatus::Suspended, true).unwrap(),
            UserStatus::Active
        );
        assert!(Unsuspend.next(UserStatus::Active, true).is_err());
        assert_eq!(
            Deactivate.next(UserStatus::Suspended, true).unwrap(),
            UserStatus::Deprovisioned
        );
        assert!(Deactivate.next(UserStatus::Deprovisioned, true).is_err());
        assert_eq!(
            Activate.next(UserStatus::Deprovisioned, true).unwrap(),
            UserStatus::Active
        );
    }

    #[test]
    fn profiles_merge_and_check() {
        let mut p = Profile {
            login: "a@example.com".into(),
            ..Profile::default()
        };
        let changes = json!({ "firstName": "Ann", "nickName": "A", "email": null })
            .as_object()
            .unwrap()
            .clone();
        p.merge(&changes).unwrap();
        p.check().unwrap();
        assert_eq!(
            (p.first_name.as_deref(), p.email.as_deref()),
            (Some("Ann"), Some("a@example.com"))
        );
        assert_eq!(p.extra["nickName"], "A");
        let bad = json!({ "login": 5 }).as_object().unwrap().clone();
        assert!(matches!(
            p.merge(&bad),
            Err(AdminError::Invalid {
                field: "profile.login",
                ..
            })
        ));
        let nested = json!({ "login": "b", "x": { "y": 1 } })
            .as_object()
            .unwrap()
            .clone();
        assert!(Profile::from_json(&nested).unwrap().check().is_err());
        assert!(
            Profile::from_json(&json!({ "email": "a@b" }).as_object().unwrap().clone()).is_err(),
            "login is required"
        );
    }
}
