-- The console's lists and searches at scale (issue 17): every one answers from an index
-- instead of scanning the table.
--
-- eq (exact, as given) on a profile attribute or the status: (column, id), so the rows
-- come out in the page's order (by id) and a page stops after `limit` of them.
CREATE INDEX users_status_id ON users(status, id);
CREATE INDEX users_email_id ON users(email, id);
CREATE INDEX users_first_name_id ON users(first_name, id);
CREATE INDEX users_last_name_id ON users(last_name, id);
-- sw and q= (a prefix, without regard to case): a range of lower(column) in byte order
-- (COLLATE "C", so that every string with the prefix lies in the range whatever the
-- database's collation), which the query states beside its LIKE (store::query).
CREATE INDEX users_login_key_lower ON users((lower(login_key) COLLATE "C"));
CREATE INDEX users_email_lower ON users((lower(email) COLLATE "C"));
CREATE INDEX users_first_name_lower ON users((lower(first_name) COLLATE "C"));
CREATE INDEX users_last_name_lower ON users((lower(last_name) COLLATE "C"));
CREATE INDEX groups_name_lower ON groups((lower(name) COLLATE "C"));
CREATE INDEX clients_name_lower ON clients((lower(name) COLLATE "C"));

-- co (a substring, without regard to case): pg_trgm's GIN index serves the same
-- `lower(column) LIKE '%...%'` the query already has. pg_trgm ships with PostgreSQL
-- (contrib) and is a trusted extension (13+): the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_login_key_trgm ON users USING gin (lower(login_key) gin_trgm_ops);
CREATE INDEX users_email_trgm ON users USING gin (lower(email) gin_trgm_ops);
CREATE INDEX users_first_name_trgm ON users USING gin (lower(first_name) gin_trgm_ops);
CREATE INDEX users_last_name_trgm ON users USING gin (lower(last_name) gin_trgm_ops);

-- The System Log by event type, actor or target, in the page's order (by seq); the
-- dashboard's counts by type and hour read (event_type, published, outcome_result) alone.
CREATE INDEX system_log_type_seq ON system_log(event_type, seq);
CREATE INDEX system_log_actor_seq ON system_log(actor_id, seq);
CREATE INDEX system_log_type_published ON system_log(event_type, published, outcome_result);
-- target.id eq (`target_ids LIKE '% id %'`): trigrams of the targets' ids.
CREATE INDEX system_log_targets_trgm ON system_log USING gin (target_ids gin_trgm_ops);

-- The dashboard's live sessions: counted from this partial index alone.
CREATE INDEX sessions_live ON sessions(expires_at) WHERE ended_at IS NULL;
