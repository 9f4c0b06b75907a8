-- Gatehouse schema, version 2 (SQLite): refresh tokens, groups, and each authorization
-- server's scopes, claims, access policies and rules.

-- Set once the built-in scopes, claims and policies have been written for a server,
-- so that an admin who deletes them does not see them come back at the next start.
ALTER TABLE authorization_servers ADD COLUMN seeded INTEGER NOT NULL DEFAULT 0;

-- Seconds a rotated refresh token may be presented again and get the same answer
-- (Okta's "grace period for token rotation"), 0..60.
ALTER TABLE clients ADD COLUMN refresh_token_leeway INTEGER NOT NULL DEFAULT 0;

-- The refresh-token family a code's redemption started, so a replay can revoke it.
ALTER TABLE authorization_codes ADD COLUMN family_id TEXT;

CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    -- Group names are unique without regard to case.
    name_key    TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);

CREATE TABLE scopes (
    id          TEXT PRIMARY KEY,
    server_id   TEXT NOT NULL REFERENCES authorization_servers(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    consent     TEXT NOT NULL CHECK (consent IN ('IMPLICIT', 'REQUIRED')),
    is_default  INTEGER NOT NULL DEFAULT 0,
    system      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    UNIQUE (server_id, name)
);

CREATE TABLE claims (
    id                TEXT PRIMARY KEY,
    server_id         TEXT NOT NULL REFERENCES authorization_servers(id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    claim_type        TEXT NOT NULL CHECK (claim_type IN ('IDENTITY', 'RESOURCE')),
    value_type        TEXT NOT NULL CHECK (value_type IN ('EXPRESSION', 'GROUPS')),
    value             TEXT NOT NULL,
    group_filter_type TEXT CHECK (group_filter_type IN ('STARTS_WITH', 'EQUALS', 'CONTAINS', 'REGEX')),
    scopes            TEXT NOT NULL,   -- JSON array; empty: with any scope
    status            TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    UNIQUE (server_id, name, claim_type)
);

CREATE TABLE policies (
    id          TEXT PRIMARY KEY,
    server_id   TEXT NOT NULL REFERENCES authorization_servers(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    priority    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    clients     TEXT NOT NULL,   -- JSON array of client ids, or ["ALL_CLIENTS"]
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE policy_rules (
    id                 TEXT PRIMARY KEY,
    policy_id          TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    priority           INTEGER NOT NULL,
    status             TEXT NOT NULL,
    grant_types        TEXT NOT NULL,   -- JSON array
    scopes             TEXT NOT NULL,   -- JSON array, or ["*"]
    users              TEXT NOT NULL,   -- JSON array of user ids
    groups             TEXT NOT NULL,   -- JSON array of group ids, or ["EVERYONE"]
    access_token_ttl   INTEGER NOT NULL,
    refresh_token_ttl  INTEGER,         -- NULL: unlimited
    refresh_token_idle INTEGER,         -- NULL: unlimited
    action             TEXT NOT NULL CHECK (action IN ('ALLOW', 'DENY')),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

-- One grant of offline access: every refresh token rotated from it, and when the whole
-- family was revoked (a reuse, a revocation, a replayed code).
CREATE TABLE refresh_families (
    id          TEXT PRIMARY KEY,
    server_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    scope       TEXT NOT NULL,
    auth_time   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,   -- absolute lifetime; NULL: unlimited
    last_used_at INTEGER NOT NULL,
    revoked_at  INTEGER
);

-- Refresh tokens as SHA-256 of their value. `rotated_at` is set by the one statement
-- that rotates a token; with it, the access token minted alongside, for revocation.
CREATE TABLE refresh_tokens (
    token_hash        BLOB PRIMARY KEY,
    family_id         TEXT NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
    -- The scope of the access token minted with this token (a refresh may narrow it).
    scope             TEXT NOT NULL,
    issued_at         INTEGER NOT NULL,
    idle_expires_at   INTEGER,   -- NULL: no idle limit
    rotated_at        INTEGER,
    successor_hash    BLOB,
    access_jti        TEXT,
    access_expires_at INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
