//! The service layer for administration: one place that validates and creates users
//! and apps. The CLI calls it today; the management API will call the same functions.

pub mod apps;
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
