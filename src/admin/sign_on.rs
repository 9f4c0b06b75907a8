//! Okta's policies for signing in: the global session policy (`OKTA_SIGN_ON`) and app
//! authentication policies (`ACCESS_POLICY`), their rules, and which policy an app
//! follows. `oauth::sign_on` evaluates them; network zones are in `admin::zones`.
//!
//! The system policy of each type and its system rule (migration 35) cannot be
//! deleted or deactivated, and a system rule's conditions stay empty (it is the
//! catch-all): what they ask can be changed.

use serde_json::{Value, json};

use super::syslog::{self, Actor, Event, Target};
use super::{AdminError, check_text, dedup};
use crate::clock::{UnixTime, rfc3339};
use crate::crypto::okta_id;
use crate::store::{
    DynStore, FactorMode, PolicyType, Possession, RuleAccess, SignOnPolicy, SignOnRule, Status,
};

/// Okta's error for an operation the default policy or rule does not allow.
const SYSTEM_REFUSED: &str = "E0000068";

#[derive(Debug, Clone)]
pub struct NewSignOnPolicy {
    pub policy_type: PolicyType,
    pub name: String,
    pub description: String,
    /// 1 is evaluated first; `None`: after the existing ones (kept on update).
    pub priority: Option<i64>,
    /// OKTA_SIGN_ON: group ids or names it applies to; empty: everyone.
    pub groups: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct NewSignOnRule {
    pub name: String,
    pub priority: Option<i64>,
    pub users_include: Vec<String>,
    pub users_exclude: Vec<String>,
    pub groups_include: Vec<String>,
    pub groups_exclude: Vec<String>,
    pub zones_include: Vec<String>,
    pub zones_exclude: Vec<String>,
    pub access: RuleAccess,
    pub factor_mode: FactorMode,
    pub possession: Possession,
    pub reauthenticate_in: Option<i64>,
}

/// Re-authentication at most 1 year apart (Okta's longest choice).
pub const REAUTHENTICATE_MAX: i64 = 365 * 24 * 3600;

pub async fn list(
    store: &DynStore,
    policy_type: PolicyType,
) -> Result<Vec<SignOnPolicy>, AdminError> {
    let all = store.list_sign_on_policies().await?;
    Ok(all
        .into_iter()
        .filter(|p| p.policy_type == policy_type)
        .collect())
}

pub async fn find(store: &DynStore, id: &str) -> Result<SignOnPolicy, AdminError> {
    store
        .list_sign_on_policies()
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| AdminError::NotFound(format!("{id} (Policy)")))
}

pub async fn rules_of(store: &DynStore, policy_id: &str) -> Result<Vec<SignOnRule>, AdminError> {
    let all = store.list_sign_on_rules().await?;
    Ok(all
        .into_iter()
        .filter(|r| r.policy_id == policy_id)
        .collect())
}

pub async fn find_rule(
    store: &DynStore,
    policy_id: &str,
    rule_id: &str,
) -> Result<(SignOnPolicy, SignOnRule), AdminError> {
    let policy = find(store, policy_id).await?;
    let rule = rules_of(store, policy_id)
        .await?
        .into_iter()
        .find(|r| r.id == rule_id)
        .ok_or_else(|| AdminError::NotFound(format!("{rule_id} (PolicyRule)")))?;
    Ok((policy, rule))
}

fn check_priority(given: Option<i64>, current: i64) -> Result<i64, AdminError> {
    match given {
        Some(p) if !(1..=1000).contains(&p) => Err(AdminError::invalid(
            "priority",
            "must be between 1 and 1000",
        )),
        Some(p) => Ok(p),
        None => Ok(current),
    }
}

fn next_priority(existing: impl Iterator<Item = i64>) -> i64 {
    existing.max().map_or(1, |m| (m + 1).min(1000))
}

async fn group_ids(
    store: &DynStore,
    field: &'static str,
    names: Vec<String>,
) -> Result<Vec<String>, AdminError> {
    let mut ids = Vec::new();
    for name in dedup(names) {
        match super::groups::find(store, &name).await {
            Ok(g) => ids.push(g.id),
            Err(AdminError::NotFound(_)) => {
                return Err(AdminError::invalid(field, format!("no group {name:?}")));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(ids)
}

async fn user_ids(
    store: &DynStore,
    field: &'static str,
    names: Vec<String>,
) -> Result<Vec<String>, AdminError> {
    let mut ids = Vec::new();
    for name in dedup(names) {
        match super::users::find(store, &name).await {
            Ok(u) => ids.push(u.id),
            Err(AdminError::NotFound(_)) => {
                return Err(AdminError::invalid(field, format!("no user {name:?}")));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(ids)
}

async fn zone_ids(
    store: &DynStore,
    field: &'static str,
    ids: Vec<String>,
) -> Result<Vec<String>, AdminError> {
    let zones = store.list_zones().await?;
    let ids = dedup(ids);
    if let Some(bad) = ids.iter().find(|id| !zones.iter().any(|z| &z.id == *id)) {
        return Err(AdminError::invalid(
            field,
            format!("no network zone {bad:?}"),
        ));
    }
    Ok(ids)
}

async fn apply_policy(
    store: &DynStore,
    new: NewSignOnPolicy,
    base: SignOnPolicy,
) -> Result<SignOnPolicy, AdminError> {
    check_text("name", &new.name, 255)?;
    if new.description.len() > 1024 || new.description.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            "description",
            "must be at most 1024 printable characters",
        ));
    }
    if new.policy_type != base.policy_type {
        return Err(AdminError::invalid("type", "a policy's type cannot change"));
    }
    if new.policy_type == PolicyType::Access && !new.groups.is_empty() {
        return Err(AdminError::invalid(
            "conditions",
            "an app authentication policy applies to the apps assigned to it; name people in its rules",
        ));
    }
    if base.system && !new.groups.is_empty() {
        return Err(AdminError::invalid(
            "conditions.people.groups.include",
            "the default policy applies to everyone",
        ));
    }
    let groups = group_ids(store, "conditions.people.groups.include", new.groups).await?;
    Ok(SignOnPolicy {
        name: new.name,
        description: new.description,
        priority: check_priority(new.priority, base.priority)?,
        groups,
        ..base
    })
}

/// A new policy; an app authentication policy gets its catch-all rule (a password,
/// as the default's), as in Okta.
pub async fn create(
    store: &DynStore,
    actor: &Actor,
    new: NewSignOnPolicy,
    now: UnixTime,
) -> Result<SignOnPolicy, AdminError> {
    let existing = list(store, new.policy_type).await?;
    let base = SignOnPolicy {
        id: okta_id("00p"),
        policy_type: new.policy_type,
        name: String::new(),
        description: String::new(),
        priority: next_priority(existing.iter().filter(|p| !p.system).map(|p| p.priority)),
        status: Status::Active,
        system: false,
        groups: vec![],
        created_at: now,
        updated_at: now,
    };
    let policy = apply_policy(store, new, base).await?;
    store.insert_sign_on_policy(&policy).await?;
    if policy.policy_type == PolicyType::Access {
        store
            .insert_sign_on_rule(&SignOnRule {
                id: okta_id("0pr"),
                policy_id: policy.id.clone(),
                name: "Catch-all Rule".into(),
                priority: 1,
                status: Status::Active,
                system: true,
                users_include: vec![],
                users_exclude: vec![],
                groups_include: vec![],
                groups_exclude: vec![],
                zones_include: vec![],
                zones_exclude: vec![],
                access: RuleAccess::Allow,
                factor_mode: FactorMode::One,
                possession: Possession::Any,
                reauthenticate_in: None,
                created_at: now,
                updated_at: now,
            })
            .await?;
    }
    let target = Target::new(&policy.id, "PolicyEntity", &policy.name)
        .changed(None, Some(policy_json(&policy)));
    syslog::record(
        store,
        actor,
        Event::success("policy.lifecycle.create", "Create policy", vec![target]),
        now,
    )
    .await;
    Ok(policy)
}

/// Okta's PUT: name, description, priority (kept when not given) and groups.
pub async fn update(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    new: NewSignOnPolicy,
    now: UnixTime,
) -> Result<SignOnPolicy, AdminError> {
    let before = find(store, id).await?;
    let base = SignOnPolicy {
        updated_at: now,
        ..before.clone()
    };
    let policy = apply_policy(store, new, base).await?;
    if !store.update_sign_on_policy(&policy).await? {
        return Err(AdminError::NotFound(format!("{id} (Policy)")));
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

/// Okta's `lifecycle/activate` and `deactivate`; the default policy stays active.
pub async fn set_active(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    active: bool,
    now: UnixTime,
) -> Result<SignOnPolicy, AdminError> {
    let before = find(store, id).await?;
    if before.system && !active {
        return Err(AdminError::not_allowed(
            SYSTEM_REFUSED,
            "The default policy cannot be deactivated.",
        ));
    }
    let status = Status::active_if(active);
    if before.status == status {
        return Ok(before);
    }
    let policy = SignOnPolicy {
        status,
        updated_at: now,
        ..before.clone()
    };
    if !store.update_sign_on_policy(&policy).await? {
        return Err(AdminError::NotFound(format!("{id} (Policy)")));
    }
    let event = super::policy_status_event(
        false,
        (&policy.id, &policy.name),
        before.status,
        status,
        vec![],
    );
    syslog::record(store, actor, event, now).await;
    Ok(policy)
}

/// Deletes a policy with its rules; apps that followed it follow the default.
pub async fn delete(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let policy = find(store, id).await?;
    if policy.system {
        return Err(AdminError::not_allowed(
            SYSTEM_REFUSED,
            "The default policy cannot be deleted.",
        ));
    }
    if !store.delete_sign_on_policy(id).await? {
        return Err(AdminError::NotFound(format!("{id} (Policy)")));
    }
    let target = Target::new(&policy.id, "PolicyEntity", &policy.name)
        .changed(Some(policy_json(&policy)), None);
    syslog::record(
        store,
        actor,
        Event::success("policy.lifecycle.delete", "Delete policy", vec![target]),
        now,
    )
    .await;
    Ok(())
}

async fn apply_rule(
    store: &DynStore,
    policy: &SignOnPolicy,
    new: NewSignOnRule,
    base: SignOnRule,
) -> Result<SignOnRule, AdminError> {
    check_text("name", &new.name, 255)?;
    let conditions = [
        &new.users_include,
        &new.users_exclude,
        &new.groups_include,
        &new.groups_exclude,
        &new.zones_include,
        &new.zones_exclude,
    ];
    if base.system && conditions.iter().any(|c| !c.is_empty()) {
        return Err(AdminError::invalid(
            "conditions",
            "the catch-all rule matches everyone everywhere; add a rule for conditions",
        ));
    }
    if policy.policy_type == PolicyType::SignOn && new.possession != Possession::Any {
        return Err(AdminError::invalid(
            "actions.signon",
            "possession constraints belong to app authentication policies",
        ));
    }
    if new
        .reauthenticate_in
        .is_some_and(|s| !(0..=REAUTHENTICATE_MAX).contains(&s))
    {
        return Err(AdminError::invalid(
            "reauthenticateIn",
            "must be between 0 (every sign-in) and one year",
        ));
    }
    Ok(SignOnRule {
        name: new.name,
        priority: if base.system {
            base.priority
        } else {
            check_priority(new.priority, base.priority)?
        },
        users_include: user_ids(store, "conditions.people.users.include", new.users_include)
            .await?,
        users_exclude: user_ids(store, "conditions.people.users.exclude", new.users_exclude)
            .await?,
        groups_include: group_ids(
            store,
            "conditions.people.groups.include",
            new.groups_include,
        )
        .await?,
        groups_exclude: group_ids(
            store,
            "conditions.people.groups.exclude",
            new.groups_exclude,
        )
        .await?,
        zones_include: zone_ids(store, "conditions.network.include", new.zones_include).await?,
        zones_exclude: zone_ids(store, "conditions.network.exclude", new.zones_exclude).await?,
        access: new.access,
        factor_mode: new.factor_mode,
        possession: new.possession,
        reauthenticate_in: new.reauthenticate_in,
        ..base
    })
}

pub async fn create_rule(
    store: &DynStore,
    actor: &Actor,
    policy_id: &str,
    new: NewSignOnRule,
    now: UnixTime,
) -> Result<SignOnRule, AdminError> {
    let policy = find(store, policy_id).await?;
    let existing = rules_of(store, policy_id).await?;
    let base = SignOnRule {
        id: okta_id("0pr"),
        policy_id: policy.id.clone(),
        name: String::new(),
        priority: next_priority(existing.iter().filter(|r| !r.system).map(|r| r.priority)),
        status: Status::Active,
        system: false,
        users_include: vec![],
        users_exclude: vec![],
        groups_include: vec![],
        groups_exclude: vec![],
        zones_include: vec![],
        zones_exclude: vec![],
        access: RuleAccess::Allow,
        factor_mode: FactorMode::One,
        possession: Possession::Any,
        reauthenticate_in: None,
        created_at: now,
        updated_at: now,
    };
    let rule = apply_rule(store, &policy, new, base).await?;
    store.insert_sign_on_rule(&rule).await?;
    let target = Target::new(&rule.id, "PolicyRule", &rule.name)
        .changed(None, Some(rule_json(&policy, &rule)));
    syslog::record(
        store,
        actor,
        Event::success("policy.rule.add", "Add policy rule", vec![target]),
        now,
    )
    .await;
    Ok(rule)
}

pub async fn update_rule(
    store: &DynStore,
    actor: &Actor,
    policy_id: &str,
    rule_id: &str,
    new: NewSignOnRule,
    now: UnixTime,
) -> Result<SignOnRule, AdminError> {
    let (policy, before) = find_rule(store, policy_id, rule_id).await?;
    let base = SignOnRule {
        updated_at: now,
        ..before.clone()
    };
    let rule = apply_rule(store, &policy, new, base).await?;
    if !store.update_sign_on_rule(&rule).await? {
        return Err(AdminError::NotFound(format!("{rule_id} (PolicyRule)")));
    }
    let target = Target::new(&rule.id, "PolicyRule", &rule.name).changed(
        Some(rule_json(&policy, &before)),
        Some(rule_json(&policy, &rule)),
    );
    syslog::record(
        store,
        actor,
        Event::success("policy.rule.update", "Update policy rule", vec![target]),
        now,
    )
    .await;
    Ok(rule)
}

/// Okta's rule `lifecycle/activate` and `deactivate`; the catch-all rule stays active.
pub async fn set_rule_active(
    store: &DynStore,
    actor: &Actor,
    policy_id: &str,
    rule_id: &str,
    active: bool,
    now: UnixTime,
) -> Result<SignOnRule, AdminError> {
    let (_, before) = find_rule(store, policy_id, rule_id).await?;
    if before.system && !active {
        return Err(AdminError::not_allowed(
            SYSTEM_REFUSED,
            "The default rule cannot be deactivated.",
        ));
    }
    let status = Status::active_if(active);
    if before.status == status {
        return Ok(before);
    }
    let rule = SignOnRule {
        status,
        updated_at: now,
        ..before.clone()
    };
    if !store.update_sign_on_rule(&rule).await? {
        return Err(AdminError::NotFound(format!("{rule_id} (PolicyRule)")));
    }
    let event =
        super::policy_status_event(true, (&rule.id, &rule.name), before.status, status, vec![]);
    syslog::record(store, actor, event, now).await;
    Ok(rule)
}

pub async fn delete_rule(
    store: &DynStore,
    actor: &Actor,
    policy_id: &str,
    rule_id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let (policy, rule) = find_rule(store, policy_id, rule_id).await?;
    if rule.system {
        return Err(AdminError::not_allowed(
            SYSTEM_REFUSED,
            "The default rule cannot be deleted.",
        ));
    }
    if !store.delete_sign_on_rule(policy_id, rule_id).await? {
        return Err(AdminError::NotFound(format!("{rule_id} (PolicyRule)")));
    }
    let target = Target::new(&rule.id, "PolicyRule", &rule.name)
        .changed(Some(rule_json(&policy, &rule)), None);
    syslog::record(
        store,
        actor,
        Event::success("policy.rule.delete", "Delete policy rule", vec![target]),
        now,
    )
    .await;
    Ok(())
}

/// Okta's `PUT /api/v1/apps/{appId}/policies/{policyId}`: the app follows this app
/// authentication policy from its next sign-in on.
pub async fn assign_app(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    policy_id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let app = super::apps::find(store, client_id).await?;
    let policy = find(store, policy_id).await?;
    if policy.policy_type != PolicyType::Access {
        return Err(AdminError::invalid(
            "policyId",
            "an app follows an app authentication policy (ACCESS_POLICY)",
        ));
    }
    store
        .set_app_sign_on_policy(&app.client_id, &policy.id)
        .await?;
    let targets = vec![
        Target::new(&app.client_id, "AppInstance", &app.name),
        Target::new(&policy.id, "PolicyEntity", &policy.name),
    ];
    syslog::record(
        store,
        actor,
        Event::success(
            "application.policy.sign_on.update",
            "Update the app's authentication policy",
            targets,
        ),
        now,
    )
    .await;
    Ok(())
}

/// ISO 8601 durations as Okta writes `reauthenticateIn` (`PT2H`, `PT30M`, `P1D`,
/// `PT0S`): days, hours, minutes, seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let rest = text.strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total: i64 = 0;
    let mut any = false;
    let mut read = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut number = String::new();
        let mut allowed = units.iter();
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let (_, scale) = allowed.by_ref().find(|(u, _)| *u == c)?;
            let n: i64 = number.parse().ok()?;
            total = total.checked_add(n.checked_mul(*scale)?)?;
            number.clear();
            any = true;
        }
        number.is_empty().then_some(())
    };
    read(days, &[('D', 86400)])?;
    if let Some(time) = time {
        if time.is_empty() {
            return None;
        }
        read(time, &[('H', 3600), ('M', 60), ('S', 1)])?;
    }
    any.then_some(total)
}

/// Seconds as Okta's ISO 8601 duration (`PT2H`, `PT90M`, `PT0S`).
pub fn format_duration(seconds: i64) -> String {
    if seconds == 0 {
        "PT0S".into()
    } else if seconds % 3600 == 0 {
        format!("PT{}H", seconds / 3600)
    } else if seconds % 60 == 0 {
        format!("PT{}M", seconds / 60)
    } else {
        format!("PT{seconds}S")
    }
}

/// Okta's policy shape.
pub fn policy_json(policy: &SignOnPolicy) -> Value {
    let conditions = match policy.policy_type {
        PolicyType::SignOn => json!({ "people": { "groups": { "include": policy.groups } } }),
        PolicyType::Access => Value::Null,
    };
    json!({
        "id": policy.id,
        "type": policy.policy_type,
        "name": policy.name,
        "description": policy.description,
        "priority": policy.priority,
        "status": policy.status,
        "system": policy.system,
        "created": rfc3339(policy.created_at),
        "lastUpdated": rfc3339(policy.updated_at),
        "conditions": conditions,
    })
}

/// Okta's rule shape: `actions.signon` for the global session policy,
/// `actions.appSignOn.verificationMethod` for an app authentication policy.
pub fn rule_json(policy: &SignOnPolicy, rule: &SignOnRule) -> Value {
    let (kind, actions) = match policy.policy_type {
        PolicyType::SignOn => {
            let mut signon = json!({
                "access": rule.access,
                "requireFactor": rule.factor_mode == FactorMode::Two,
                "primaryFactor": "PASSWORD_IDP_ANY_FACTOR",
            });
            if rule.factor_mode == FactorMode::Two {
                signon["factorPromptMode"] = match rule.reauthenticate_in {
                    Some(0) => json!("ALWAYS"),
                    _ => json!("SESSION"),
                };
                signon["factorLifetime"] = json!(rule.reauthenticate_in.unwrap_or(0) / 60);
            }
            ("SIGN_ON", json!({ "signon": signon }))
        }
        PolicyType::Access => {
            let mut method = json!({
                "type": "ASSURANCE",
                "factorMode": rule.factor_mode,
                "constraints": constraints_json(rule.possession),
            });
            if let Some(s) = rule.reauthenticate_in {
                method["reauthenticateIn"] = json!(format_duration(s));
            }
            (
                "ACCESS_POLICY",
                json!({ "appSignOn": { "access": rule.access, "verificationMethod": method } }),
            )
        }
    };
    let zones = |list: &[String]| list.to_vec();
    let network = if rule.zones_include.is_empty() && rule.zones_exclude.is_empty() {
        json!({ "connection": "ANYWHERE" })
    } else {
        json!({ "connection": "ZONE", "include": zones(&rule.zones_include), "exclude": zones(&rule.zones_exclude) })
    };
    json!({
        "id": rule.id,
        "type": kind,
        "name": rule.name,
        "priority": rule.priority,
        "status": rule.status,
        "system": rule.system,
        "created": rfc3339(rule.created_at),
        "lastUpdated": rfc3339(rule.updated_at),
        "conditions": {
            "people": {
                "users": { "include": rule.users_include, "exclude": rule.users_exclude },
                "groups": { "include": rule.groups_include, "exclude": rule.groups_exclude },
            },
            "network": network,
        },
        "actions": actions,
    })
}

fn constraints_json(possession: Possession) -> Value {
    match possession {
        Possession::Any => json!([]),
        Possession::PhishingResistant => {
            json!([{ "possession": { "phishingResistant": "REQUIRED" } }])
        }
        Possession::HardwareProtected => json!([{ "possession": {
            "phishingResistant": "REQUIRED", "hardwareProtection": "REQUIRED" } }]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations() {
        assert_eq!(parse_duration("PT2H"), Some(7200));
        assert_eq!(parse_duration("PT1H30M"), Some(5400));
        assert_eq!(parse_duration("P1DT1S"), Some(86401));
        assert_eq!(parse_duration("PT0S"), Some(0));
        for bad in ["", "P", "PT", "2H", "PT2", "PTH", "PT1M1H", "P1H", "PT-1H"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(format_duration(7200), "PT2H");
        assert_eq!(format_duration(5400), "PT90M");
        assert_eq!(format_duration(0), "PT0S");
    }
}
