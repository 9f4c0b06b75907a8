-- Gatehouse schema, version 17: a row version for apps, so the management API's
-- read-modify-write operations (secret rotation, activate/deactivate, PUT) update only
-- the row they read (optimistic concurrency): a stale write is refused, never applied
-- over a concurrent one (a deactivated secret brought back, a created one lost).
ALTER TABLE clients ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
