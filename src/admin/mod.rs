//! The service layer for administration: one place that validates and changes users
//! and apps, groups, authorization servers and their scopes, claims and policies, and
//! API tokens. The CLI and the management API (`/api/v1`) call the same functions, and
//! every change they make is written to the System Log with who made it.

pub mod account_app;
pub mod api_tokens;
pub mod app_links;
pub mod apps;
pub mod brands;
pub mod console;
pub mod dashboard;
pub mod filter;
pub mod groups;
pub mod idps;
pub mod initial_tokens;
pub mod permissions;
pub mod policies;
pub mod roles;
pub mod servers;
pub mod sign_on;
pub mod syslog;
pub mod trusted_servers;
pub mod user_sessions;
pub mod users;
pub mod zones;

pub use syslog::Actor;

use crate::store::{Status, StoreError};
use syslog::{Event, Target};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Input that fails validation, naming the field (Okta's `errorCauses`).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A search or filter value Okta would call invalid search criteria (`E0000031`):
    /// a control character in it, naming the parameter.
    #[error("{field}: {message}")]
    InvalidSearch {
        field: &'static str,
        message: String,
    },
    #[error("not found: {0}")]
    NotFound(String),
    /// Not allowed in the object's current state, with Okta's error code for it
    /// (`E0000038` a user's status, `E0000056` deleting an active app, ...).
    #[error("{message}")]
    NotAllowed { code: &'static str, message: String },
    /// The object kept changing under a read-modify-write (optimistic concurrency).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AdminError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        AdminError::Invalid {
            field,
            message: message.into(),
        }
    }

    pub fn not_allowed(code: &'static str, message: impl Into<String>) -> Self {
        AdminError::NotAllowed {
            code,
            message: message.into(),
        }
    }
}

/// Text that is not blank, not too long, and has no control characters.
pub(crate) fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), AdminError> {
    if value.trim().is_empty() {
        return Err(AdminError::invalid(field, "must not be blank"));
    }
    if value.len() > max {
        return Err(AdminError::invalid(
            field,
            format!("must be at most {max} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// The list without repeats, order kept.
pub(crate) fn dedup(list: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The System Log event of a policy's or a rule's `lifecycle/activate` or `deactivate`
/// (Okta's `policy.lifecycle.*` and `policy.rule.*`; `rule` tells which): the policy or
/// rule as the first target with its status before and after, then `more`. Shared by
/// the authorization servers' access policies and the sign-on policies.
pub(crate) fn policy_status_event(
    rule: bool,
    (id, name): (&str, &str),
    before: Status,
    after: Status,
    more: Vec<Target>,
) -> Event {
    let (kind, message, target_type) = match (rule, after == Status::Active) {
        (false, true) => (
            "policy.lifecycle.activate",
            "Activate policy",
            "PolicyEntity",
        ),
        (false, false) => (
            "policy.lifecycle.deactivate",
            "Deactivate policy",
            "PolicyEntity",
        ),
        (true, true) => ("policy.rule.activate", "Activate policy rule", "PolicyRule"),
        (true, false) => (
            "policy.rule.deactivate",
            "Deactivate policy rule",
            "PolicyRule",
        ),
    };
    let target = Target::new(id, target_type, name).changed(
        Some(serde_json::json!({ "status": before })),
        Some(serde_json::json!({ "status": after })),
    );
    let mut targets = vec![target];
    targets.extend(more);
    Event::success(kind, message, targets)
}
