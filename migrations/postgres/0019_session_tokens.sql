-- Okta's sessionToken (the classic Authentication API, /api/v1/authn): a one-time,
-- short-lived proof that the user just entered their password, redeemed at
-- /authorize or /login/sessionCookieRedirect for a session. Only its SHA-256 is kept;
-- redeeming deletes the row in one statement, so it works once.
CREATE TABLE session_tokens (
    token_hash  BYTEA PRIMARY KEY,
    user_id     TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_time   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX session_tokens_expiry ON session_tokens(expires_at);
