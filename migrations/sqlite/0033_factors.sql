-- Second factors (Okta's Factors API): one row per enrolled factor. A TOTP factor's
-- shared secret is sealed under the master key like a signing key's private part,
-- with the factor id as its authenticated context. `last_step` is the RFC 6238 time
-- step of the last accepted code: a code is accepted only for a later step, in one
-- UPDATE, so a code works once however many requests race with it.
CREATE TABLE user_factors (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    factor_type   TEXT NOT NULL,
    provider      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('PENDING_ACTIVATION', 'ACTIVE')),
    secret_sealed BLOB,
    last_step     INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
-- One factor of each type and provider per user, as in Okta.
CREATE UNIQUE INDEX user_factors_one_per_type ON user_factors(user_id, factor_type, provider);

-- One-time recovery codes: only a keyed hash of each; using one marks it in one UPDATE.
CREATE TABLE recovery_codes (
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash   BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

-- What a session's sign-in proved (RFC 8176 `amr` values, a JSON list) and when a
-- second factor was last verified in it.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '["pwd"]';
ALTER TABLE sessions ADD COLUMN mfa_at INTEGER;
ALTER TABLE authorization_codes ADD COLUMN amr TEXT;
