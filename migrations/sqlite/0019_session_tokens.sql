-- Okta's sessionToken (the classic Authentication API, /api/v1/authn): a one-time,
-- short-lived proof that the user just entered their password, redeemed at
-- /authorize or /login/sessionCookieRedirect for a session. Only its SHA-256 is kept;
-- redeeming deletes the row in one statement, so it works once.
CREATE TABLE session_tokens (
    token_hash  BLOB PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_time   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX session_tokens_expiry ON session_tokens(expires_at);
