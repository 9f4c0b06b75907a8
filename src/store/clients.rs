//! Apps (OAuth clients) and their user and group assignments.
//!
//! Dialect differences, none in the statements:
//! - `assignments_required` and the two client flags are INTEGER 0/1 in SQLite and
//!   BOOLEAN in PostgreSQL. `SET assignments_required = TRUE` and `COALESCE(..., FALSE)`
//!   mean the same on both (SQLite ≥ 3.23 reads `TRUE`/`FALSE` as 1/0; the bundled one
//!   is 3.46), and both are bound and read as `bool`.
//! - `user_may_use_app`'s `... OR EXISTS (...)` is a BOOLEAN in PostgreSQL and a 0/1
//!   integer in SQLite; both are read as `bool`.

use async_trait::async_trait;

use super::db::{Arg, Backend, Row, json_list, to_json};
use super::groups::group_from_row;
use super::query::Where;
use super::users::user_from_row;
use super::{Client, Group, LogoutChannels, Page, StoreError, StoreResult, User};
use crate::clock::UnixTime;

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn insert_client(&self, client: &Client) -> StoreResult<()>;
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
    /// Writes every field of the client with this id, only if its stored `version` is
    /// still `client.version` (the one it was read at), and bumps the version; false when
    /// absent or changed since (a stale write is refused: re-read and decide again).
    async fn update_client(&self, client: &Client) -> StoreResult<bool>;
    /// Deletes the client with its assignments.
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool>;
    /// A page of clients ordered by client id; filterable columns: `CLIENT_COLUMNS`.
    async fn query_clients(&self, page: &Page) -> StoreResult<Vec<Client>>;
    /// Assigns a user to an app; false when they already were.
    async fn assign_user(&self, client_id: &str, user_id: &str, now: UnixTime)
    -> StoreResult<bool>;
    async fn unassign_user(&self, client_id: &str, user_id: &str) -> StoreResult<bool>;
    /// The users assigned to an app, by id.
    async fn assigned_users(&self, client_id: &str) -> StoreResult<Vec<User>>;
    /// Assigns a group to an app (or changes its priority); false when it already was.
    async fn assign_group(
        &self,
        client_id: &str,
        group_id: &str,
        priority: i64,
        now: UnixTime,
    ) -> StoreResult<bool>;
    async fn unassign_group(&self, client_id: &str, group_id: &str) -> StoreResult<bool>;
    /// The groups assigned to an app with their priorities, by id.
    async fn assigned_groups(&self, client_id: &str) -> StoreResult<Vec<(Group, i64)>>;
    /// May this user get codes and tokens for this app? True when the app has no
    /// assignment at all (open to every user), or the user is assigned to it directly
    /// or through one of their groups. One query.
    async fn user_may_use_app(&self, client_id: &str, user_id: &str) -> StoreResult<bool>;
    /// The ACTIVE apps the user may sign in to (as `user_may_use_app` decides: open to
    /// everyone, or assigned to the user or one of their groups), by label then id.
    async fn apps_of_user(&self, user_id: &str) -> StoreResult<Vec<Client>>;
}

/// What an apps page may filter on.
pub const CLIENT_COLUMNS: &[&str] = &["client_id", "name", "status", "created_at", "updated_at"];

pub(super) fn client_from_row(row: &impl Row) -> StoreResult<Client> {
    Ok(Client {
        client_id: row.text("client_id")?,
        name: row.text("name")?,
        secrets: serde_json::from_str(&row.text("secrets")?)
            .map_err(|e| StoreError::Schema(format!("corrupt secrets column: {e}")))?,
        auth_method: row.text("auth_method")?.parse()?,
        jwks: row.opt_text("jwks")?,
        jwks_uri: row.opt_text("jwks_uri")?,
        dpop_bound_access_tokens: row.bool("dpop_bound_access_tokens")?,
        application_type: row.text("application_type")?,
        redirect_uris: json_list(&row.text("redirect_uris")?)?,
        post_logout_redirect_uris: json_list(&row.text("post_logout_redirect_uris")?)?,
        grant_types: json_list(&row.text("grant_types")?)?,
        response_types: json_list(&row.text("response_types")?)?,
        refresh_token_leeway: row.int("refresh_token_leeway")?,
        require_pushed_authorization_requests: row.bool("require_pushed_authorization_requests")?,
        pkce_required: row.bool("pkce_required")?,
        pkce_allow_plain: row.bool("pkce_allow_plain")?,
        request_object_signing_alg: row.opt_text("request_object_signing_alg")?,
        require_signed_request_object: row.bool("require_signed_request_object")?,
        logout: LogoutChannels {
            frontchannel_logout_uri: row.opt_text("frontchannel_logout_uri")?,
            frontchannel_logout_session_required: row
                .bool("frontchannel_logout_session_required")?,
            backchannel_logout_uri: row.opt_text("backchannel_logout_uri")?,
            backchannel_logout_session_required: row.bool("backchannel_logout_session_required")?,
        },
        status: row.text("status")?.parse()?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
        version: row.int("version")?,
    })
}

fn secrets_json(client: &Client) -> Arg<'static> {
    serde_json::to_string(&client.secrets)
        .expect("secrets serialise")
        .into()
}

/// Inserts a client; bound with `client_columns`. Shared with the registration of a
/// client (`registration::register_client`), which inserts it in its transaction.
pub(super) const INSERT_CLIENT: &str = "INSERT INTO clients (client_id, name, secrets,
        auth_method, application_type, redirect_uris, post_logout_redirect_uris, grant_types,
        response_types, refresh_token_leeway, status, created_at, updated_at, jwks, jwks_uri,
        dpop_bound_access_tokens, require_pushed_authorization_requests, pkce_required,
        pkce_allow_plain, request_object_signing_alg, require_signed_request_object,
        frontchannel_logout_uri, frontchannel_logout_session_required, backchannel_logout_uri,
        backchannel_logout_session_required)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
        $19, $20, $21, $22, $23, $24, $25)";

/// Writes every column of a client if its `version` is still the one read, and bumps
/// it; bound with `update_client_args`. Shared with `registration::update_registered`.
pub(super) const UPDATE_CLIENT: &str = "UPDATE clients SET name = $2, secrets = $3,
        auth_method = $4, application_type = $5, redirect_uris = $6,
        post_logout_redirect_uris = $7, grant_types = $8, response_types = $9,
        refresh_token_leeway = $10, status = $11, created_at = $12, updated_at = $13,
        jwks = $14, jwks_uri = $15, dpop_bound_access_tokens = $16,
        require_pushed_authorization_requests = $17, pkce_required = $18,
        pkce_allow_plain = $19, request_object_signing_alg = $20,
        require_signed_request_object = $21, frontchannel_logout_uri = $22,
        frontchannel_logout_session_required = $23, backchannel_logout_uri = $24,
        backchannel_logout_session_required = $25, version = version + 1
     WHERE client_id = $1 AND version = $26";

pub(super) fn update_client_args(c: &Client) -> Vec<Arg<'_>> {
    let mut args = client_columns(c);
    args.push(c.version.into());
    args
}

/// A client's columns in the order `INSERT_CLIENT` names them (`$1` is `client_id`);
/// `UPDATE_CLIENT` binds the same list, so a new column is added in one place.
pub(super) fn client_columns(c: &Client) -> Vec<Arg<'_>> {
    vec![
        (&c.client_id).into(),
        (&c.name).into(),
        secrets_json(c),
        (&c.auth_method).into(),
        (&c.application_type).into(),
        to_json(&c.redirect_uris),
        to_json(&c.post_logout_redirect_uris),
        to_json(&c.grant_types),
        to_json(&c.response_types),
        c.refresh_token_leeway.into(),
        (&c.status).into(),
        c.created_at.into(),
        c.updated_at.into(),
        (&c.jwks).into(),
        (&c.jwks_uri).into(),
        c.dpop_bound_access_tokens.into(),
        c.require_pushed_authorization_requests.into(),
        c.pkce_required.into(),
        c.pkce_allow_plain.into(),
        (&c.request_object_signing_alg).into(),
        c.require_signed_request_object.into(),
        (&c.logout.frontchannel_logout_uri).into(),
        c.logout.frontchannel_logout_session_required.into(),
        (&c.logout.backchannel_logout_uri).into(),
        c.logout.backchannel_logout_session_required.into(),
    ]
}

#[async_trait]
impl<B: Backend> ClientStore for B {
    async fn insert_client(&self, c: &Client) -> StoreResult<()> {
        self.execute(INSERT_CLIENT, &client_columns(c)).await?;
        Ok(())
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let row = self
            .fetch_optional(
                "SELECT * FROM clients WHERE client_id = $1",
                &[client_id.into()],
            )
            .await?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let rows = self
            .fetch_all("SELECT * FROM clients ORDER BY created_at, client_id", &[])
            .await?;
        rows.iter().map(client_from_row).collect()
    }

    async fn update_client(&self, c: &Client) -> StoreResult<bool> {
        let done = self.execute(UPDATE_CLIENT, &update_client_args(c)).await?;
        Ok(done == 1)
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM clients WHERE client_id = $1",
                &[client_id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn query_clients(&self, page: &Page) -> StoreResult<Vec<Client>> {
        let (clause, values) = Where::new(CLIENT_COLUMNS, B::DIALECT).page(page, "client_id")?;
        let args: Vec<Arg<'_>> = values.iter().map(Arg::from).collect();
        let rows = self
            .fetch_all(&format!("SELECT * FROM clients {clause}"), &args)
            .await?;
        rows.iter().map(client_from_row).collect()
    }

    async fn assign_user(
        &self,
        client_id: &str,
        user_id: &str,
        now: UnixTime,
    ) -> StoreResult<bool> {
        // Closed first: a failure after this leaves the app closed, never open.
        self.execute(
            "UPDATE clients SET assignments_required = TRUE WHERE client_id = $1",
            &[client_id.into()],
        )
        .await?;
        let done = self
            .execute(
                "INSERT INTO app_user_assignments (client_id, user_id, created_at)
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[client_id.into(), user_id.into(), now.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn unassign_user(&self, client_id: &str, user_id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM app_user_assignments WHERE client_id = $1 AND user_id = $2",
                &[client_id.into(), user_id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn assigned_users(&self, client_id: &str) -> StoreResult<Vec<User>> {
        let rows = self
            .fetch_all(
                "SELECT u.* FROM users u JOIN app_user_assignments a ON a.user_id = u.id
                 WHERE a.client_id = $1 ORDER BY u.id",
                &[client_id.into()],
            )
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn assign_group(
        &self,
        client_id: &str,
        group_id: &str,
        priority: i64,
        now: UnixTime,
    ) -> StoreResult<bool> {
        // Closed first: a failure after this leaves the app closed, never open.
        self.execute(
            "UPDATE clients SET assignments_required = TRUE WHERE client_id = $1",
            &[client_id.into()],
        )
        .await?;
        let inserted = self
            .execute(
                "INSERT INTO app_group_assignments (client_id, group_id, priority, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[
                    client_id.into(),
                    group_id.into(),
                    priority.into(),
                    now.into(),
                ],
            )
            .await?
            == 1;
        if !inserted {
            self.execute(
                "UPDATE app_group_assignments SET priority = $1
                 WHERE client_id = $2 AND group_id = $3",
                &[priority.into(), client_id.into(), group_id.into()],
            )
            .await?;
        }
        Ok(inserted)
    }

    async fn unassign_group(&self, client_id: &str, group_id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM app_group_assignments WHERE client_id = $1 AND group_id = $2",
                &[client_id.into(), group_id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn assigned_groups(&self, client_id: &str) -> StoreResult<Vec<(Group, i64)>> {
        let rows = self
            .fetch_all(
                "SELECT g.*, a.priority FROM groups g
                 JOIN app_group_assignments a ON a.group_id = g.id
                 WHERE a.client_id = $1 ORDER BY g.id",
                &[client_id.into()],
            )
            .await?;
        rows.iter()
            .map(|row| Ok((group_from_row(row)?, row.int("priority")?)))
            .collect()
    }

    async fn user_may_use_app(&self, client_id: &str, user_id: &str) -> StoreResult<bool> {
        let row = self
            .fetch_optional(
                "SELECT COALESCE((SELECT NOT assignments_required FROM clients WHERE client_id = $1), FALSE)
                     OR EXISTS (SELECT 1 FROM app_user_assignments WHERE client_id = $1 AND user_id = $2)
                     OR EXISTS (SELECT 1 FROM app_group_assignments a
                                JOIN group_members m ON m.group_id = a.group_id
                                WHERE a.client_id = $1 AND m.user_id = $2)
                 AS allowed",
                &[client_id.into(), user_id.into()],
            )
            .await?;
        row.map_or(Ok(false), |row| row.bool("allowed"))
    }

    async fn apps_of_user(&self, user_id: &str) -> StoreResult<Vec<Client>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM clients c
                 WHERE c.status = 'ACTIVE'
                   AND (NOT c.assignments_required
                        OR EXISTS (SELECT 1 FROM app_user_assignments a
                                   WHERE a.client_id = c.client_id AND a.user_id = $1)
                        OR EXISTS (SELECT 1 FROM app_group_assignments a
                                   JOIN group_members m ON m.group_id = a.group_id
                                   WHERE a.client_id = c.client_id AND m.user_id = $1))
                 ORDER BY c.name, c.client_id",
                &[user_id.into()],
            )
            .await?;
        rows.iter().map(client_from_row).collect()
    }
}
