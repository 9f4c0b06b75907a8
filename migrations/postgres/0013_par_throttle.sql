-- Gatehouse schema, version 13 (PostgreSQL): pushed authorization requests (RFC 9126),
-- the per-app setting that requires them, and the brute-force counters.

-- A pushed request, stored by the SHA-256 of the random part of its request_uri; taken
-- once (DELETE ... RETURNING) by /authorize, and only by the app that pushed it to
-- this authorization server.
CREATE TABLE pushed_authorization_requests (
    id_hash     BYTEA PRIMARY KEY,
    server_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    params      TEXT NOT NULL,   -- the pushed parameters, form-encoded
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests BOOLEAN NOT NULL DEFAULT FALSE;

-- One row per throttled key (a username at an address, an address, an app at an
-- address); the key holds SHA-256 hex, never the username or address itself.
CREATE TABLE auth_throttle (
    key            TEXT COLLATE "C" PRIMARY KEY,
    failures       BIGINT NOT NULL,
    last_at        BIGINT NOT NULL,
    blocked_until  BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
