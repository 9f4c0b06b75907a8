-- Gatehouse schema, version 10 (PostgreSQL), parallel to
-- migrations/sqlite/0010_management_api.sql: API tokens, the System Log, app
-- assignments, and the user attributes Okta's user object has. (Versions 3 to 9 are
-- left to other work; the runner applies every version it lacks, in order.)

ALTER TABLE users ADD COLUMN profile_extra TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN activated_at BIGINT;
ALTER TABLE users ADD COLUMN status_changed_at BIGINT;
ALTER TABLE users ADD COLUMN password_changed_at BIGINT;
ALTER TABLE users ADD COLUMN last_login_at BIGINT;

CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    token_hash  BYTEA NOT NULL UNIQUE,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE app_user_assignments (
    client_id   TEXT COLLATE "C" NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    user_id     TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (client_id, user_id)
);
CREATE INDEX app_user_assignments_user ON app_user_assignments(user_id);

CREATE TABLE app_group_assignments (
    client_id   TEXT COLLATE "C" NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    group_id    TEXT COLLATE "C" NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    priority    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (client_id, group_id)
);

CREATE TABLE system_log (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid           TEXT NOT NULL UNIQUE,
    published      BIGINT NOT NULL,
    event_type     TEXT NOT NULL,
    outcome_result TEXT NOT NULL,
    actor_id       TEXT NOT NULL,
    target_ids     TEXT NOT NULL,
    event          TEXT NOT NULL
);
CREATE INDEX system_log_published ON system_log(published);
