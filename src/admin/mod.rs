//! The service layer for administration: one place that validates and creates users
//! and apps, groups, authorization servers and their scopes, claims and policies. The
//! CLI calls it today; the management API will call the same functions.

pub mod apps;
pub mod groups;
pub mod policies;
pub mod servers;
pub mod users;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Input that fails validation, naming the field (Okta's `errorCauses`).
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("not found: {0}")]
    NotFound(String),
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
}

/// Text that is not blank, not too long, and has no control characters.
pub(crate) fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), AdminError> {
    if value.trim().is_empty() {
        return Err(AdminError::invalid(field, "must not be blank"));
    }
    if value.len() > max {
        return Err(AdminError::invalid(field, format!("must be at most {max} bytes")));
    }
    if value.chars().any(char::is_control) {
        return Err(AdminError::invalid(field, "must not contain control characters"));
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
