-- WebAuthn credentials (passkeys and security keys), one row each. `id` is the Okta
-- factor id the Factors API shows (factorType `webauthn`, provider `FIDO`);
-- `credential_id` the authenticator's id for it; `public_key` its COSE_Key as the
-- authenticator wrote it; `sign_count` the last counter seen (0: the authenticator
-- keeps none); `user_handle` the opaque id the authenticator stores for a discoverable
-- credential (random, the same for all of a user's credentials, never the user id);
-- `aaguid` the authenticator model; `transports` a JSON list of hints for the browser.
CREATE TABLE webauthn_credentials (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id   BLOB NOT NULL UNIQUE,
    public_key      BLOB NOT NULL,
    sign_count      INTEGER NOT NULL,
    user_handle     BLOB NOT NULL,
    discoverable    INTEGER NOT NULL,
    transports      TEXT NOT NULL DEFAULT '[]',
    name            TEXT NOT NULL,
    aaguid          BLOB NOT NULL,
    backup_eligible INTEGER NOT NULL,
    backed_up       INTEGER NOT NULL,
    user_verified   INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id);
CREATE INDEX webauthn_credentials_handle ON webauthn_credentials (user_handle);

-- Open WebAuthn challenges, by SHA-256 of the random challenge: `purpose` is
-- `register` or `authenticate`; `user_id` the user it is for (NULL: a passkey sign-in
-- without a username, for whoever's passkey answers); `binding` the SHA-256 of what
-- the ceremony belongs to (the sign-in's transaction, the session that adds a passkey).
-- Taken once by a DELETE ... RETURNING.
CREATE TABLE webauthn_challenges (
    challenge_hash BLOB PRIMARY KEY,
    purpose        TEXT NOT NULL,
    user_id        TEXT REFERENCES users(id) ON DELETE CASCADE,
    binding        BLOB NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_at);
