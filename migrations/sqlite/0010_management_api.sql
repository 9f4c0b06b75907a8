-- Gatehouse schema, version 10 (SQLite): the management API. API tokens, the System
-- Log, app assignments, and the user attributes Okta's user object has. (Versions 3
-- to 9 are left to other work; the runner applies every version it lacks, in order.)

-- Okta's user lifecycle timestamps, and profile attributes beyond the four columns
-- (a JSON object of strings, numbers, booleans or null).
ALTER TABLE users ADD COLUMN profile_extra TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN activated_at INTEGER;
ALTER TABLE users ADD COLUMN status_changed_at INTEGER;
ALTER TABLE users ADD COLUMN password_changed_at INTEGER;
ALTER TABLE users ADD COLUMN last_login_at INTEGER;

-- Deactivating or suspending a user ends their sessions.
CREATE INDEX sessions_user ON sessions(user_id);

-- API tokens (`Authorization: SSWS ...`) as SHA-256 of their random value.
CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    token_hash  BLOB NOT NULL UNIQUE,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

-- Which users and groups an app is assigned to.
CREATE TABLE app_user_assignments (
    client_id   TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (client_id, user_id)
);
CREATE INDEX app_user_assignments_user ON app_user_assignments(user_id);

CREATE TABLE app_group_assignments (
    client_id   TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    group_id    TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    priority    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (client_id, group_id)
);

-- The System Log: one row per event, in the order written. The columns filters use
-- are copies of fields of `event`, the event's JSON as the API returns it.
CREATE TABLE system_log (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid           TEXT NOT NULL UNIQUE,
    published      INTEGER NOT NULL,
    event_type     TEXT NOT NULL,
    outcome_result TEXT NOT NULL,
    actor_id       TEXT NOT NULL,
    -- The targets' ids, each with a space either side: ` 00u1 0oa2 `.
    target_ids     TEXT NOT NULL,
    event          TEXT NOT NULL
);
CREATE INDEX system_log_published ON system_log(published);
