//! The `PASSWORD` type of `/api/v1/policies` (Okta's password policy): its one default
//! policy listed, read and replaced through the same routes as the sign-on policies
//! (`sign_on_policies` hands these requests here). The rules are in
//! `admin::password_policy`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use crate::admin::Actor;
use crate::admin::password_policy::{self, PasswordPolicyChange};
use crate::http::SharedState;

/// `settings.password.lockout`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LockoutSettings {
    /// Wrong passwords in a row that lock the account (LOCKED_OUT); 0: no lockout.
    pub max_attempts: Option<i64>,
    /// Minutes after which a locked account unlocks at its next sign-in; 0: only an
    /// admin (or a password reset) unlocks.
    pub auto_unlock_minutes: Option<i64>,
    /// The sign-in page and `/api/v1/authn` say the account is locked; otherwise a
    /// locked account gets the wrong-password answer.
    pub show_lockout_failures: Option<bool>,
    /// `["EMAIL"]`: the person is told by e-mail when their account locks; `[]`: not.
    pub user_lockout_notification_channels: Option<Vec<String>>,
}

/// `settings.password.complexity` (fixed in this version: only `minLength` is read, and
/// must be the one shown).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComplexitySettings {
    pub min_length: Option<i64>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PasswordSettingsPart {
    pub lockout: Option<LockoutSettings>,
    pub complexity: Option<ComplexitySettings>,
}

/// A PASSWORD policy's `settings`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PasswordSettings {
    pub password: Option<PasswordSettingsPart>,
}

pub async fn list(state: &SharedState) -> Result<Response, ApiError> {
    let policy = password_policy::get(&state.store).await?;
    Ok(Json(vec![password_policy::policy_json(&policy)]).into_response())
}

pub async fn get(state: &SharedState) -> Result<Response, ApiError> {
    let policy = password_policy::get(&state.store).await?;
    Ok(Json(password_policy::policy_json(&policy)).into_response())
}

/// PUT: the name, description and lockout settings given; what is absent is kept.
pub async fn replace(
    state: &SharedState,
    actor: &Actor,
    kind: Option<&str>,
    name: Option<String>,
    description: Option<String>,
    settings: Option<PasswordSettings>,
) -> Result<Response, ApiError> {
    if kind.is_some_and(|k| k != "PASSWORD") {
        return Err(ApiError::invalid(
            "type",
            "the password policy's type is PASSWORD",
        ));
    }
    let password = settings.and_then(|s| s.password).unwrap_or_default();
    let lockout = password.lockout.unwrap_or_default();
    let notify_email = match lockout.user_lockout_notification_channels {
        None => None,
        Some(channels) => {
            if channels.iter().any(|c| c != "EMAIL") {
                return Err(ApiError::invalid(
                    "settings.password.lockout.userLockoutNotificationChannels",
                    "the only channel is EMAIL",
                ));
            }
            Some(!channels.is_empty())
        }
    };
    let change = PasswordPolicyChange {
        name,
        description,
        max_attempts: lockout.max_attempts,
        auto_unlock_minutes: lockout.auto_unlock_minutes,
        show_lockout_failures: lockout.show_lockout_failures,
        notify_email,
        min_length: password.complexity.and_then(|c| c.min_length),
    };
    let policy = password_policy::update(&state.store, actor, change, state.clock.now()).await?;
    Ok(Json(password_policy::policy_json(&policy)).into_response())
}
