//! Groups, consent grants, and each authorization server's scopes, claims, policies
//! and rules, for both backends.
//!
//! Dialect differences:
//! - Policies and rules are listed by `id` in byte order: SQLite's default collation
//!   already is, PostgreSQL needs `COLLATE "C"`, which SQLite does not know. The macro
//!   takes the suffix as `collate_c` (`""` for SQLite, `" COLLATE \"C\""` for PostgreSQL).
//! - Booleans: `seeded` is an INTEGER 0/1 in SQLite and a BOOLEAN in PostgreSQL.
//!   `SET seeded = TRUE ... AND NOT seeded` means the same on both (SQLite ≥ 3.23 reads
//!   `TRUE` as 1; the bundled one is 3.46), and sqlx decodes a SQLite 0/1 as `bool`.
//! - `ORDER BY (id = $3) DESC` (match on id first) is a 0/1 integer sort in SQLite and a
//!   boolean sort in PostgreSQL; both put the match first.
//!
//! Invoked as `settings_store!(StoreType, RowType, DatabaseType, collate_c = "...")` in
//! a module that has the backend's `unavailable`, `placeholder`, `bind_values`,
//! `json_list`, `to_json` and `directory::user_from_row` in scope.

macro_rules! settings_store {
    ($store:ty, $row:ty, $db:ty, collate_c = $collate_c:literal) => {
        pub(super) fn group_from_row(row: &$row) -> Result<Group, sqlx::Error> {
            Ok(Group {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                description: row.try_get("description")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        fn scope_from_row(row: &$row) -> Result<ScopeDef, sqlx::Error> {
            Ok(ScopeDef {
                id: row.try_get("id")?,
                server_id: row.try_get("server_id")?,
                name: row.try_get("name")?,
                description: row.try_get("description")?,
                consent: row.try_get("consent")?,
                is_default: row.try_get("is_default")?,
                system: row.try_get("system")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn claim_from_row(row: &$row) -> StoreResult<ClaimDef> {
            let get = |name: &str| -> StoreResult<String> { row.try_get(name).map_err(unavailable) };
            Ok(ClaimDef {
                id: get("id")?,
                server_id: get("server_id")?,
                name: get("name")?,
                claim_type: get("claim_type")?,
                value_type: get("value_type")?,
                value: get("value")?,
                group_filter_type: row.try_get("group_filter_type").map_err(unavailable)?,
                scopes: json_list(&get("scopes")?)?,
                status: get("status")?,
                created_at: row.try_get("created_at").map_err(unavailable)?,
            })
        }

        fn policy_from_row(row: &$row) -> StoreResult<Policy> {
            let get = |name: &str| -> StoreResult<String> { row.try_get(name).map_err(unavailable) };
            let int = |name: &str| -> StoreResult<i64> { row.try_get(name).map_err(unavailable) };
            Ok(Policy {
                id: get("id")?,
                server_id: get("server_id")?,
                name: get("name")?,
                description: get("description")?,
                priority: int("priority")?,
                status: get("status")?,
                clients: json_list(&get("clients")?)?,
                created_at: int("created_at")?,
                updated_at: int("updated_at")?,
            })
        }

        fn rule_from_row(row: &$row) -> StoreResult<PolicyRule> {
            let get = |name: &str| -> StoreResult<String> { row.try_get(name).map_err(unavailable) };
            let int = |name: &str| -> StoreResult<i64> { row.try_get(name).map_err(unavailable) };
            Ok(PolicyRule {
                id: get("id")?,
                policy_id: get("policy_id")?,
                name: get("name")?,
                priority: int("priority")?,
                status: get("status")?,
                grant_types: json_list(&get("grant_types")?)?,
                scopes: json_list(&get("scopes")?)?,
                users: json_list(&get("users")?)?,
                groups: json_list(&get("groups")?)?,
                access_token_ttl: int("access_token_ttl")?,
                refresh_token_ttl: row.try_get("refresh_token_ttl").map_err(unavailable)?,
                refresh_token_idle: row.try_get("refresh_token_idle").map_err(unavailable)?,
                action: get("action")?,
                created_at: int("created_at")?,
                updated_at: int("updated_at")?,
            })
        }

        async fn insert_scope(exec: impl sqlx::Executor<'_, Database = $db>, s: &ScopeDef) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO scopes (id, server_id, name, description, consent, is_default, system, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&s.id)
            .bind(&s.server_id)
            .bind(&s.name)
            .bind(&s.description)
            .bind(&s.consent)
            .bind(s.is_default)
            .bind(s.system)
            .bind(s.created_at)
            .execute(exec)
            .await
            .map_err(unavailable)?;
            Ok(())
        }

        async fn insert_claim(exec: impl sqlx::Executor<'_, Database = $db>, c: &ClaimDef) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO claims (id, server_id, name, claim_type, value_type, value, group_filter_type,
                    scopes, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&c.id)
            .bind(&c.server_id)
            .bind(&c.name)
            .bind(&c.claim_type)
            .bind(&c.value_type)
            .bind(&c.value)
            .bind(&c.group_filter_type)
            .bind(to_json(&c.scopes))
            .bind(&c.status)
            .bind(c.created_at)
            .execute(exec)
            .await
            .map_err(unavailable)?;
            Ok(())
        }

        async fn insert_policy(exec: impl sqlx::Executor<'_, Database = $db>, p: &Policy) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO policies (id, server_id, name, description, priority, status, clients,
                    created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&p.id)
            .bind(&p.server_id)
            .bind(&p.name)
            .bind(&p.description)
            .bind(p.priority)
            .bind(&p.status)
            .bind(to_json(&p.clients))
            .bind(p.created_at)
            .bind(p.updated_at)
            .execute(exec)
            .await
            .map_err(unavailable)?;
            Ok(())
        }

        async fn insert_rule(exec: impl sqlx::Executor<'_, Database = $db>, r: &PolicyRule) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO policy_rules (id, policy_id, name, priority, status, grant_types, scopes, users,
                    groups, access_token_ttl, refresh_token_ttl, refresh_token_idle, action, created_at,
                    updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(&r.id)
            .bind(&r.policy_id)
            .bind(&r.name)
            .bind(r.priority)
            .bind(&r.status)
            .bind(to_json(&r.grant_types))
            .bind(to_json(&r.scopes))
            .bind(to_json(&r.users))
            .bind(to_json(&r.groups))
            .bind(r.access_token_ttl)
            .bind(r.refresh_token_ttl)
            .bind(r.refresh_token_idle)
            .bind(&r.action)
            .bind(r.created_at)
            .bind(r.updated_at)
            .execute(exec)
            .await
            .map_err(unavailable)?;
            Ok(())
        }

        #[async_trait]
        impl GroupStore for $store {
            async fn insert_group(&self, g: &Group) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO groups (id, name, name_key, description, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&g.id)
                .bind(&g.name)
                .bind(g.name.to_lowercase())
                .bind(&g.description)
                .bind(g.created_at)
                .bind(g.updated_at)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(())
            }

            async fn list_groups(&self) -> StoreResult<Vec<Group>> {
                let rows = sqlx::query("SELECT * FROM groups ORDER BY name_key")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unavailable)?;
                rows.iter().map(group_from_row).collect::<Result<_, _>>().map_err(unavailable)
            }

            async fn find_group(&self, id_or_name: &str) -> StoreResult<Option<Group>> {
                let row = sqlx::query("SELECT * FROM groups WHERE id = $1 OR name_key = $2 ORDER BY (id = $3) DESC LIMIT 1")
                    .bind(id_or_name)
                    .bind(id_or_name.to_lowercase())
                    .bind(id_or_name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unavailable)?;
                row.as_ref().map(group_from_row).transpose().map_err(unavailable)
            }

            async fn add_group_member(&self, group_id: &str, user_id: &str) -> StoreResult<bool> {
                let done = sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(group_id)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn remove_group_member(&self, group_id: &str, user_id: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
                    .bind(group_id)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn user_groups(&self, user_id: &str) -> StoreResult<Vec<Group>> {
                let rows = sqlx::query(
                    "SELECT g.* FROM groups g JOIN group_members m ON m.group_id = g.id
                     WHERE m.user_id = $1 ORDER BY g.name_key",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?;
                rows.iter().map(group_from_row).collect::<Result<_, _>>().map_err(unavailable)
            }

            async fn update_group(&self, g: &Group) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE groups SET name = $1, name_key = $2, description = $3, updated_at = $4 WHERE id = $5",
                )
                .bind(&g.name)
                .bind(g.name.to_lowercase())
                .bind(&g.description)
                .bind(g.updated_at)
                .bind(&g.id)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_group(&self, id: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM groups WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn query_groups(&self, page: &Page) -> StoreResult<Vec<Group>> {
                let (clause, values) = Where { columns: GROUP_COLUMNS, placeholder, binds: vec![] }.page(page, "id")?;
                let sql = format!("SELECT * FROM groups {clause}");
                let rows = bind_values(sqlx::query(&sql), &values)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unavailable)?;
                rows.iter().map(group_from_row).collect::<Result<_, _>>().map_err(unavailable)
            }

            async fn group_members(&self, group_id: &str) -> StoreResult<Vec<User>> {
                let rows = sqlx::query(
                    "SELECT u.* FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id = $1 ORDER BY u.id",
                )
                .bind(group_id)
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?;
                rows.iter().map(user_from_row).collect()
            }
        }

        #[async_trait]
        impl PolicyStore for $store {
            async fn seed_server(&self, server_id: &str, seed: &ServerSeed) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await.map_err(unavailable)?;
                let claimed = sqlx::query("UPDATE authorization_servers SET seeded = TRUE WHERE id = $1 AND NOT seeded")
                    .bind(server_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(unavailable)?;
                if claimed.rows_affected() == 0 {
                    return Ok(false);
                }
                for scope in &seed.scopes {
                    insert_scope(&mut *tx, scope).await?;
                }
                for claim in &seed.claims {
                    insert_claim(&mut *tx, claim).await?;
                }
                for (policy, rules) in &seed.policies {
                    insert_policy(&mut *tx, policy).await?;
                    for rule in rules {
                        insert_rule(&mut *tx, rule).await?;
                    }
                }
                tx.commit().await.map_err(unavailable)?;
                Ok(true)
            }

            async fn insert_scope(&self, scope: &ScopeDef) -> StoreResult<()> {
                insert_scope(&self.pool, scope).await
            }

            async fn list_scopes(&self, server_id: &str) -> StoreResult<Vec<ScopeDef>> {
                let rows = sqlx::query("SELECT * FROM scopes WHERE server_id = $1 ORDER BY system DESC, created_at, name")
                    .bind(server_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unavailable)?;
                rows.iter().map(scope_from_row).collect::<Result<_, _>>().map_err(unavailable)
            }

            async fn update_scope(&self, scope: &ScopeDef) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE scopes SET name = $1, description = $2, consent = $3, is_default = $4 WHERE server_id = $5 AND id = $6",
                )
                .bind(&scope.name)
                .bind(&scope.description)
                .bind(&scope.consent)
                .bind(scope.is_default)
                .bind(&scope.server_id)
                .bind(&scope.id)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_scope(&self, server_id: &str, name: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM scopes WHERE server_id = $1 AND name = $2")
                    .bind(server_id)
                    .bind(name)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_claim(&self, claim: &ClaimDef) -> StoreResult<()> {
                insert_claim(&self.pool, claim).await
            }

            async fn list_claims(&self, server_id: &str) -> StoreResult<Vec<ClaimDef>> {
                let rows = sqlx::query("SELECT * FROM claims WHERE server_id = $1 ORDER BY created_at, name")
                    .bind(server_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unavailable)?;
                rows.iter().map(claim_from_row).collect()
            }

            async fn update_claim(&self, claim: &ClaimDef) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE claims SET name = $1, claim_type = $2, value_type = $3, value = $4, group_filter_type = $5,
                        scopes = $6, status = $7 WHERE server_id = $8 AND id = $9",
                )
                .bind(&claim.name)
                .bind(&claim.claim_type)
                .bind(&claim.value_type)
                .bind(&claim.value)
                .bind(&claim.group_filter_type)
                .bind(to_json(&claim.scopes))
                .bind(&claim.status)
                .bind(&claim.server_id)
                .bind(&claim.id)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_claim(&self, server_id: &str, id: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM claims WHERE server_id = $1 AND id = $2")
                    .bind(server_id)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_policy(&self, policy: &Policy) -> StoreResult<()> {
                insert_policy(&self.pool, policy).await
            }

            async fn list_policies(&self, server_id: &str) -> StoreResult<Vec<Policy>> {
                let rows = sqlx::query(concat!(
                    "SELECT * FROM policies WHERE server_id = $1 ORDER BY priority, created_at, id",
                    $collate_c
                ))
                .bind(server_id)
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?;
                rows.iter().map(policy_from_row).collect()
            }

            async fn update_policy(&self, policy: &Policy) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE policies SET name = $1, description = $2, priority = $3, status = $4, clients = $5, updated_at = $6
                     WHERE server_id = $7 AND id = $8",
                )
                .bind(&policy.name)
                .bind(&policy.description)
                .bind(policy.priority)
                .bind(&policy.status)
                .bind(to_json(&policy.clients))
                .bind(policy.updated_at)
                .bind(&policy.server_id)
                .bind(&policy.id)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_policy(&self, server_id: &str, id: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM policies WHERE server_id = $1 AND id = $2")
                    .bind(server_id)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_rule(&self, rule: &PolicyRule) -> StoreResult<()> {
                insert_rule(&self.pool, rule).await
            }

            async fn list_rules(&self, server_id: &str) -> StoreResult<Vec<PolicyRule>> {
                let rows = sqlx::query(concat!(
                    "SELECT r.* FROM policy_rules r JOIN policies p ON p.id = r.policy_id
                     WHERE p.server_id = $1 ORDER BY r.priority, r.created_at, r.id",
                    $collate_c
                ))
                .bind(server_id)
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?;
                rows.iter().map(rule_from_row).collect()
            }

            async fn update_rule(&self, rule: &PolicyRule) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE policy_rules SET name = $1, priority = $2, status = $3, grant_types = $4, scopes = $5, users = $6,
                        groups = $7, access_token_ttl = $8, refresh_token_ttl = $9, refresh_token_idle = $10, action = $11,
                        updated_at = $12 WHERE policy_id = $13 AND id = $14",
                )
                .bind(&rule.name)
                .bind(rule.priority)
                .bind(&rule.status)
                .bind(to_json(&rule.grant_types))
                .bind(to_json(&rule.scopes))
                .bind(to_json(&rule.users))
                .bind(to_json(&rule.groups))
                .bind(rule.access_token_ttl)
                .bind(rule.refresh_token_ttl)
                .bind(rule.refresh_token_idle)
                .bind(&rule.action)
                .bind(rule.updated_at)
                .bind(&rule.policy_id)
                .bind(&rule.id)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_rule(&self, policy_id: &str, id: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM policy_rules WHERE policy_id = $1 AND id = $2")
                    .bind(policy_id)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }
        }

        #[async_trait]
        impl ConsentStore for $store {
            async fn grant_consent(&self, user_id: &str, client_id: &str, server_id: &str, scopes: &[String], now: UnixTime) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(unavailable)?;
                for scope in scopes {
                    sqlx::query(
                        "INSERT INTO consent_grants (user_id, client_id, server_id, scope, granted_at)
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    )
                    .bind(user_id)
                    .bind(client_id)
                    .bind(server_id)
                    .bind(scope)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(unavailable)?;
                }
                tx.commit().await.map_err(unavailable)
            }

            async fn granted_scopes(&self, user_id: &str, client_id: &str, server_id: &str) -> StoreResult<Vec<String>> {
                sqlx::query_scalar(
                    "SELECT scope FROM consent_grants WHERE user_id = $1 AND client_id = $2 AND server_id = $3
                     ORDER BY scope",
                )
                .bind(user_id)
                .bind(client_id)
                .bind(server_id)
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)
            }

            async fn revoke_consents(&self, user_id: &str, client_id: &str) -> StoreResult<u64> {
                let done = sqlx::query("DELETE FROM consent_grants WHERE user_id = $1 AND client_id = $2")
                    .bind(user_id)
                    .bind(client_id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use settings_store;
