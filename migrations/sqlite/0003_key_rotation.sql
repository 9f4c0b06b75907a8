-- Gatehouse schema, version 3 (SQLite): signing-key rotation. A server has one ACTIVE
-- key (it signs), one NEXT key (published, promoted at the next rotation) and RETIRED
-- keys (published until every token they signed has expired).

-- When the key became ACTIVE (its age decides automatic rotation) and when it was
-- RETIRED (its age decides how long JWKS still publishes it).
ALTER TABLE signing_keys ADD COLUMN activated_at INTEGER;
ALTER TABLE signing_keys ADD COLUMN retired_at INTEGER;
UPDATE signing_keys SET activated_at = created_at WHERE status = 'ACTIVE';
UPDATE signing_keys SET retired_at = created_at WHERE status = 'RETIRED';

-- At most one NEXT key per server, so concurrent first starts agree on it too. Earlier
-- versions never made NEXT keys; should there be several, the oldest stays.
DELETE FROM signing_keys WHERE status = 'NEXT' AND EXISTS (
    SELECT 1 FROM signing_keys older WHERE older.server_id = signing_keys.server_id
        AND older.status = 'NEXT'
        AND (older.created_at < signing_keys.created_at
             OR (older.created_at = signing_keys.created_at AND older.kid < signing_keys.kid)));
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys(server_id) WHERE status = 'NEXT';
