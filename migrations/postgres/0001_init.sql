-- Gatehouse schema, version 1 (PostgreSQL). The same tables and columns as
-- migrations/sqlite/0001_init.sql, so the two stores stay parallel: times are Unix
-- seconds (BIGINT), hashes and sealed keys BYTEA, list columns JSON text, flags
-- BOOLEAN. Codes, session ids and pending-request ids are stored as SHA-256 of their
-- random value; client secrets as a keyed hash; private keys encrypted (AES-256-GCM)
-- under the master key.
--
-- Ids that lists are ordered by use COLLATE "C": byte order, as SQLite sorts, whatever
-- the database's locale.

CREATE TABLE authorization_servers (
    id               TEXT COLLATE "C" PRIMARY KEY,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    -- NULL: the access-token audience is the issuer (the org server, as Okta's).
    audience         TEXT,
    access_token_ttl BIGINT NOT NULL DEFAULT 3600,
    id_token_ttl     BIGINT NOT NULL DEFAULT 3600,
    -- RFC 9068 header `typ: at+jwt`; some older verifiers reject it.
    access_token_typ_at_jwt BOOLEAN NOT NULL DEFAULT TRUE,
    signing_alg      TEXT NOT NULL DEFAULT 'RS256',
    status           TEXT NOT NULL DEFAULT 'ACTIVE',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid           TEXT PRIMARY KEY,
    server_id     TEXT COLLATE "C" NOT NULL REFERENCES authorization_servers(id) ON DELETE CASCADE,
    alg           TEXT NOT NULL,
    public_jwk    TEXT NOT NULL,
    private_key   BYTEA NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('NEXT', 'ACTIVE', 'RETIRED')),
    created_at    BIGINT NOT NULL
);
-- At most one signing key per server: concurrent first starts cannot both win.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys(server_id) WHERE status = 'ACTIVE';

CREATE TABLE users (
    id            TEXT COLLATE "C" PRIMARY KEY,
    login         TEXT NOT NULL,
    -- Logins are unique without regard to case, as Okta's are. The store lowercases
    -- in Rust (not with lower(), whose result depends on the database's locale), so
    -- both backends agree on which logins collide.
    login_key     TEXT NOT NULL UNIQUE,
    email         TEXT,
    first_name    TEXT,
    last_name     TEXT,
    password_hash TEXT,
    status        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE clients (
    client_id     TEXT COLLATE "C" PRIMARY KEY,
    name          TEXT NOT NULL,
    secret_hash   BYTEA,
    auth_method   TEXT NOT NULL,
    application_type TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,              -- JSON array of exact strings
    post_logout_redirect_uris TEXT NOT NULL,  -- JSON array
    grant_types   TEXT NOT NULL,              -- JSON array
    response_types TEXT NOT NULL,             -- JSON array
    status        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    id_hash     BYTEA PRIMARY KEY,
    user_id     TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_time   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    ended_at    BIGINT
);

-- An /authorize request waiting for the user to sign in; taken once.
CREATE TABLE pending_authorizations (
    id_hash     BYTEA PRIMARY KEY,
    request     TEXT NOT NULL,   -- JSON of the validated request
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE authorization_codes (
    code_hash      BYTEA PRIMARY KEY,
    server_id      TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    code_challenge_method TEXT,
    auth_time      BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    -- Set by the one statement that redeems the code; with it, the `jti` of the
    -- access token minted, so that a replay can revoke it.
    redeemed_at    BIGINT,
    access_jti     TEXT,
    access_expires_at BIGINT
);

-- Access tokens revoked before their expiry (RFC 7009 deny list), kept until `expires_at`.
CREATE TABLE revoked_access_tokens (
    jti         TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
