-- Dynamic client registration (RFC 7591, RFC 7592) at /oauth2/v1/clients.
--
-- An initial access token (RFC 7591 §3) lets whoever holds it register clients: made
-- by an admin, valid until `expires_at`, for at most `max_uses` registrations. Stored
-- as the SHA-256 of its value; a registration counts a use in the same transaction
-- that inserts the client (`uses = uses + 1 WHERE uses < max_uses AND ...`).
CREATE TABLE initial_access_tokens (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    token_hash  BYTEA NOT NULL UNIQUE,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    max_uses    BIGINT NOT NULL,
    uses        BIGINT NOT NULL DEFAULT 0,
    revoked_at  BIGINT
);

-- The registration access token of a registered client (RFC 7592 §1.2): one per
-- client, stored as the SHA-256 of its value, replaced in one statement on update.
CREATE TABLE registration_tokens (
    client_id   TEXT COLLATE "C" PRIMARY KEY REFERENCES clients(client_id) ON DELETE CASCADE,
    token_hash  BYTEA NOT NULL UNIQUE,
    issued_at   BIGINT NOT NULL
);
