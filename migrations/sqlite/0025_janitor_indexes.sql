-- The janitor's indexes: each of its batched deletes (src/store/maintenance.rs) finds
-- the next rows to delete through an index, so a batch costs the same with ten rows
-- or ten million in the table, and never scans (nor, on SQLite, holds the write lock
-- through a scan of) the live rows it keeps.
CREATE INDEX pending_authorizations_expires_at ON pending_authorizations(expires_at);
CREATE INDEX pushed_authorization_requests_expires_at ON pushed_authorization_requests(expires_at);
CREATE INDEX auth_throttle_expires_at ON auth_throttle(expires_at);
CREATE INDEX sessions_expires_at ON sessions(expires_at);
CREATE INDEX sessions_ended_at ON sessions(ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX revoked_access_tokens_expires_at ON revoked_access_tokens(expires_at);
-- A code is purged by the later of its own expiry and its access token's: the index is
-- on that very expression (the purge's WHERE names it the same way).
CREATE INDEX authorization_codes_purge_at ON authorization_codes(MAX(expires_at, COALESCE(access_expires_at, 0)));
CREATE INDEX refresh_families_expires_at ON refresh_families(expires_at);
CREATE INDEX refresh_families_revoked_at ON refresh_families(revoked_at) WHERE revoked_at IS NOT NULL;
-- The current (unrotated) token of each family, by idle expiry; rotated tokens by the
-- time they were rotated (kept 30 days for reuse detection).
CREATE INDEX refresh_tokens_idle ON refresh_tokens(idle_expires_at) WHERE rotated_at IS NULL;
CREATE INDEX refresh_tokens_rotated_at ON refresh_tokens(rotated_at) WHERE rotated_at IS NOT NULL;
