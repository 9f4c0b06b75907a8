//! Each authorization server's scopes, claims, access policies and rules.
//!
//! Dialect differences:
//! - Policies and rules are listed by `id` in byte order: SQLite's default collation
//!   already is; PostgreSQL needs `COLLATE "C"`, which SQLite does not know. Each
//!   listing has one constant per backend.
//! - Booleans: `seeded`, `is_default` and `system` are INTEGER 0/1 in SQLite and
//!   BOOLEAN in PostgreSQL. `SET seeded = TRUE ... AND NOT seeded` means the same on
//!   both (SQLite ≥ 3.23 reads `TRUE` as 1; the bundled one is 3.46).

use async_trait::async_trait;

use super::db::{Arg, Backend, Dialect, Row, Tx, json_list, to_json};
use super::{ClaimDef, Policy, PolicyRule, ScopeDef, ServerSeed, StoreResult};

/// An authorization server's scopes, claims, access policies and rules.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// Writes the built-in scopes, claims and policies of a server once, in one
    /// transaction; false when the server was seeded before.
    async fn seed_server(&self, server_id: &str, seed: &ServerSeed) -> StoreResult<bool>;
    async fn insert_scope(&self, scope: &ScopeDef) -> StoreResult<()>;
    async fn list_scopes(&self, server_id: &str) -> StoreResult<Vec<ScopeDef>>;
    async fn delete_scope(&self, server_id: &str, name: &str) -> StoreResult<bool>;
    /// Writes the name, description, consent and default flag of the scope with this
    /// id on its server; false when absent. A name the server has is a `Conflict`.
    async fn update_scope(&self, scope: &ScopeDef) -> StoreResult<bool>;
    async fn insert_claim(&self, claim: &ClaimDef) -> StoreResult<()>;
    async fn list_claims(&self, server_id: &str) -> StoreResult<Vec<ClaimDef>>;
    async fn delete_claim(&self, server_id: &str, id: &str) -> StoreResult<bool>;
    /// Writes everything but the id, server and creation time of the claim with this id
    /// on its server; false when absent. A name the server has for the same token is a
    /// `Conflict`.
    async fn update_claim(&self, claim: &ClaimDef) -> StoreResult<bool>;
    async fn insert_policy(&self, policy: &Policy) -> StoreResult<()>;
    /// In priority order (1 first).
    async fn list_policies(&self, server_id: &str) -> StoreResult<Vec<Policy>>;
    async fn delete_policy(&self, server_id: &str, id: &str) -> StoreResult<bool>;
    /// Writes name, description, priority, status, clients and `updated_at` of the
    /// policy with this id on its server; false when absent.
    async fn update_policy(&self, policy: &Policy) -> StoreResult<bool>;
    async fn insert_rule(&self, rule: &PolicyRule) -> StoreResult<()>;
    /// The rules of all the server's policies, in rule priority order.
    async fn list_rules(&self, server_id: &str) -> StoreResult<Vec<PolicyRule>>;
    async fn delete_rule(&self, policy_id: &str, id: &str) -> StoreResult<bool>;
    /// Writes everything but the id, policy and creation time of the rule with this id
    /// in its policy; false when absent.
    async fn update_rule(&self, rule: &PolicyRule) -> StoreResult<bool>;
}

fn scope_from_row(row: &impl Row) -> StoreResult<ScopeDef> {
    Ok(ScopeDef {
        id: row.text("id")?,
        server_id: row.text("server_id")?,
        name: row.text("name")?,
        description: row.text("description")?,
        consent: row.text("consent")?,
        is_default: row.bool("is_default")?,
        system: row.bool("system")?,
        created_at: row.int("created_at")?,
    })
}

fn claim_from_row(row: &impl Row) -> StoreResult<ClaimDef> {
    Ok(ClaimDef {
        id: row.text("id")?,
        server_id: row.text("server_id")?,
        name: row.text("name")?,
        claim_type: row.text("claim_type")?,
        value_type: row.text("value_type")?,
        value: row.text("value")?,
        group_filter_type: row.opt_text("group_filter_type")?,
        scopes: json_list(&row.text("scopes")?)?,
        status: row.text("status")?,
        created_at: row.int("created_at")?,
    })
}

fn policy_from_row(row: &impl Row) -> StoreResult<Policy> {
    Ok(Policy {
        id: row.text("id")?,
        server_id: row.text("server_id")?,
        name: row.text("name")?,
        description: row.text("description")?,
        priority: row.int("priority")?,
        status: row.text("status")?,
        clients: json_list(&row.text("clients")?)?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn rule_from_row(row: &impl Row) -> StoreResult<PolicyRule> {
    Ok(PolicyRule {
        id: row.text("id")?,
        policy_id: row.text("policy_id")?,
        name: row.text("name")?,
        priority: row.int("priority")?,
        status: row.text("status")?,
        grant_types: json_list(&row.text("grant_types")?)?,
        scopes: json_list(&row.text("scopes")?)?,
        users: json_list(&row.text("users")?)?,
        groups: json_list(&row.text("groups")?)?,
        access_token_ttl: row.int("access_token_ttl")?,
        refresh_token_ttl: row.opt_int("refresh_token_ttl")?,
        refresh_token_idle: row.opt_int("refresh_token_idle")?,
        action: row.text("action")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

// The inserts run alone and inside `seed_server`'s transaction: text and arguments here.

const INSERT_SCOPE: &str = "INSERT INTO scopes (id, server_id, name, description, consent,
        is_default, system, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

fn scope_args(s: &ScopeDef) -> [Arg<'_>; 8] {
    [
        (&s.id).into(),
        (&s.server_id).into(),
        (&s.name).into(),
        (&s.description).into(),
        (&s.consent).into(),
        s.is_default.into(),
        s.system.into(),
        s.created_at.into(),
    ]
}

const INSERT_CLAIM: &str = "INSERT INTO claims (id, server_id, name, claim_type, value_type,
        value, group_filter_type, scopes, status, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

fn claim_args(c: &ClaimDef) -> [Arg<'_>; 10] {
    [
        (&c.id).into(),
        (&c.server_id).into(),
        (&c.name).into(),
        (&c.claim_type).into(),
        (&c.value_type).into(),
        (&c.value).into(),
        (&c.group_filter_type).into(),
        to_json(&c.scopes),
        (&c.status).into(),
        c.created_at.into(),
    ]
}

const INSERT_POLICY: &str = "INSERT INTO policies (id, server_id, name, description, priority,
        status, clients, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

fn policy_args(p: &Policy) -> [Arg<'_>; 9] {
    [
        (&p.id).into(),
        (&p.server_id).into(),
        (&p.name).into(),
        (&p.description).into(),
        p.priority.into(),
        (&p.status).into(),
        to_json(&p.clients),
        p.created_at.into(),
        p.updated_at.into(),
    ]
}

const INSERT_RULE: &str = "INSERT INTO policy_rules (id, policy_id, name, priority, status,
        grant_types, scopes, users, groups, access_token_ttl, refresh_token_ttl,
        refresh_token_idle, action, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

fn rule_args(r: &PolicyRule) -> [Arg<'_>; 15] {
    [
        (&r.id).into(),
        (&r.policy_id).into(),
        (&r.name).into(),
        r.priority.into(),
        (&r.status).into(),
        to_json(&r.grant_types),
        to_json(&r.scopes),
        to_json(&r.users),
        to_json(&r.groups),
        r.access_token_ttl.into(),
        r.refresh_token_ttl.into(),
        r.refresh_token_idle.into(),
        (&r.action).into(),
        r.created_at.into(),
        r.updated_at.into(),
    ]
}

const LIST_POLICIES_SQLITE: &str =
    "SELECT * FROM policies WHERE server_id = $1 ORDER BY priority, created_at, id";
const LIST_POLICIES_POSTGRES: &str =
    "SELECT * FROM policies WHERE server_id = $1 ORDER BY priority, created_at, id COLLATE \"C\"";

const LIST_RULES_SQLITE: &str =
    "SELECT r.* FROM policy_rules r JOIN policies p ON p.id = r.policy_id
    WHERE p.server_id = $1 ORDER BY r.priority, r.created_at, r.id";
const LIST_RULES_POSTGRES: &str =
    "SELECT r.* FROM policy_rules r JOIN policies p ON p.id = r.policy_id
    WHERE p.server_id = $1 ORDER BY r.priority, r.created_at, r.id COLLATE \"C\"";

#[async_trait]
impl<B: Backend> PolicyStore for B {
    async fn seed_server(&self, server_id: &str, seed: &ServerSeed) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let claimed = tx
            .execute(
                "UPDATE authorization_servers SET seeded = TRUE WHERE id = $1 AND NOT seeded",
                &[server_id.into()],
            )
            .await?;
        if claimed == 0 {
            return Ok(false);
        }
        for scope in &seed.scopes {
            tx.execute(INSERT_SCOPE, &scope_args(scope)).await?;
        }
        for claim in &seed.claims {
            tx.execute(INSERT_CLAIM, &claim_args(claim)).await?;
        }
        for (policy, rules) in &seed.policies {
            tx.execute(INSERT_POLICY, &policy_args(policy)).await?;
            for rule in rules {
                tx.execute(INSERT_RULE, &rule_args(rule)).await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn insert_scope(&self, scope: &ScopeDef) -> StoreResult<()> {
        self.execute(INSERT_SCOPE, &scope_args(scope)).await?;
        Ok(())
    }

    async fn list_scopes(&self, server_id: &str) -> StoreResult<Vec<ScopeDef>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM scopes WHERE server_id = $1 ORDER BY system DESC, created_at, name",
                &[server_id.into()],
            )
            .await?;
        rows.iter().map(scope_from_row).collect()
    }

    async fn update_scope(&self, scope: &ScopeDef) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE scopes SET name = $1, description = $2, consent = $3, is_default = $4
                 WHERE server_id = $5 AND id = $6",
                &[
                    (&scope.name).into(),
                    (&scope.description).into(),
                    (&scope.consent).into(),
                    scope.is_default.into(),
                    (&scope.server_id).into(),
                    (&scope.id).into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_scope(&self, server_id: &str, name: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM scopes WHERE server_id = $1 AND name = $2",
                &[server_id.into(), name.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn insert_claim(&self, claim: &ClaimDef) -> StoreResult<()> {
        self.execute(INSERT_CLAIM, &claim_args(claim)).await?;
        Ok(())
    }

    async fn list_claims(&self, server_id: &str) -> StoreResult<Vec<ClaimDef>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM claims WHERE server_id = $1 ORDER BY created_at, name",
                &[server_id.into()],
            )
            .await?;
        rows.iter().map(claim_from_row).collect()
    }

    async fn update_claim(&self, claim: &ClaimDef) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE claims SET name = $1, claim_type = $2, value_type = $3, value = $4,
                    group_filter_type = $5, scopes = $6, status = $7
                 WHERE server_id = $8 AND id = $9",
                &[
                    (&claim.name).into(),
                    (&claim.claim_type).into(),
                    (&claim.value_type).into(),
                    (&claim.value).into(),
                    (&claim.group_filter_type).into(),
                    to_json(&claim.scopes),
                    (&claim.status).into(),
                    (&claim.server_id).into(),
                    (&claim.id).into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_claim(&self, server_id: &str, id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM claims WHERE server_id = $1 AND id = $2",
                &[server_id.into(), id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn insert_policy(&self, policy: &Policy) -> StoreResult<()> {
        self.execute(INSERT_POLICY, &policy_args(policy)).await?;
        Ok(())
    }

    async fn list_policies(&self, server_id: &str) -> StoreResult<Vec<Policy>> {
        let sql = match B::DIALECT {
            Dialect::Sqlite => LIST_POLICIES_SQLITE,
            Dialect::Postgres => LIST_POLICIES_POSTGRES,
        };
        let rows = self.fetch_all(sql, &[server_id.into()]).await?;
        rows.iter().map(policy_from_row).collect()
    }

    async fn update_policy(&self, policy: &Policy) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE policies SET name = $1, description = $2, priority = $3, status = $4,
                    clients = $5, updated_at = $6
                 WHERE server_id = $7 AND id = $8",
                &[
                    (&policy.name).into(),
                    (&policy.description).into(),
                    policy.priority.into(),
                    (&policy.status).into(),
                    to_json(&policy.clients),
                    policy.updated_at.into(),
                    (&policy.server_id).into(),
                    (&policy.id).into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_policy(&self, server_id: &str, id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM policies WHERE server_id = $1 AND id = $2",
                &[server_id.into(), id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn insert_rule(&self, rule: &PolicyRule) -> StoreResult<()> {
        self.execute(INSERT_RULE, &rule_args(rule)).await?;
        Ok(())
    }

    async fn list_rules(&self, server_id: &str) -> StoreResult<Vec<PolicyRule>> {
        let sql = match B::DIALECT {
            Dialect::Sqlite => LIST_RULES_SQLITE,
            Dialect::Postgres => LIST_RULES_POSTGRES,
        };
        let rows = self.fetch_all(sql, &[server_id.into()]).await?;
        rows.iter().map(rule_from_row).collect()
    }

    async fn update_rule(&self, rule: &PolicyRule) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE policy_rules SET name = $1, priority = $2, status = $3, grant_types = $4,
                    scopes = $5, users = $6, groups = $7, access_token_ttl = $8,
                    refresh_token_ttl = $9, refresh_token_idle = $10, action = $11,
                    updated_at = $12
                 WHERE policy_id = $13 AND id = $14",
                &[
                    (&rule.name).into(),
                    rule.priority.into(),
                    (&rule.status).into(),
                    to_json(&rule.grant_types),
                    to_json(&rule.scopes),
                    to_json(&rule.users),
                    to_json(&rule.groups),
                    rule.access_token_ttl.into(),
                    rule.refresh_token_ttl.into(),
                    rule.refresh_token_idle.into(),
                    (&rule.action).into(),
                    rule.updated_at.into(),
                    (&rule.policy_id).into(),
                    (&rule.id).into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_rule(&self, policy_id: &str, id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM policy_rules WHERE policy_id = $1 AND id = $2",
                &[policy_id.into(), id.into()],
            )
            .await?;
        Ok(done == 1)
    }
}
