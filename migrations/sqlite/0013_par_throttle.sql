-- Gatehouse schema, version 13 (SQLite): pushed authorization requests (RFC 9126),
-- the per-app setting that requires them, and the brute-force counters.

-- A pushed request, stored by the SHA-256 of the random part of its request_uri; taken
-- once (DELETE ... RETURNING) by /authorize, and only by the app that pushed it to
-- this authorization server.
CREATE TABLE pushed_authorization_requests (
    id_hash     BLOB PRIMARY KEY,
    server_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    params      TEXT NOT NULL,   -- the pushed parameters, form-encoded
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests INTEGER NOT NULL DEFAULT 0;

-- One row per throttled key (a username at an address, an address, an app at an
-- address); the key holds SHA-256 hex, never the username or address itself.
CREATE TABLE auth_throttle (
    key            TEXT PRIMARY KEY,
    failures       INTEGER NOT NULL,
    last_at        INTEGER NOT NULL,
    blocked_until  INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
