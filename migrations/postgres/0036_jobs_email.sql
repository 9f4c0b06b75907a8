-- The durable job queue (`src/jobs/`): work done after a request, outside it (e-mail),
-- kept in the database so a crash or a restart loses nothing. A job is QUEUED until a
-- worker finishes it (the row is deleted) or gives up on it (DEAD, kept until
-- `run_at`, then purged by the janitor).
--
-- `run_at` is when a QUEUED job may next be claimed. Claiming sets it to the end of
-- the claimer's lease and `claim` to the claimer's random token, in one statement, so
-- a job whose worker died is claimed again once the lease runs out, and only the
-- current claimer can finish, retry or bury it. `payload` is sealed with the master
-- key (an e-mail may carry a single-use link).
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload BYTEA NOT NULL,
    status TEXT NOT NULL DEFAULT 'QUEUED',
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_at BIGINT NOT NULL,
    claim TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX jobs_status_run_at ON jobs (status, run_at);

-- E-mail links (`flows::email_links`): a password reset, an activation, an address
-- to confirm. Only the SHA-256 of the link's 256-bit random token is kept; a link is
-- used by one `DELETE` that finds it unexpired, so it works once. Issuing a link
-- deletes the user's earlier ones of the same purpose, so only the newest works.
CREATE TABLE user_tokens (
    token_hash BYTEA PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose);
CREATE INDEX user_tokens_expires ON user_tokens (expires_at);

-- The address the user proved they receive mail at (a confirmation link, a reset or
-- an activation link followed). `email_verified` is true while it equals `email`, so
-- a changed address is unverified until it is confirmed in turn.
ALTER TABLE users ADD COLUMN verified_email TEXT;
