-- Revoking a user's refresh-token families (deactivation, a password reset, "end all
-- sessions") finds them by user: without this index that statement scans every family
-- (on SQLite, holding the write lock for the scan), a cost growing with all users'
-- tokens rather than this user's.
CREATE INDEX refresh_families_user ON refresh_families(user_id);
