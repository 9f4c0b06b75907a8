//! Access policies and their rules, per custom authorization server (Okta's model,
//! reduced to what a user needs; see `oauth::policy` for how they are evaluated).

use serde_json::{Value, json};

use super::servers::{find_custom, target_of};
use super::syslog::{self, Actor, Event, Target};
use super::{AdminError, check_text, dedup};
use crate::clock::{UnixTime, rfc3339};
use crate::crypto::okta_id;
use crate::oauth::grants::GrantType;
use crate::oauth::policy::{ALL_CLIENTS, ANY_SCOPE, EVERYONE};
use crate::store::{AuthServer, DynStore, Policy, PolicyRule, Status};

/// Okta's bounds: access tokens 5 minutes to 1 day.
pub const ACCESS_TTL_MIN: i64 = 5 * 60;
pub const ACCESS_TTL_MAX: i64 = 24 * 3600;
/// Refresh tokens: at most 5 years; the idle window at least 10 minutes.
pub const REFRESH_MAX: i64 = 5 * 365 * 24 * 3600;
pub const REFRESH_IDLE_MIN: i64 = 10 * 60;

#[derive(Debug, Clone, Default)]
pub struct NewPolicy {
    pub name: String,
    pub description: String,
    /// Client ids; empty: every client.
    pub clients: Vec<String>,
    /// 1 is evaluated first; `None`: after the existing policies.
    pub priority: Option<i64>,
}

/// `base` with the fields `new` sets, checked (clients must exist): what creation
/// and Okta's PUT share. Without a priority, `base`'s stays.
async fn apply_policy(
    store: &DynStore,
    new: NewPolicy,
    base: Policy,
) -> Result<Policy, AdminError> {
    check_text("name", &new.name, 100)?;
    if new.description.len() > 1024 || new.description.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            "description",
            "must be at most 1024 printable characters",
        ));
    }
    let mut clients = dedup(new.clients);
    if clients.is_empty() {
        clients.push(ALL_CLIENTS.into());
    }
    for id in clients.iter().filter(|c| c.as_str() != ALL_CLIENTS) {
        if store.get_client(id).await?.is_none() {
            return Err(AdminError::invalid(
                "conditions.clients.include",
                format!("no app has client_id {id:?}"),
            ));
        }
    }
    Ok(Policy {
        name: new.name,
        description: new.description,
        priority: check_priority(new.priority, base.priority)?,
        clients,
        ..base
    })
}

pub async fn create_policy(
    store: &DynStore,
    actor: &Actor,
    server_id: &str,
    new: NewPolicy,
    now: UnixTime,
) -> Result<Policy, AdminError> {
    let server = find_custom(store, server_id).await?;
    let existing = store.list_policies(&server.id).await?;
    let base = Policy {
        id: okta_id("00p"),
        server_id: server.id.clone(),
        name: String::new(),
        description: String::new(),
        priority: next_priority(existing.iter().map(|p| p.priority)),
        status: Status::Active,
        clients: vec![],
        created_at: now,
        updated_at: now,
    };
    let policy = apply_policy(store, new, base).await?;
    store.insert_policy(&policy).await?;
    let target = Target::new(&policy.id, "PolicyEntity", &policy.name)
        .changed(None, Some(to_json(&policy, &[])));
    let event = Event::success(
        "policy.lifecycle.create",
        "Create policy",
        vec![target, target_of(&server)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(policy)
}

/// The policy `policy_id` of a custom server, with the server.
async fn find_policy(
    store: &DynStore,
    server_id: &str,
    policy_id: &str,
) -> Result<(AuthServer, Policy), AdminError> {
    let server = find_custom(store, server_id).await?;
    let policies = store.list_policies(&server.id).await?;
    let policy = policies
        .into_iter()
        .find(|p| p.id == policy_id)
        .ok_or_else(|| AdminError::NotFound(format!("policy {policy_id}")))?;
    Ok((server, policy))
}

/// Okta's PUT on a policy: name, description, clients and priority (kept when not
/// given), with the checks of `create_policy`. Its status changes only through
/// `set_policy_active`.
pub async fn update_policy(
    store: &DynStore,
    actor: &Actor,
    server_id: &str,
    policy_id: &str,
    new: NewPolicy,
    now: UnixTime,
) -> Result<Policy, AdminError> {
    let (server, before) = find_policy(store, server_id, policy_id).await?;
    let policy = apply_policy(
        store,
        new,
        Policy {
            updated_at: now,
            ..before.clone()
        },
    )
    .await?;
    if !store.update_policy(&policy).await? {
        return Err(AdminError::NotFound(format!("policy {policy_id}")));
    }
    let target = Target::new(&policy.id, "PolicyEntity", &policy.name)
        .changed(Some(to_json(&before, &[])), Some(to_json(&policy, &[])));
    let event = Event::success(
        "policy.lifecycle.update",
        "Update policy",
        vec![target, target_of(&server)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(policy)
}

/// Okta's `lifecycle/activate` and `deactivate`: an INACTIVE policy is skipped when
/// tokens are decided (the next policy that applies to the client decides).
pub async fn set_policy_active(
    store: &DynStore,
    actor: &Actor,
    server_id: &str,
    policy_id: &str,
    active: bool,
    now: UnixTime,
) -> Result<Policy, AdminError> {
    let (server, before) = find_policy(store, server_id, policy_id).await?;
    let status = Status::active_if(active);
    if before.status == status {
        return Ok(before);
    }
    let policy = Policy {
        status,
        updated_at: now,
        ..before.clone()
    };
    if !store.update_policy(&policy).await? {
        return Err(AdminError::NotFound(format!("policy {policy_id}")));
    }
    let event = super::policy_status_event(
        false,
        (&policy.id, &policy.name),
        before.status,
        status,
        vec![target_of(&server)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(policy)
}

/// The given priority (0 to 1000), or `current` when none is given.
fn check_priority(given: Option<i64>, current: i64) -> Result<i64, AdminError> {
    match given {
        Some(p) if !(0..=1000).contains(&p) => Err(AdminError::invalid(
            "priority",
            "must be between 0 and 1000",
        )),
        Some(p) => Ok(p),
        None => Ok(current),
    }
}

/// After the existing ones.
fn next_priority(existing: impl Iterator<Item = i64>) -> i64 {
    existing.max().map_or(1, |m| m + 1)
}

pub async fn delete_policy(
    store: &DynStore,
    actor: &Actor,
    server_id: &str,
    policy_id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let server = find_custom(store, server_id).await?;
    let policies = store.list_policies(&server.id).await?;
    let Some(policy) = policies.iter().find(|p| p.id == policy_id) else {
        return Err(AdminError::NotFound(format!("policy {policy_id}")));
    };
    if !store.delete_policy(&server.id, policy_id).await? {
        return Err(AdminError::NotFound(format!("policy {policy_id}")));
    }
    let target = Target::new(&policy.id, "PolicyEntity", &policy.name)
        .changed(Some(to_json(policy, &[])), None);
    let event = Event::success(
        "policy.lifecycle.delete",
        "Delete policy",
        vec![target, target_of(&server)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct NewRule {
    pub name: String,
    pub priority: Option<i64>,
    /// Empty: `authorization_code`.
    pub grant_types: Vec<String>,
    /// Scope names; empty: any scope.
    pub scopes: Vec<String>,
    pub users: Vec<String>,
    /// Group ids or names; with no users and no groups: everyone.
    pub groups: Vec<String>,
    pub access_token_ttl: Option<i64>,
    /// `Some(0)`: unlimited.
    pub refresh_token_ttl: Option<i64>,
    /// `Some(0)`: no idle limit.
    pub refresh_token_idle: Option<i64>,
    pub deny: bool,
}

/// `base` with the fields `new` sets, checked against the server's scopes, users and
/// groups: what creation and Okta's PUT share. Without a priority, `base`'s stays.
async fn apply_rule(
    store: &DynStore,
    server: &AuthServer,
    new: NewRule,
    base: PolicyRule,
) -> Result<PolicyRule, AdminError> {
    check_text("name", &new.name, 100)?;
    let mut grant_types = dedup(new.grant_types);
    if grant_types.is_empty() {
        grant_types.push("authorization_code".into());
    }
    if let Some(bad) = grant_types
        .iter()
        .find(|g| !GrantType::parse(g).is_some_and(GrantType::in_policy_rules))
    {
        return Err(AdminError::invalid(
            "conditions.grantTypes.include",
            format!(
                "{bad:?} is not one of {} (a refresh follows its original grant)",
                GrantType::policy_rule_names().join(", ")
            ),
        ));
    }
    let mut scopes = dedup(new.scopes);
    if scopes.is_empty() {
        scopes.push(ANY_SCOPE.into());
    } else {
        let known = store.list_scopes(&server.id).await?;
        if let Some(bad) = scopes
            .iter()
            .find(|s| s.as_str() != ANY_SCOPE && !known.iter().any(|k| &k.name == *s))
        {
            return Err(AdminError::invalid(
                "conditions.scopes.include",
                format!("{bad:?} is not a scope of this server"),
            ));
        }
    }
    let mut users = Vec::new();
    for u in dedup(new.users) {
        users.push(super::groups::find_user(store, &u).await?.id);
    }
    let mut groups = Vec::new();
    for g in dedup(new.groups) {
        if g == EVERYONE {
            groups.push(g);
        } else {
            groups.push(super::groups::find(store, &g).await?.id);
        }
    }
    if users.is_empty() && groups.is_empty() {
        groups.push(EVERYONE.into());
    }
    let access = new.access_token_ttl.unwrap_or(3600);
    if !(ACCESS_TTL_MIN..=ACCESS_TTL_MAX).contains(&access) {
        return Err(AdminError::invalid(
            "actions.token.accessTokenLifetimeMinutes",
            "must be between 5 minutes and 1 day",
        ));
    }
    let refresh = match new.refresh_token_ttl {
        None | Some(0) => None,
        Some(t) if t < access || t > REFRESH_MAX => {
            return Err(AdminError::invalid(
                "actions.token.refreshTokenLifetimeMinutes",
                "must be unlimited (0) or between the access token lifetime and 5 years",
            ));
        }
        Some(t) => Some(t),
    };
    let idle = match new.refresh_token_idle {
        None => Some(7 * 24 * 3600),
        Some(0) => None,
        Some(t)
            if !(REFRESH_IDLE_MIN..=REFRESH_MAX).contains(&t) || refresh.is_some_and(|r| t > r) =>
        {
            return Err(AdminError::invalid(
                "actions.token.refreshTokenWindowMinutes",
                "must be between 10 minutes and 5 years, and not longer than the refresh token lifetime",
            ));
        }
        Some(t) => Some(t),
    };
    Ok(PolicyRule {
        name: new.name,
        priority: check_priority(new.priority, base.priority)?,
        grant_types,
        scopes,
        users,
        groups,
        access_token_ttl: access,
        refresh_token_ttl: refresh,
        refresh_token_idle: idle,
        action: if new.deny { "DENY" } else { "ALLOW" }.into(),
        ..base
    })
}

pub async fn create_rule(
    store: &DynStore,
    actor: &Actor,
    server_id: &str,
    policy_id: &str,
    new: NewRule,
    now: UnixTime,
) -> Result<PolicyRule, AdminError> {
    let (server, policy) = find_policy(store, server_id, policy_id).await?;
    let existing = store.list_rules(&server.id).await?;
    let base = PolicyRule {
        id: okta_id("0pr"),
        policy_id: policy.id.clone(),
        name: String::new(),
        priority: next_priority(
            existing
                .iter()
                .filter(|r| r.policy_id == policy.id)
                .map(|r| r.priority),
        ),
        status: Status::Active,
        grant_types: vec![],
        scopes: vec![],
        users: vec![],
        groups: vec![],
        access_token_ttl: 0,
        refresh_token_ttl: None,
        refresh_token_idle: None,
        action: String::new(),
        created_at: now,
        updated_at: now,
    };
    let rule = apply_rule(store, &server, new, base).await?;
    store.insert_rule(&rule).await?;
    let target =
        Target::new(&rule.id, "PolicyRule", &rule.name).changed(None, Some(rule_json(&rule)));
    let event = Event::success(
        "policy.rule.add",
        "Add policy rule",
        vec![target, target_of(&server)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(rule)
}

/// The rule `rule_id` of the policy `policy_id` of a custom server, with the server.
async fn find_rule(
    store: &DynStore,
    server_id: &str,
    policy_id: &str,
    rule_id: &str,
) -> Result<(AuthServer, PolicyRule), AdminError> {
    let (server, _) = find_policy(store, server_id, policy_id).await?;
    let rules = store.list_rules(&server.id).await?;
    let rule = rules
        .into_iter()
        .find(|r| r.id == rule_id && r.policy_id == policy_id)
        .ok_or_else(|| AdminError::NotFound(format!("rule {rule_id}")))?;
    Ok((server, rule))
}

/// Okta's PUT on a rule: everything `create_rule` takes (priority kept when not given),
/// with the same checks. Its status changes only through `set_rule_active`.
pub async fn update_rule(
    store: &DynStore,
    actor: &Actor,
    server_id: &str,
    policy_id: &str,
    rule_id: &str,
    new: NewRule,
    now: UnixTime,
) -> Result<PolicyRule, AdminError> {
    let (server, before) = find_rule(store, server_id, policy_id, rule_id).await?;
    let rule = apply_rule(
        store,
        &server,
        new,
        PolicyRule {
            updated_at: now,
            ..before.clone()
        },
    )
    .await?;
    if !store.update_rule(&rule).await? {
        return Err(AdminError::NotFound(format!("rule {rule_id}")));
    }
    let target = Target::new(&rule.id, "PolicyRule", &rule.name)
        .changed(Some(rule_json(&before)), Some(rule_json(&rule)));
    let event = Event::success(
        "policy.rule.update",
        "Update policy rule",
        vec![target, target_of(&server)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(rule)
}

/// Okta's `lifecycle/activate` and `deactivate` of a rule: an INACTIVE rule is skipped
/// when tokens are decided (the policy's next matching rule decides).
pub async fn set_rule_active(
    store: &DynStore,
    actor: &Actor,
    server_id: &str,
    policy_id: &str,
    rule_id: &str,
    active: bool,
    now: UnixTime,
) -> Result<PolicyRule, AdminError> {
    let (server, before) = find_rule(store, server_id, policy_id, rule_id).await?;
    let status = Status::active_if(active);
    if before.status == status {
        return Ok(before);
    }
    let rule = PolicyRule {
        status,
        updated_at: now,
        ..before.clone()
    };
    if !store.update_rule(&rule).await? {
        return Err(AdminError::NotFound(format!("rule {rule_id}")));
    }
    let event = super::policy_status_event(
        true,
        (&rule.id, &rule.name),
        before.status,
        status,
        vec![target_of(&server)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(rule)
}

pub async fn delete_rule(
    store: &DynStore,
    actor: &Actor,
    server_id: &str,
    policy_id: &str,
    rule_id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let server = find_custom(store, server_id).await?;
    if !store
        .list_policies(&server.id)
        .await?
        .iter()
        .any(|p| p.id == policy_id)
    {
        return Err(AdminError::NotFound(format!("policy {policy_id}")));
    }
    let rules = store.list_rules(&server.id).await?;
    let Some(rule) = rules
        .iter()
        .find(|r| r.id == rule_id && r.policy_id == policy_id)
    else {
        return Err(AdminError::NotFound(format!("rule {rule_id}")));
    };
    if !store.delete_rule(policy_id, rule_id).await? {
        return Err(AdminError::NotFound(format!("rule {rule_id}")));
    }
    let target =
        Target::new(&rule.id, "PolicyRule", &rule.name).changed(Some(rule_json(rule)), None);
    let event = Event::success(
        "policy.rule.delete",
        "Delete policy rule",
        vec![target, target_of(&server)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(())
}

fn minutes(seconds: Option<i64>) -> i64 {
    seconds.map_or(0, |s| s / 60)
}

/// Okta's policy shape, with its rules under `_embedded.rules` (for the CLI).
pub fn to_json(policy: &Policy, rules: &[PolicyRule]) -> Value {
    json!({
        "id": policy.id,
        "type": "OAUTH_AUTHORIZATION_POLICY",
        "name": policy.name,
        "description": policy.description,
        "priority": policy.priority,
        "status": policy.status,
        "system": false,
        "created": rfc3339(policy.created_at),
        "lastUpdated": rfc3339(policy.updated_at),
        "conditions": { "clients": { "include": policy.clients } },
        "_embedded": {
            "rules": rules.iter().filter(|r| r.policy_id == policy.id).map(rule_json).collect::<Vec<_>>()
        },
    })
}

/// Okta's rule shape (lifetimes in minutes; 0 is unlimited), with `actions.token.deny`
/// for a rule that refuses.
pub fn rule_json(rule: &PolicyRule) -> Value {
    json!({
        "id": rule.id,
        "type": "RESOURCE_ACCESS",
        "name": rule.name,
        "priority": rule.priority,
        "status": rule.status,
        "created": rfc3339(rule.created_at),
        "lastUpdated": rfc3339(rule.updated_at),
        "conditions": {
            "people": { "users": { "include": rule.users }, "groups": { "include": rule.groups } },
            "grantTypes": { "include": rule.grant_types },
            "scopes": { "include": rule.scopes },
        },
        "actions": { "token": {
            "accessTokenLifetimeMinutes": rule.access_token_ttl / 60,
            "refreshTokenLifetimeMinutes": minutes(rule.refresh_token_ttl),
            "refreshTokenWindowMinutes": minutes(rule.refresh_token_idle),
            "deny": rule.action == "DENY",
        } },
    })
}
