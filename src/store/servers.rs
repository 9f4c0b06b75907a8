//! Authorization servers and their signing keys.
//!
//! Dialect differences: none. `private_key` is a BLOB in SQLite and a BYTEA in
//! PostgreSQL, both read as bytes; `access_token_typ_at_jwt` is 0/1 or BOOLEAN, both
//! read as `bool`.

use async_trait::async_trait;

use super::db::{Backend, Row, Tx, json_list, to_json};
use super::{AuthServer, KeyRotation, KeyStatus, StoreResult, StoredKey};
use crate::clock::UnixTime;

#[async_trait]
pub trait ServerStore: Send + Sync {
    /// Inserts the server unless one with its id exists; true when inserted.
    async fn insert_server_if_absent(&self, server: &AuthServer) -> StoreResult<bool>;
    async fn get_server(&self, id: &str) -> StoreResult<Option<AuthServer>>;
    async fn list_servers(&self) -> StoreResult<Vec<AuthServer>>;
    /// Writes name, description, audience, status and `updated_at`; false when absent.
    async fn update_server(&self, server: &AuthServer) -> StoreResult<bool>;
    /// Deletes a server with its keys, scopes, claims and policies.
    async fn delete_server(&self, id: &str) -> StoreResult<bool>;
    /// Every key of the server the store still keeps: the ACTIVE one first, then NEXT,
    /// then RETIRED keys, the most recently retired first. The caller decides which
    /// retired keys are still published.
    async fn signing_keys(&self, server_id: &str) -> StoreResult<Vec<StoredKey>>;
    /// Inserts a key; an `ACTIVE` (or `NEXT`) key when the server already has one is
    /// refused by the database (false), so concurrent first starts agree on one of each.
    async fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<bool>;
    /// Rotates the keys of `new_next.server_id` in one transaction: the ACTIVE key
    /// `expected_active` becomes RETIRED (`retired_at = now`), the NEXT key ACTIVE
    /// (`activated_at = now`), and `new_next` is inserted as NEXT. The first statement
    /// is `UPDATE ... WHERE kid = expected AND status = 'ACTIVE'`: of processes rotating
    /// at once, one rotates and the others find the key retired (`NotActive`).
    async fn rotate_signing_key(
        &self,
        expected_active: &str,
        new_next: &StoredKey,
        now: UnixTime,
    ) -> StoreResult<KeyRotation>;
    /// The ids of the servers `server_id` trusts for token exchange (Okta's
    /// `trustedServers`), oldest trust first.
    async fn trusted_servers(&self, server_id: &str) -> StoreResult<Vec<String>>;
    /// `server_id` trusts `trusted_id` from `now` on; false when it already did. Both
    /// servers must exist (the foreign keys refuse otherwise).
    async fn trust_server(
        &self,
        server_id: &str,
        trusted_id: &str,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// `server_id` no longer trusts `trusted_id`; false when it did not.
    async fn untrust_server(&self, server_id: &str, trusted_id: &str) -> StoreResult<bool>;
}

fn server_from_row(row: &impl Row) -> StoreResult<AuthServer> {
    Ok(AuthServer {
        id: row.text("id")?,
        name: row.text("name")?,
        description: row.text("description")?,
        audience: row.opt_text("audience")?,
        access_token_ttl: row.int("access_token_ttl")?,
        id_token_ttl: row.int("id_token_ttl")?,
        access_token_typ_at_jwt: row.bool("access_token_typ_at_jwt")?,
        signing_alg: row.text("signing_alg")?,
        status: row.text("status")?.parse()?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
        settings_version: row.int("settings_version")?,
        introspection_restricted: row.bool("introspection_restricted")?,
        resource_servers: json_list(&row.text("resource_servers")?)?,
    })
}

fn key_from_row(row: &impl Row) -> StoreResult<StoredKey> {
    Ok(StoredKey {
        kid: row.text("kid")?,
        server_id: row.text("server_id")?,
        alg: row.text("alg")?,
        public_jwk: row.text("public_jwk")?,
        private_key_sealed: row.bytes("private_key")?,
        status: row.text("status")?.parse()?,
        created_at: row.int("created_at")?,
        activated_at: row.opt_int("activated_at")?,
        retired_at: row.opt_int("retired_at")?,
    })
}

#[async_trait]
impl<B: Backend> ServerStore for B {
    async fn insert_server_if_absent(&self, s: &AuthServer) -> StoreResult<bool> {
        let done = self
            .execute(
                "INSERT INTO authorization_servers (id, name, description, audience,
                    access_token_ttl, id_token_ttl, access_token_typ_at_jwt, signing_alg, status,
                    created_at, updated_at, introspection_restricted, resource_servers)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (id) DO NOTHING",
                &[
                    (&s.id).into(),
                    (&s.name).into(),
                    (&s.description).into(),
                    (&s.audience).into(),
                    s.access_token_ttl.into(),
                    s.id_token_ttl.into(),
                    s.access_token_typ_at_jwt.into(),
                    (&s.signing_alg).into(),
                    (&s.status).into(),
                    s.created_at.into(),
                    s.updated_at.into(),
                    s.introspection_restricted.into(),
                    to_json(&s.resource_servers),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn get_server(&self, id: &str) -> StoreResult<Option<AuthServer>> {
        let row = self
            .fetch_optional(
                "SELECT * FROM authorization_servers WHERE id = $1",
                &[id.into()],
            )
            .await?;
        row.as_ref().map(server_from_row).transpose()
    }

    async fn list_servers(&self) -> StoreResult<Vec<AuthServer>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM authorization_servers ORDER BY created_at, id",
                &[],
            )
            .await?;
        rows.iter().map(server_from_row).collect()
    }

    async fn update_server(&self, s: &AuthServer) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE authorization_servers SET name = $1, description = $2, audience = $3,
                    status = $4, updated_at = $5, signing_alg = $6, introspection_restricted = $8,
                    resource_servers = $9 WHERE id = $7",
                &[
                    (&s.name).into(),
                    (&s.description).into(),
                    (&s.audience).into(),
                    (&s.status).into(),
                    s.updated_at.into(),
                    (&s.signing_alg).into(),
                    (&s.id).into(),
                    s.introspection_restricted.into(),
                    to_json(&s.resource_servers),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_server(&self, id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM authorization_servers WHERE id = $1",
                &[id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn signing_keys(&self, server_id: &str) -> StoreResult<Vec<StoredKey>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM signing_keys WHERE server_id = $1
                 ORDER BY CASE status WHEN 'ACTIVE' THEN 0 WHEN 'NEXT' THEN 1 ELSE 2 END,
                    retired_at DESC, created_at DESC, kid",
                &[server_id.into()],
            )
            .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// `ON CONFLICT DO NOTHING` without a target covers the partial unique index
    /// `signing_keys_one_active` as well as the primary key, on both backends.
    async fn insert_signing_key(&self, k: &StoredKey) -> StoreResult<bool> {
        let done = self
            .execute(
                "INSERT INTO signing_keys (kid, server_id, alg, public_jwk, private_key, status,
                    created_at, activated_at, retired_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                &[
                    (&k.kid).into(),
                    (&k.server_id).into(),
                    (&k.alg).into(),
                    (&k.public_jwk).into(),
                    (&k.private_key_sealed).into(),
                    k.status.as_str().into(),
                    k.created_at.into(),
                    k.activated_at.into(),
                    k.retired_at.into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    /// One winner. SQLite: its write lock serialises rotations: the transaction's first
    /// statement is a write, so a second rotation waits (busy timeout), then matches
    /// nothing. PostgreSQL: under READ COMMITTED a second rotation's first `UPDATE`
    /// waits for the first rotation's row lock, then re-checks `status = 'ACTIVE'` on
    /// the committed row and matches nothing.
    async fn rotate_signing_key(
        &self,
        expected_active: &str,
        new_next: &StoredKey,
        now: UnixTime,
    ) -> StoreResult<KeyRotation> {
        let server_id = &new_next.server_id;
        // Dropping the transaction without commit rolls it back.
        let mut tx = self.begin().await?;
        let retired = tx
            .execute(
                "UPDATE signing_keys SET status = 'RETIRED', retired_at = $1
                 WHERE kid = $2 AND server_id = $3 AND status = 'ACTIVE'",
                &[now.into(), expected_active.into(), server_id.into()],
            )
            .await?;
        if retired == 0 {
            return Ok(KeyRotation::NotActive);
        }
        let promoted = tx
            .execute(
                "UPDATE signing_keys SET status = 'ACTIVE', activated_at = $1
                 WHERE server_id = $2 AND status = 'NEXT'",
                &[now.into(), server_id.into()],
            )
            .await?;
        if promoted != 1 {
            return Ok(KeyRotation::NoNextKey);
        }
        tx.execute(
            "INSERT INTO signing_keys (kid, server_id, alg, public_jwk, private_key, status,
                created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                (&new_next.kid).into(),
                server_id.into(),
                (&new_next.alg).into(),
                (&new_next.public_jwk).into(),
                (&new_next.private_key_sealed).into(),
                KeyStatus::Next.as_str().into(),
                new_next.created_at.into(),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(KeyRotation::Rotated)
    }

    async fn trusted_servers(&self, server_id: &str) -> StoreResult<Vec<String>> {
        let rows = self
            .fetch_all(
                "SELECT trusted_id FROM trusted_servers WHERE server_id = $1
                 ORDER BY created_at, trusted_id",
                &[server_id.into()],
            )
            .await?;
        rows.iter().map(|r| r.text("trusted_id")).collect()
    }

    async fn trust_server(
        &self,
        server_id: &str,
        trusted_id: &str,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let done = self
            .execute(
                "INSERT INTO trusted_servers (server_id, trusted_id, created_at)
                 VALUES ($1, $2, $3) ON CONFLICT (server_id, trusted_id) DO NOTHING",
                &[server_id.into(), trusted_id.into(), now.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn untrust_server(&self, server_id: &str, trusted_id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM trusted_servers WHERE server_id = $1 AND trusted_id = $2",
                &[server_id.into(), trusted_id.into()],
            )
            .await?;
        Ok(done == 1)
    }
}
