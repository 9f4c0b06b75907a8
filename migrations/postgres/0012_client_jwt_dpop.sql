-- Gatehouse schema, version 12 (PostgreSQL): JWT client authentication (RFC 7523), up to
-- two client secrets per app, and DPoP (RFC 9449).
--
-- Client secrets move from `clients.secret_hash` to `clients.secrets`, a JSON list of
-- {id, hash (hex of the keyed hash), sealed (hex, AES-GCM under the master key; only for
-- client_secret_jwt apps), status, created, updated}. The old column stays, always NULL.
ALTER TABLE clients ADD COLUMN secrets TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE clients
SET secrets = json_build_array(json_build_object(
        'id', 'ocs' || substr(encode(secret_hash, 'hex'), 1, 17),
        'hash', encode(secret_hash, 'hex'),
        'status', 'ACTIVE',
        'created', updated_at,
        'updated', updated_at))::text,
    secret_hash = NULL
WHERE secret_hash IS NOT NULL;

-- Single-use JWT ids (client assertions' and DPoP proofs' `jti`), by SHA-256 of
-- kind, issuer and jti; kept until the JWT could no longer be accepted.
CREATE TABLE used_jtis (
    key_hash   BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_jtis_expires_at ON used_jtis (expires_at);

-- RFC 9449 §10: a code bound to a DPoP key at /authorize (`dpop_jkt`); §5: a public
-- client's refresh tokens bound to the key that proved possession when they were issued.
ALTER TABLE authorization_codes ADD COLUMN dpop_jkt TEXT;
ALTER TABLE refresh_families ADD COLUMN dpop_jkt TEXT;
