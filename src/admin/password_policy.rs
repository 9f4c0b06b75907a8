//! Okta's password policy (`/api/v1/policies?type=PASSWORD`): one default policy
//! (migration 39), its lockout settings changeable (`settings.password.lockout`: after
//! `maxAttempts` wrong passwords in a row the user is LOCKED_OUT; off, 0, by default).
//! `flows::lockout` applies it.
//!
//! The complexity part is shown as Gatehouse applies it: a minimum length of
//! `identity::password::MIN_PASSWORD` characters (and at most `MAX_PASSWORD` bytes),
//! fixed in this version; a change to it is refused rather than ignored.
//!
//! The policy is read from the store at each wrong password (a subquery of the
//! statement that counts it): no cache, so a change applies at the next attempt on
//! every instance.

use serde_json::{Value, json};

use super::syslog::{self, Actor, Event, Target};
use super::{AdminError, check_text};
use crate::clock::{UnixTime, rfc3339};
use crate::identity::password::MIN_PASSWORD;
use crate::store::{DynStore, PASSWORD_POLICY_ID, PasswordPolicy};

/// The highest `maxAttempts` (Okta's limit).
pub const MAX_ATTEMPTS: i64 = 100;
/// The longest `autoUnlockMinutes`: a year.
pub const MAX_AUTO_UNLOCK_MINUTES: i64 = 525_600;

/// What a change sets; `None` keeps the value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordPolicyChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub max_attempts: Option<i64>,
    pub auto_unlock_minutes: Option<i64>,
    pub show_lockout_failures: Option<bool>,
    pub notify_email: Option<bool>,
    /// `settings.password.complexity.minLength`, if given: must be the fixed one.
    pub min_length: Option<i64>,
}

/// Whether `id` is the password policy's.
pub fn is_password_policy(id: &str) -> bool {
    id == PASSWORD_POLICY_ID
}

pub async fn get(store: &DynStore) -> Result<PasswordPolicy, AdminError> {
    Ok(store.password_policy().await?)
}

/// Applies `change` and records `policy.lifecycle.update` with the policy before and
/// after.
pub async fn update(
    store: &DynStore,
    actor: &Actor,
    change: PasswordPolicyChange,
    now: UnixTime,
) -> Result<PasswordPolicy, AdminError> {
    let before = store.password_policy().await?;
    let policy = apply(&before, change, now)?;
    if !store.update_password_policy(&policy).await? {
        return Err(AdminError::NotFound(format!(
            "{PASSWORD_POLICY_ID} (Policy)"
        )));
    }
    let target = Target::new(&policy.id, "PolicyEntity", &policy.name)
        .changed(Some(policy_json(&before)), Some(policy_json(&policy)));
    syslog::record(
        store,
        actor,
        Event::success("policy.lifecycle.update", "Update policy", vec![target]),
        now,
    )
    .await;
    Ok(policy)
}

/// The policy `change` makes of `before`, or why it cannot.
pub fn apply(
    before: &PasswordPolicy,
    change: PasswordPolicyChange,
    now: UnixTime,
) -> Result<PasswordPolicy, AdminError> {
    let mut policy = before.clone();
    if let Some(name) = change.name {
        check_text("name", &name, 255)?;
        policy.name = name;
    }
    if let Some(description) = change.description {
        if description.len() > 1024 || description.chars().any(char::is_control) {
            return Err(AdminError::invalid(
                "description",
                "must be at most 1024 bytes, without control characters",
            ));
        }
        policy.description = description;
    }
    if let Some(max) = change.max_attempts {
        if !(0..=MAX_ATTEMPTS).contains(&max) {
            return Err(AdminError::invalid(
                "settings.password.lockout.maxAttempts",
                format!("must be 0 (no lockout) to {MAX_ATTEMPTS}"),
            ));
        }
        policy.max_attempts = max;
    }
    if let Some(minutes) = change.auto_unlock_minutes {
        if !(0..=MAX_AUTO_UNLOCK_MINUTES).contains(&minutes) {
            return Err(AdminError::invalid(
                "settings.password.lockout.autoUnlockMinutes",
                format!("must be 0 (only an admin unlocks) to {MAX_AUTO_UNLOCK_MINUTES}"),
            ));
        }
        policy.auto_unlock_minutes = minutes;
    }
    if let Some(show) = change.show_lockout_failures {
        policy.show_lockout_failures = show;
    }
    if let Some(email) = change.notify_email {
        policy.notify_email = email;
    }
    if let Some(min) = change.min_length
        && min != MIN_PASSWORD as i64
    {
        return Err(AdminError::invalid(
            "settings.password.complexity.minLength",
            format!("is fixed at {MIN_PASSWORD} in this version"),
        ));
    }
    policy.updated_at = now;
    Ok(policy)
}

/// Okta's password policy shape.
pub fn policy_json(policy: &PasswordPolicy) -> Value {
    let channels: Vec<&str> = if policy.notify_email {
        vec!["EMAIL"]
    } else {
        vec![]
    };
    json!({
        "id": policy.id,
        "type": "PASSWORD",
        "name": policy.name,
        "description": policy.description,
        "priority": 1,
        "status": "ACTIVE",
        "system": true,
        "created": rfc3339(policy.created_at),
        "lastUpdated": rfc3339(policy.updated_at),
        "conditions": {
            "people": { "groups": { "include": [] } },
            "authProvider": { "provider": "OKTA" },
        },
        "settings": {
            "password": {
                "complexity": {
                    "minLength": MIN_PASSWORD,
                    "minLowerCase": 0,
                    "minUpperCase": 0,
                    "minNumber": 0,
                    "minSymbol": 0,
                    "excludeUsername": false,
                    "excludeAttributes": [],
                    "dictionary": { "common": { "exclude": false } },
                },
                "age": {
                    "maxAgeDays": 0,
                    "expireWarnDays": 0,
                    "minAgeMinutes": 0,
                    "historyCount": 0,
                },
                "lockout": {
                    "maxAttempts": policy.max_attempts,
                    "autoUnlockMinutes": policy.auto_unlock_minutes,
                    "userLockoutNotificationChannels": channels,
                    "showLockoutFailures": policy.show_lockout_failures,
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy {
            id: PASSWORD_POLICY_ID.into(),
            name: "Default Policy".into(),
            description: String::new(),
            max_attempts: 0,
            auto_unlock_minutes: 0,
            show_lockout_failures: false,
            notify_email: false,
            created_at: 1,
            updated_at: 1,
        }
    }

    #[test]
    fn a_change_keeps_what_it_does_not_name() {
        let change = PasswordPolicyChange {
            max_attempts: Some(5),
            ..Default::default()
        };
        let after = apply(&policy(), change, 9).unwrap();
        assert_eq!(after.max_attempts, 5);
        assert_eq!(after.name, "Default Policy");
        assert_eq!(after.updated_at, 9);
    }

    #[test]
    fn out_of_range_values_and_a_new_minimum_length_are_refused() {
        for change in [
            PasswordPolicyChange {
                max_attempts: Some(-1),
                ..Default::default()
            },
            PasswordPolicyChange {
                max_attempts: Some(MAX_ATTEMPTS + 1),
                ..Default::default()
            },
            PasswordPolicyChange {
                auto_unlock_minutes: Some(-5),
                ..Default::default()
            },
            PasswordPolicyChange {
                min_length: Some(4),
                ..Default::default()
            },
            PasswordPolicyChange {
                name: Some(" ".into()),
                ..Default::default()
            },
        ] {
            assert!(matches!(
                apply(&policy(), change, 2),
                Err(AdminError::Invalid { .. })
            ));
        }
    }

    #[test]
    fn the_json_has_okta_s_lockout_shape() {
        let mut p = policy();
        p.notify_email = true;
        p.max_attempts = 3;
        let v = policy_json(&p);
        assert_eq!(v["type"], "PASSWORD");
        assert_eq!(v["settings"]["password"]["lockout"]["maxAttempts"], 3);
        assert_eq!(
            v["settings"]["password"]["lockout"]["userLockoutNotificationChannels"],
            json!(["EMAIL"])
        );
    }
}
