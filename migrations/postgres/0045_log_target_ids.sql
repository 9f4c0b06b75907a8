-- Gatehouse schema, version 45 (PostgreSQL): nothing to change. On SQLite this version
-- replaces the FTS5 index of the System Log's target ids with a table of (target_id,
-- seq) pairs; PostgreSQL finds an id through the GIN index of migration 32 already.
SELECT 1;
