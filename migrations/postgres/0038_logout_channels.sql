-- Logout to the apps (OpenID Connect Front-Channel Logout 1.0 and Back-Channel Logout
-- 1.0).
--
-- Per app, in the names of OpenID Connect Registration (and Okta's app shape): where the
-- browser is sent, in an iframe of the signed-out page, and where the server posts a
-- logout token; each with whether the app needs `iss` and `sid` (the session) in it.
ALTER TABLE clients ADD COLUMN frontchannel_logout_uri TEXT;
ALTER TABLE clients ADD COLUMN frontchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;

-- The session (its public id, the ID token's `sid`) a code was issued in, and a refresh
-- family was started from, so that every ID token of that grant names it.
ALTER TABLE authorization_codes ADD COLUMN sid TEXT;
ALTER TABLE refresh_families ADD COLUMN sid TEXT;

-- Which apps were issued codes in which session, by which authorization server: the
-- apps to tell when the session ends. Deleted with the session.
CREATE TABLE session_apps (
    session_hash BYTEA NOT NULL REFERENCES sessions(id_hash) ON DELETE CASCADE,
    client_id    TEXT NOT NULL,
    server_id    TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (session_hash, client_id, server_id)
);

-- Back-channel logout deliveries still owed: written in the transaction that ends the
-- session, so a crash loses none; taken by one instance at a time (`next_attempt_at`
-- moves forward when taken), deleted when the app answered 200, retried with a growing
-- delay otherwise, given up after a number of attempts.
CREATE TABLE backchannel_logout_jobs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_hash    BYTEA NOT NULL,
    client_id       TEXT NOT NULL,
    server_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_error      TEXT
);
CREATE INDEX backchannel_logout_jobs_due ON backchannel_logout_jobs (next_attempt_at);
