//! Okta's policies for signing in (the global session policy and the app
//! authentication policies), their rules, the network zones rules name, and which
//! policy each app follows. Org-wide: `oauth::sign_on` evaluates them.
//!
//! Dialect differences: `system` is INTEGER 0/1 in SQLite and BOOLEAN in PostgreSQL
//! (bound and read as a bool on both); listings order by `id` with `COLLATE "C"` on
//! PostgreSQL, one constant per backend.

use async_trait::async_trait;

use super::db::{Arg, Backend, Dialect, Row, json_list, to_json};
use super::{FactorMode, PolicyType, Possession, RuleAccess, Status, StoreResult};
use crate::clock::UnixTime;

/// A sign-on policy. Listed with system policies last, then by priority (1 first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOnPolicy {
    pub id: String,
    pub policy_type: PolicyType,
    pub name: String,
    pub description: String,
    pub priority: i64,
    pub status: Status,
    /// The default of its type: never deleted, always evaluated last.
    pub system: bool,
    /// OKTA_SIGN_ON: the group ids it applies to; empty: everyone.
    pub groups: Vec<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// A rule of a sign-on policy: whom and where it matches, and what it asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOnRule {
    pub id: String,
    pub policy_id: String,
    pub name: String,
    pub priority: i64,
    pub status: Status,
    pub system: bool,
    /// User ids; with no users and no groups included, everyone.
    pub users_include: Vec<String>,
    pub users_exclude: Vec<String>,
    /// Group ids.
    pub groups_include: Vec<String>,
    pub groups_exclude: Vec<String>,
    /// Network zone ids; none included: anywhere.
    pub zones_include: Vec<String>,
    pub zones_exclude: Vec<String>,
    pub access: RuleAccess,
    pub factor_mode: FactorMode,
    pub possession: Possession,
    /// Seconds after which the factors are asked again; `None`: never while the
    /// session lives.
    pub reauthenticate_in: Option<i64>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// An IP network zone: CIDR blocks and `first-last` address ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkZone {
    pub id: String,
    pub name: String,
    pub status: Status,
    pub gateways: Vec<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// The sign-on policies, their rules, the zones and the app assignments.
#[async_trait]
pub trait SignOnStore: Send + Sync {
    /// System policies last, then by priority.
    async fn list_sign_on_policies(&self) -> StoreResult<Vec<SignOnPolicy>>;
    async fn insert_sign_on_policy(&self, policy: &SignOnPolicy) -> StoreResult<()>;
    /// Writes name, description, priority, status, groups and `updated_at` of the
    /// policy with this id; false when absent.
    async fn update_sign_on_policy(&self, policy: &SignOnPolicy) -> StoreResult<bool>;
    /// Deletes a policy that is not a system one (its rules and app assignments go
    /// with it); false when absent or system.
    async fn delete_sign_on_policy(&self, id: &str) -> StoreResult<bool>;
    /// The rules of every policy: system rules last, then by priority.
    async fn list_sign_on_rules(&self) -> StoreResult<Vec<SignOnRule>>;
    async fn insert_sign_on_rule(&self, rule: &SignOnRule) -> StoreResult<()>;
    /// Writes everything but the id, policy, system flag and creation time of the rule
    /// with this id in its policy; false when absent.
    async fn update_sign_on_rule(&self, rule: &SignOnRule) -> StoreResult<bool>;
    /// Deletes a rule that is not a system one; false when absent or system.
    async fn delete_sign_on_rule(&self, policy_id: &str, id: &str) -> StoreResult<bool>;
    async fn list_zones(&self) -> StoreResult<Vec<NetworkZone>>;
    /// A name in use is a `Conflict`.
    async fn insert_zone(&self, zone: &NetworkZone) -> StoreResult<()>;
    /// Writes name, status, gateways and `updated_at`; false when absent. A name in
    /// use is a `Conflict`.
    async fn update_zone(&self, zone: &NetworkZone) -> StoreResult<bool>;
    async fn delete_zone(&self, id: &str) -> StoreResult<bool>;
    /// Every app that follows a policy other than the default: (client_id, policy_id).
    async fn list_app_sign_on_policies(&self) -> StoreResult<Vec<(String, String)>>;
    /// The app follows `policy_id` from now on (one upsert).
    async fn set_app_sign_on_policy(&self, client_id: &str, policy_id: &str) -> StoreResult<()>;
}

fn policy_from_row(row: &impl Row) -> StoreResult<SignOnPolicy> {
    Ok(SignOnPolicy {
        id: row.text("id")?,
        policy_type: row.text("policy_type")?.parse()?,
        name: row.text("name")?,
        description: row.text("description")?,
        priority: row.int("priority")?,
        status: row.text("status")?.parse()?,
        system: row.bool("system")?,
        groups: json_list(&row.text("groups")?)?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn rule_from_row(row: &impl Row) -> StoreResult<SignOnRule> {
    Ok(SignOnRule {
        id: row.text("id")?,
        policy_id: row.text("policy_id")?,
        name: row.text("name")?,
        priority: row.int("priority")?,
        status: row.text("status")?.parse()?,
        system: row.bool("system")?,
        users_include: json_list(&row.text("users_include")?)?,
        users_exclude: json_list(&row.text("users_exclude")?)?,
        groups_include: json_list(&row.text("groups_include")?)?,
        groups_exclude: json_list(&row.text("groups_exclude")?)?,
        zones_include: json_list(&row.text("zones_include")?)?,
        zones_exclude: json_list(&row.text("zones_exclude")?)?,
        access: row.text("access")?.parse()?,
        factor_mode: row.text("factor_mode")?.parse()?,
        possession: row.text("possession")?.parse()?,
        reauthenticate_in: row.opt_int("reauthenticate_in")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn zone_from_row(row: &impl Row) -> StoreResult<NetworkZone> {
    Ok(NetworkZone {
        id: row.text("id")?,
        name: row.text("name")?,
        status: row.text("status")?.parse()?,
        gateways: json_list(&row.text("gateways")?)?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

const LIST_POLICIES_SQLITE: &str =
    "SELECT * FROM sign_on_policies ORDER BY system, priority, created_at, id";
const LIST_POLICIES_POSTGRES: &str =
    "SELECT * FROM sign_on_policies ORDER BY system, priority, created_at, id COLLATE \"C\"";
const LIST_RULES_SQLITE: &str =
    "SELECT * FROM sign_on_rules ORDER BY system, priority, created_at, id";
const LIST_RULES_POSTGRES: &str =
    "SELECT * FROM sign_on_rules ORDER BY system, priority, created_at, id COLLATE \"C\"";
const LIST_ZONES_SQLITE: &str = "SELECT * FROM network_zones ORDER BY created_at, id";
const LIST_ZONES_POSTGRES: &str =
    "SELECT * FROM network_zones ORDER BY created_at, id COLLATE \"C\"";

/// Rule columns after `policy_id`/`id` that an update writes, in bind order ($1..$15).
fn rule_values(r: &SignOnRule) -> [Arg<'_>; 15] {
    [
        (&r.name).into(),
        r.priority.into(),
        (&r.status).into(),
        to_json(&r.users_include),
        to_json(&r.users_exclude),
        to_json(&r.groups_include),
        to_json(&r.groups_exclude),
        to_json(&r.zones_include),
        to_json(&r.zones_exclude),
        (&r.access).into(),
        (&r.factor_mode).into(),
        (&r.possession).into(),
        r.reauthenticate_in.into(),
        r.updated_at.into(),
        r.system.into(),
    ]
}

#[async_trait]
impl<B: Backend> SignOnStore for B {
    async fn list_sign_on_policies(&self) -> StoreResult<Vec<SignOnPolicy>> {
        let sql = match B::DIALECT {
            Dialect::Sqlite => LIST_POLICIES_SQLITE,
            Dialect::Postgres => LIST_POLICIES_POSTGRES,
        };
        let rows = self.fetch_all(sql, &[]).await?;
        rows.iter().map(policy_from_row).collect()
    }

    async fn insert_sign_on_policy(&self, p: &SignOnPolicy) -> StoreResult<()> {
        self.execute(
            "INSERT INTO sign_on_policies (id, policy_type, name, description, priority,
                status, system, groups, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                (&p.id).into(),
                (&p.policy_type).into(),
                (&p.name).into(),
                (&p.description).into(),
                p.priority.into(),
                (&p.status).into(),
                p.system.into(),
                to_json(&p.groups),
                p.created_at.into(),
                p.updated_at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn update_sign_on_policy(&self, p: &SignOnPolicy) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE sign_on_policies SET name = $1, description = $2, priority = $3,
                    status = $4, groups = $5, updated_at = $6
                 WHERE id = $7",
                &[
                    (&p.name).into(),
                    (&p.description).into(),
                    p.priority.into(),
                    (&p.status).into(),
                    to_json(&p.groups),
                    p.updated_at.into(),
                    (&p.id).into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_sign_on_policy(&self, id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM sign_on_policies WHERE id = $1 AND NOT system",
                &[id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn list_sign_on_rules(&self) -> StoreResult<Vec<SignOnRule>> {
        let sql = match B::DIALECT {
            Dialect::Sqlite => LIST_RULES_SQLITE,
            Dialect::Postgres => LIST_RULES_POSTGRES,
        };
        let rows = self.fetch_all(sql, &[]).await?;
        rows.iter().map(rule_from_row).collect()
    }

    async fn insert_sign_on_rule(&self, r: &SignOnRule) -> StoreResult<()> {
        let mut args = Vec::from(rule_values(r));
        args.extend([(&r.policy_id).into(), (&r.id).into(), r.created_at.into()]);
        self.execute(
            "INSERT INTO sign_on_rules (name, priority, status, users_include, users_exclude,
                groups_include, groups_exclude, zones_include, zones_exclude, access,
                factor_mode, possession, reauthenticate_in, updated_at, system,
                policy_id, id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                $16, $17, $18)",
            &args,
        )
        .await?;
        Ok(())
    }

    async fn update_sign_on_rule(&self, r: &SignOnRule) -> StoreResult<bool> {
        let mut args = Vec::from(rule_values(r));
        args.truncate(14);
        args.extend([(&r.policy_id).into(), (&r.id).into()]);
        let done = self
            .execute(
                "UPDATE sign_on_rules SET name = $1, priority = $2, status = $3,
                    users_include = $4, users_exclude = $5, groups_include = $6,
                    groups_exclude = $7, zones_include = $8, zones_exclude = $9, access = $10,
                    factor_mode = $11, possession = $12, reauthenticate_in = $13,
                    updated_at = $14
                 WHERE policy_id = $15 AND id = $16",
                &args,
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_sign_on_rule(&self, policy_id: &str, id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM sign_on_rules WHERE policy_id = $1 AND id = $2 AND NOT system",
                &[policy_id.into(), id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn list_zones(&self) -> StoreResult<Vec<NetworkZone>> {
        let sql = match B::DIALECT {
            Dialect::Sqlite => LIST_ZONES_SQLITE,
            Dialect::Postgres => LIST_ZONES_POSTGRES,
        };
        let rows = self.fetch_all(sql, &[]).await?;
        rows.iter().map(zone_from_row).collect()
    }

    async fn insert_zone(&self, z: &NetworkZone) -> StoreResult<()> {
        self.execute(
            "INSERT INTO network_zones (id, name, status, gateways, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                (&z.id).into(),
                (&z.name).into(),
                (&z.status).into(),
                to_json(&z.gateways),
                z.created_at.into(),
                z.updated_at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn update_zone(&self, z: &NetworkZone) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE network_zones SET name = $1, status = $2, gateways = $3, updated_at = $4
                 WHERE id = $5",
                &[
                    (&z.name).into(),
                    (&z.status).into(),
                    to_json(&z.gateways),
                    z.updated_at.into(),
                    (&z.id).into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_zone(&self, id: &str) -> StoreResult<bool> {
        let done = self
            .execute("DELETE FROM network_zones WHERE id = $1", &[id.into()])
            .await?;
        Ok(done == 1)
    }

    async fn list_app_sign_on_policies(&self) -> StoreResult<Vec<(String, String)>> {
        let rows = self
            .fetch_all(
                "SELECT client_id, policy_id FROM app_sign_on_policies ORDER BY client_id",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((r.text("client_id")?, r.text("policy_id")?)))
            .collect()
    }

    async fn set_app_sign_on_policy(&self, client_id: &str, policy_id: &str) -> StoreResult<()> {
        self.execute(
            "INSERT INTO app_sign_on_policies (client_id, policy_id) VALUES ($1, $2)
             ON CONFLICT (client_id) DO UPDATE SET policy_id = excluded.policy_id",
            &[client_id.into(), policy_id.into()],
        )
        .await?;
        Ok(())
    }
}
