//! Users and apps, their assignments, and their filtered pages, for both backends.
//!
//! Dialect differences:
//! - `assignments_required` is an INTEGER 0/1 in SQLite and a BOOLEAN in PostgreSQL.
//!   `SET assignments_required = TRUE` and `COALESCE(..., FALSE)` mean the same on both
//!   (SQLite ≥ 3.23 reads `TRUE`/`FALSE` as 1/0; the bundled one is 3.46).
//! - `user_may_use_app`'s `... OR EXISTS (...)` is a BOOLEAN in PostgreSQL and a 0/1
//!   integer in SQLite; sqlx decodes both as `bool`.
//! - `require_pushed_authorization_requests` likewise: INTEGER 0/1 or BOOLEAN, bound
//!   and read as `bool` on both.
//!
//! Invoked as `directory_store!(StoreType, RowType, DatabaseType)` in a module that
//! has the backend's `unavailable`, `placeholder`, `bind_values`, `json_list`,
//! `to_json` and `settings::group_from_row` in scope.

macro_rules! directory_store {
    ($store:ty, $row:ty, $db:ty) => {
        pub(super) fn user_from_row(row: &$row) -> StoreResult<User> {
            let get = |e: sqlx::Error| unavailable(e);
            let extra: String = row.try_get("profile_extra").map_err(get)?;
            Ok(User {
                id: row.try_get("id").map_err(get)?,
                login: row.try_get("login").map_err(get)?,
                email: row.try_get("email").map_err(get)?,
                first_name: row.try_get("first_name").map_err(get)?,
                last_name: row.try_get("last_name").map_err(get)?,
                password_hash: row.try_get("password_hash").map_err(get)?,
                status: row.try_get("status").map_err(get)?,
                profile_extra: serde_json::from_str(&extra)
                    .map_err(|e| StoreError::Schema(format!("corrupt profile_extra: {e}")))?,
                created_at: row.try_get("created_at").map_err(get)?,
                updated_at: row.try_get("updated_at").map_err(get)?,
                activated_at: row.try_get("activated_at").map_err(get)?,
                status_changed_at: row.try_get("status_changed_at").map_err(get)?,
                password_changed_at: row.try_get("password_changed_at").map_err(get)?,
                last_login_at: row.try_get("last_login_at").map_err(get)?,
            })
        }

        fn client_from_row(row: &$row) -> StoreResult<Client> {
            let get = |name: &str| -> StoreResult<String> { row.try_get(name).map_err(unavailable) };
            Ok(Client {
                client_id: get("client_id")?,
                name: get("name")?,
                secrets: serde_json::from_str(&get("secrets")?)
                    .map_err(|e| StoreError::Schema(format!("corrupt secrets column: {e}")))?,
                auth_method: get("auth_method")?,
                jwks: row.try_get("jwks").map_err(unavailable)?,
                jwks_uri: row.try_get("jwks_uri").map_err(unavailable)?,
                dpop_bound_access_tokens: row.try_get("dpop_bound_access_tokens").map_err(unavailable)?,
                application_type: get("application_type")?,
                redirect_uris: json_list(&get("redirect_uris")?)?,
                post_logout_redirect_uris: json_list(&get("post_logout_redirect_uris")?)?,
                grant_types: json_list(&get("grant_types")?)?,
                response_types: json_list(&get("response_types")?)?,
                refresh_token_leeway: row.try_get("refresh_token_leeway").map_err(unavailable)?,
                require_pushed_authorization_requests: row
                    .try_get("require_pushed_authorization_requests")
                    .map_err(unavailable)?,
                status: get("status")?,
                created_at: row.try_get("created_at").map_err(unavailable)?,
                updated_at: row.try_get("updated_at").map_err(unavailable)?,
                version: row.try_get("version").map_err(unavailable)?,
            })
        }

        fn secrets_json(client: &Client) -> String {
            serde_json::to_string(&client.secrets).expect("secrets serialise")
        }

        fn extra_json(user: &User) -> String {
            serde_json::Value::Object(user.profile_extra.clone()).to_string()
        }

        #[async_trait]
        impl UserStore for $store {
            async fn insert_user(&self, u: &User) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO users (id, login, login_key, email, first_name, last_name, password_hash,
                        status, profile_extra, created_at, updated_at, activated_at, status_changed_at,
                        password_changed_at, last_login_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(&u.id)
                .bind(&u.login)
                .bind(u.login.to_lowercase())
                .bind(&u.email)
                .bind(&u.first_name)
                .bind(&u.last_name)
                .bind(&u.password_hash)
                .bind(&u.status)
                .bind(extra_json(u))
                .bind(u.created_at)
                .bind(u.updated_at)
                .bind(u.activated_at)
                .bind(u.status_changed_at)
                .bind(u.password_changed_at)
                .bind(u.last_login_at)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(())
            }

            async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
                let row = sqlx::query("SELECT * FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unavailable)?;
                row.as_ref().map(user_from_row).transpose()
            }

            async fn find_user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
                let row = sqlx::query("SELECT * FROM users WHERE login_key = $1")
                    .bind(login.to_lowercase())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unavailable)?;
                row.as_ref().map(user_from_row).transpose()
            }

            async fn list_users(&self) -> StoreResult<Vec<User>> {
                let rows = sqlx::query("SELECT * FROM users ORDER BY created_at, id")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unavailable)?;
                rows.iter().map(user_from_row).collect()
            }

            async fn update_user(&self, u: &User) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE users SET login = $1, login_key = $2, email = $3, first_name = $4, last_name = $5,
                        password_hash = $6, status = $7, profile_extra = $8, created_at = $9, updated_at = $10,
                        activated_at = $11, status_changed_at = $12, password_changed_at = $13
                     WHERE id = $14",
                )
                .bind(&u.login)
                .bind(u.login.to_lowercase())
                .bind(&u.email)
                .bind(&u.first_name)
                .bind(&u.last_name)
                .bind(&u.password_hash)
                .bind(&u.status)
                .bind(extra_json(u))
                .bind(u.created_at)
                .bind(u.updated_at)
                .bind(u.activated_at)
                .bind(u.status_changed_at)
                .bind(u.password_changed_at)
                .bind(&u.id)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn record_login(&self, user_id: &str, at: UnixTime) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
                    .bind(at)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_user(&self, id: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn query_users(&self, page: &Page) -> StoreResult<Vec<User>> {
                let (clause, values) = Where { columns: USER_COLUMNS, placeholder, binds: vec![] }.page(page, "id")?;
                let sql = format!("SELECT * FROM users {clause}");
                let rows = bind_values(sqlx::query(&sql), &values)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unavailable)?;
                rows.iter().map(user_from_row).collect()
            }
        }

        #[async_trait]
        impl ClientStore for $store {
            async fn insert_client(&self, c: &Client) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO clients (client_id, name, secrets, auth_method, application_type,
                        redirect_uris, post_logout_redirect_uris, grant_types, response_types,
                        refresh_token_leeway, status, created_at, updated_at, jwks, jwks_uri,
                        dpop_bound_access_tokens, require_pushed_authorization_requests)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                )
                .bind(&c.client_id)
                .bind(&c.name)
                .bind(secrets_json(c))
                .bind(&c.auth_method)
                .bind(&c.application_type)
                .bind(to_json(&c.redirect_uris))
                .bind(to_json(&c.post_logout_redirect_uris))
                .bind(to_json(&c.grant_types))
                .bind(to_json(&c.response_types))
                .bind(c.refresh_token_leeway)
                .bind(&c.status)
                .bind(c.created_at)
                .bind(c.updated_at)
                .bind(&c.jwks)
                .bind(&c.jwks_uri)
                .bind(c.dpop_bound_access_tokens)
                .bind(c.require_pushed_authorization_requests)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(())
            }

            async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
                let row = sqlx::query("SELECT * FROM clients WHERE client_id = $1")
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unavailable)?;
                row.as_ref().map(client_from_row).transpose()
            }

            async fn list_clients(&self) -> StoreResult<Vec<Client>> {
                let rows = sqlx::query("SELECT * FROM clients ORDER BY created_at, client_id")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unavailable)?;
                rows.iter().map(client_from_row).collect()
            }

            async fn update_client(&self, c: &Client) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE clients SET name = $1, secrets = $2, auth_method = $3, application_type = $4,
                        redirect_uris = $5, post_logout_redirect_uris = $6, grant_types = $7, response_types = $8,
                        refresh_token_leeway = $9, status = $10, created_at = $11, updated_at = $12,
                        jwks = $14, jwks_uri = $15, dpop_bound_access_tokens = $16,
                        require_pushed_authorization_requests = $17, version = version + 1
                     WHERE client_id = $13 AND version = $18",
                )
                .bind(&c.name)
                .bind(secrets_json(c))
                .bind(&c.auth_method)
                .bind(&c.application_type)
                .bind(to_json(&c.redirect_uris))
                .bind(to_json(&c.post_logout_redirect_uris))
                .bind(to_json(&c.grant_types))
                .bind(to_json(&c.response_types))
                .bind(c.refresh_token_leeway)
                .bind(&c.status)
                .bind(c.created_at)
                .bind(c.updated_at)
                .bind(&c.client_id)
                .bind(&c.jwks)
                .bind(&c.jwks_uri)
                .bind(c.dpop_bound_access_tokens)
                .bind(c.require_pushed_authorization_requests)
                .bind(c.version)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM clients WHERE client_id = $1")
                    .bind(client_id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn query_clients(&self, page: &Page) -> StoreResult<Vec<Client>> {
                let (clause, values) = Where { columns: CLIENT_COLUMNS, placeholder, binds: vec![] }.page(page, "client_id")?;
                let sql = format!("SELECT * FROM clients {clause}");
                let rows = bind_values(sqlx::query(&sql), &values)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unavailable)?;
                rows.iter().map(client_from_row).collect()
            }

            async fn assign_user(&self, client_id: &str, user_id: &str, now: UnixTime) -> StoreResult<bool> {
                // Closed first: a failure after this leaves the app closed, never open.
                sqlx::query("UPDATE clients SET assignments_required = TRUE WHERE client_id = $1")
                    .bind(client_id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                let done = sqlx::query(
                    "INSERT INTO app_user_assignments (client_id, user_id, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                )
                .bind(client_id)
                .bind(user_id)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn unassign_user(&self, client_id: &str, user_id: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM app_user_assignments WHERE client_id = $1 AND user_id = $2")
                    .bind(client_id)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn assigned_users(&self, client_id: &str) -> StoreResult<Vec<User>> {
                let rows = sqlx::query(
                    "SELECT u.* FROM users u JOIN app_user_assignments a ON a.user_id = u.id
                     WHERE a.client_id = $1 ORDER BY u.id",
                )
                .bind(client_id)
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?;
                rows.iter().map(user_from_row).collect()
            }

            async fn assign_group(&self, client_id: &str, group_id: &str, priority: i64, now: UnixTime) -> StoreResult<bool> {
                // Closed first: a failure after this leaves the app closed, never open.
                sqlx::query("UPDATE clients SET assignments_required = TRUE WHERE client_id = $1")
                    .bind(client_id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                let inserted = sqlx::query(
                    "INSERT INTO app_group_assignments (client_id, group_id, priority, created_at)
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(client_id)
                .bind(group_id)
                .bind(priority)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?
                .rows_affected()
                    == 1;
                if !inserted {
                    sqlx::query("UPDATE app_group_assignments SET priority = $1 WHERE client_id = $2 AND group_id = $3")
                        .bind(priority)
                        .bind(client_id)
                        .bind(group_id)
                        .execute(&self.pool)
                        .await
                        .map_err(unavailable)?;
                }
                Ok(inserted)
            }

            async fn unassign_group(&self, client_id: &str, group_id: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM app_group_assignments WHERE client_id = $1 AND group_id = $2")
                    .bind(client_id)
                    .bind(group_id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn assigned_groups(&self, client_id: &str) -> StoreResult<Vec<(Group, i64)>> {
                let rows = sqlx::query(
                    "SELECT g.*, a.priority FROM groups g JOIN app_group_assignments a ON a.group_id = g.id
                     WHERE a.client_id = $1 ORDER BY g.id",
                )
                .bind(client_id)
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?;
                rows.iter()
                    .map(|row| Ok((group_from_row(row).map_err(unavailable)?, row.try_get("priority").map_err(unavailable)?)))
                    .collect()
            }

            async fn user_may_use_app(&self, client_id: &str, user_id: &str) -> StoreResult<bool> {
                let allowed: bool = sqlx::query_scalar(
                    "SELECT COALESCE((SELECT NOT assignments_required FROM clients WHERE client_id = $1), FALSE)
                         OR EXISTS (SELECT 1 FROM app_user_assignments WHERE client_id = $1 AND user_id = $2)
                         OR EXISTS (SELECT 1 FROM app_group_assignments a JOIN group_members m ON m.group_id = a.group_id
                                    WHERE a.client_id = $1 AND m.user_id = $2)",
                )
                .bind(client_id)
                .bind(user_id)
                .fetch_one(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(allowed)
            }
        }
    };
}

pub(crate) use directory_store;
