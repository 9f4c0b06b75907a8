//! WebAuthn credentials (passkeys and security keys) and the open challenges of their
//! ceremonies. A challenge is stored as its SHA-256 and taken once, by one
//! `DELETE ... RETURNING`; a credential's counter moves by one compare-and-set
//! `UPDATE`, so two uses of one response cannot both pass.

use async_trait::async_trait;

use super::StoreResult;
use super::db::{Backend, Row, json_list, to_json};
use crate::clock::UnixTime;

/// A registered credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    /// The Okta factor id (`fwf…`).
    pub id: String,
    pub user_id: String,
    pub credential_id: Vec<u8>,
    /// The COSE_Key as the authenticator wrote it.
    pub public_key: Vec<u8>,
    pub sign_count: i64,
    pub user_handle: Vec<u8>,
    /// Registered as a discoverable credential (it can sign in without a username).
    pub discoverable: bool,
    /// `usb`, `nfc`, `ble`, `internal`, `hybrid`: hints the browser gave.
    pub transports: Vec<String>,
    pub name: String,
    pub aaguid: Vec<u8>,
    pub backup_eligible: bool,
    pub backed_up: bool,
    /// The authenticator verified the user at registration (PIN or biometrics).
    pub user_verified: bool,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// An open WebAuthn challenge (the random value is only with the browser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnChallenge {
    pub challenge_hash: Vec<u8>,
    /// `register` or `authenticate`.
    pub purpose: String,
    /// Whose ceremony it is; `None` for a sign-in with whichever passkey answers.
    pub user_id: Option<String>,
    /// SHA-256 of what the ceremony belongs to (a sign-in's transaction, a session).
    pub binding: Vec<u8>,
    pub expires_at: UnixTime,
}

#[async_trait]
pub trait PasskeyStore: Send + Sync {
    async fn insert_webauthn_challenge(&self, challenge: &WebauthnChallenge) -> StoreResult<()>;
    /// Takes the challenge stored as `challenge_hash` for `purpose` if it has not
    /// expired at `now`, deleting it in the same statement: of any number of concurrent
    /// uses, one gets it; a replay gets `None`.
    async fn take_webauthn_challenge(
        &self,
        challenge_hash: &[u8],
        purpose: &str,
        now: UnixTime,
    ) -> StoreResult<Option<WebauthnChallenge>>;
    /// Stores a new credential; false when its credential id is registered already
    /// (to this user or another: a credential id names one credential).
    async fn insert_passkey(&self, passkey: &Passkey) -> StoreResult<bool>;
    async fn find_passkey(&self, credential_id: &[u8]) -> StoreResult<Option<Passkey>>;
    /// A user's credentials, oldest first.
    async fn user_passkeys(&self, user_id: &str) -> StoreResult<Vec<Passkey>>;
    /// Records a use: the counter becomes `sign_count` only if it moves forward from
    /// what is stored (or both are 0), in one statement; false when another use got
    /// there first or the counter would go back.
    async fn record_passkey_use(
        &self,
        id: &str,
        sign_count: i64,
        backed_up: bool,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Renames a user's credential; false when the user has no such credential.
    async fn rename_passkey(&self, user_id: &str, id: &str, name: &str) -> StoreResult<bool>;
    /// Removes a user's credential; false when the user has no such credential.
    async fn delete_passkey(&self, user_id: &str, id: &str) -> StoreResult<bool>;
    /// Removes every credential of a user (an admin's factor reset); how many.
    async fn delete_user_passkeys(&self, user_id: &str) -> StoreResult<u64>;
}

fn passkey_from_row(row: &impl Row) -> StoreResult<Passkey> {
    Ok(Passkey {
        id: row.text("id")?,
        user_id: row.text("user_id")?,
        credential_id: row.bytes("credential_id")?,
        public_key: row.bytes("public_key")?,
        sign_count: row.int("sign_count")?,
        user_handle: row.bytes("user_handle")?,
        discoverable: row.bool("discoverable")?,
        transports: json_list(&row.text("transports")?)?,
        name: row.text("name")?,
        aaguid: row.bytes("aaguid")?,
        backup_eligible: row.bool("backup_eligible")?,
        backed_up: row.bool("backed_up")?,
        user_verified: row.bool("user_verified")?,
        created_at: row.int("created_at")?,
        last_used_at: row.opt_int("last_used_at")?,
    })
}

fn challenge_from_row(row: &impl Row) -> StoreResult<WebauthnChallenge> {
    Ok(WebauthnChallenge {
        challenge_hash: row.bytes("challenge_hash")?,
        purpose: row.text("purpose")?,
        user_id: row.opt_text("user_id")?,
        binding: row.bytes("binding")?,
        expires_at: row.int("expires_at")?,
    })
}

#[async_trait]
impl<B: Backend> PasskeyStore for B {
    async fn insert_webauthn_challenge(&self, c: &WebauthnChallenge) -> StoreResult<()> {
        self.execute(
            "INSERT INTO webauthn_challenges (challenge_hash, purpose, user_id, binding, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                (&c.challenge_hash).into(),
                (&c.purpose).into(),
                (&c.user_id).into(),
                (&c.binding).into(),
                c.expires_at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn take_webauthn_challenge(
        &self,
        challenge_hash: &[u8],
        purpose: &str,
        now: UnixTime,
    ) -> StoreResult<Option<WebauthnChallenge>> {
        let row = self
            .fetch_optional(
                "DELETE FROM webauthn_challenges
                 WHERE challenge_hash = $1 AND purpose = $2 AND expires_at > $3
                 RETURNING *",
                &[challenge_hash.into(), purpose.into(), now.into()],
            )
            .await?;
        row.as_ref().map(challenge_from_row).transpose()
    }

    async fn insert_passkey(&self, p: &Passkey) -> StoreResult<bool> {
        let done = self
            .execute(
                "INSERT INTO webauthn_credentials (id, user_id, credential_id, public_key,
                   sign_count, user_handle, discoverable, transports, name, aaguid,
                   backup_eligible, backed_up, user_verified, created_at, last_used_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                 ON CONFLICT (credential_id) DO NOTHING",
                &[
                    (&p.id).into(),
                    (&p.user_id).into(),
                    (&p.credential_id).into(),
                    (&p.public_key).into(),
                    p.sign_count.into(),
                    (&p.user_handle).into(),
                    p.discoverable.into(),
                    to_json(&p.transports),
                    (&p.name).into(),
                    (&p.aaguid).into(),
                    p.backup_eligible.into(),
                    p.backed_up.into(),
                    p.user_verified.into(),
                    p.created_at.into(),
                    p.last_used_at.into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn find_passkey(&self, credential_id: &[u8]) -> StoreResult<Option<Passkey>> {
        let row = self
            .fetch_optional(
                "SELECT * FROM webauthn_credentials WHERE credential_id = $1",
                &[credential_id.into()],
            )
            .await?;
        row.as_ref().map(passkey_from_row).transpose()
    }

    async fn user_passkeys(&self, user_id: &str) -> StoreResult<Vec<Passkey>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM webauthn_credentials WHERE user_id = $1 ORDER BY created_at, id",
                &[user_id.into()],
            )
            .await?;
        rows.iter().map(passkey_from_row).collect()
    }

    async fn record_passkey_use(
        &self,
        id: &str,
        sign_count: i64,
        backed_up: bool,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE webauthn_credentials
                 SET sign_count = $2, backed_up = $3, last_used_at = $4
                 WHERE id = $1 AND (sign_count < $2 OR (sign_count = 0 AND $2 = 0))",
                &[id.into(), sign_count.into(), backed_up.into(), now.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn rename_passkey(&self, user_id: &str, id: &str, name: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE webauthn_credentials SET name = $3 WHERE user_id = $1 AND id = $2",
                &[user_id.into(), id.into(), name.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_passkey(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM webauthn_credentials WHERE user_id = $1 AND id = $2",
                &[user_id.into(), id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_user_passkeys(&self, user_id: &str) -> StoreResult<u64> {
        self.execute(
            "DELETE FROM webauthn_credentials WHERE user_id = $1",
            &[user_id.into()],
        )
        .await
    }
}
