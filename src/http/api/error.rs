//! Okta's error body for everything under `/api/v1`: `errorCode`, `errorSummary`,
//! `errorLink`, `errorId`, `errorCauses`. Internal detail goes to the log with the
//! `errorId`, never to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::admin::AdminError;
use crate::crypto::okta_id;
use crate::store::StoreError;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorCause {
    #[serde(rename = "errorSummary")]
    pub error_summary: String,
}

/// Okta's error object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    #[serde(rename = "errorCode")]
    pub error_code: &'static str,
    #[serde(rename = "errorSummary")]
    pub error_summary: String,
    #[serde(rename = "errorLink")]
    pub error_link: &'static str,
    #[serde(rename = "errorId")]
    pub error_id: String,
    #[serde(rename = "errorCauses")]
    pub error_causes: Vec<ErrorCause>,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub summary: String,
    pub causes: Vec<String>,
    /// A `WWW-Authenticate` value to send (RFC 6750 §3: a Bearer token's refusal).
    pub challenge: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, summary: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            summary: summary.into(),
            causes: Vec::new(),
            challenge: None,
        }
    }

    /// E0000006 (403): the caller's roles do not allow the operation.
    pub fn forbidden() -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        )
    }

    /// E0000006 (403) for an access token without the operation's scope, with RFC
    /// 6750 §3.1's `insufficient_scope` challenge naming the scope.
    pub fn insufficient_scope(scope: &str) -> Self {
        ApiError {
            causes: vec![format!("The access token lacks the scope {scope}")],
            challenge: Some(format!(
                "Bearer error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", scope=\"{scope}\""
            )),
            ..ApiError::forbidden()
        }
    }

    /// E0000011: no token, an unknown one, or a revoked one (401).
    pub fn invalid_token() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        )
    }

    /// E0000007 (404).
    pub fn not_found(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!("Not found: Resource not found: {what}"),
        )
    }

    /// E0000001: validation failed for `field` (400).
    pub fn invalid(field: &str, message: &str) -> Self {
        ApiError {
            causes: vec![format!("{field}: {message}")],
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                "E0000001",
                format!("Api validation failed: {field}"),
            )
        }
    }

    /// E0000003: a body that is not JSON, or a field of the wrong type (400).
    pub fn malformed(cause: impl Into<String>) -> Self {
        ApiError {
            causes: vec![cause.into()],
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                "E0000003",
                "The request body was not well-formed.",
            )
        }
    }

    /// E0000022: the path exists but not with this method (405).
    pub fn method_not_allowed() -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "E0000022",
            "The endpoint does not support the provided HTTP method",
        )
    }

    /// E0000060 (501): an operation this version does not implement.
    pub fn unsupported(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "E0000060",
            format!("Unsupported operation: {what}"),
        )
    }

    fn unavailable(e: &StoreError) -> Self {
        tracing::error!(error = %e, "store unavailable");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "E0000009",
            "Internal Server Error: the database is unavailable, try again",
        )
    }

    pub fn internal(e: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "E0000009",
            "Internal Server Error",
        )
    }
}

/// A flow's error: the store unavailable (`temporarily_unavailable`, already logged
/// where it happened) is 503 as everywhere in the API; anything else is internal.
impl From<crate::oauth::OAuthError> for ApiError {
    fn from(e: crate::oauth::OAuthError) -> Self {
        if e.code() == "temporarily_unavailable" {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "E0000009",
                "Internal Server Error: the database is unavailable, try again",
            )
        } else {
            ApiError::internal(&e)
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid { field, message } => ApiError::invalid(field, &message),
            AdminError::InvalidSearch { field, message } => ApiError {
                causes: vec![format!("{field}: {message}")],
                ..ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "E0000031",
                    "Invalid search criteria.",
                )
            },
            AdminError::NotFound(what) => ApiError::not_found(&what),
            AdminError::NotAllowed {
                code: "E0000006",
                message,
            } => ApiError {
                causes: vec![message],
                ..ApiError::new(
                    StatusCode::FORBIDDEN,
                    "E0000006",
                    "You do not have permission to perform the requested action",
                )
            },
            AdminError::NotAllowed { code, message } => {
                ApiError::new(StatusCode::FORBIDDEN, code, message)
            }
            AdminError::Conflict(message) => ApiError::new(
                StatusCode::CONFLICT,
                "E0000001",
                format!("Api validation failed: {message}"),
            ),
            AdminError::Store(StoreError::Unavailable(detail)) => {
                ApiError::unavailable(&StoreError::Unavailable(detail))
            }
            AdminError::Store(e) => ApiError::internal(&e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error_code: self.code,
            error_summary: self.summary,
            error_link: self.code,
            error_id: okta_id("oae"),
            error_causes: self
                .causes
                .into_iter()
                .map(|c| ErrorCause { error_summary: c })
                .collect(),
        };
        let challenge = self.challenge.clone();
        let mut response = (self.status, Json(body)).into_response();
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}
