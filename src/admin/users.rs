//! Creating and listing users.

use serde_json::{Value, json};

use super::{AdminError, check_text};
use crate::clock::{UnixTime, rfc3339};
use crate::crypto::okta_id;
use crate::identity::password;
use crate::store::{DynStore, StoreError, User};

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub login: String,
    pub password: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

fn check_email(field: &'static str, value: &str) -> Result<(), AdminError> {
    check_text(field, value, 100)?;
    match value.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !value.contains(char::is_whitespace) => Ok(()),
        _ => Err(AdminError::invalid(field, "must be an email address")),
    }
}

/// Validates and stores a new ACTIVE user. The email defaults to the login when the
/// login is an address, as Okta's default profile has it.
pub async fn create(store: &DynStore, new: NewUser, now: UnixTime) -> Result<User, AdminError> {
    check_text("login", &new.login, 100)?;
    if new.login.contains(char::is_whitespace) {
        return Err(AdminError::invalid("login", "must not contain spaces"));
    }
    let email = match new.email {
        Some(email) => {
            check_email("email", &email)?;
            Some(email)
        }
        None => check_email("login", &new.login).ok().map(|_| new.login.clone()),
    };
    for (field, value) in [("firstName", &new.first_name), ("lastName", &new.last_name)] {
        if let Some(v) = value {
            check_text(field, v, 50)?;
        }
    }
    let password_hash = match new.password {
        Some(p) if p.len() < password::MIN_PASSWORD => {
            return Err(AdminError::invalid(
                "password",
                format!("must be at least {} characters", password::MIN_PASSWORD),
            ));
        }
        Some(p) if p.len() > password::MAX_PASSWORD => {
            return Err(AdminError::invalid("password", "is too long"));
        }
        Some(p) => Some(
            tokio::task::spawn_blocking(move || password::hash(&p))
                .await
                .expect("hashing does not panic"),
        ),
        None => None,
    };
    let user = User {
        id: okta_id("00u"),
        login: new.login,
        email,
        first_name: new.first_name,
        last_name: new.last_name,
        password_hash,
        status: "ACTIVE".into(),
        created_at: now,
        updated_at: now,
    };
    match store.insert_user(&user).await {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict(_)) => Err(AdminError::invalid("login", "a user with this login already exists")),
        Err(e) => Err(e.into()),
    }
}

/// How the CLI prints a user. Never the password hash.
pub fn to_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "status": user.status,
        "created": rfc3339(user.created_at),
        "lastUpdated": rfc3339(user.updated_at),
        "login": user.login,
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
    })
}
