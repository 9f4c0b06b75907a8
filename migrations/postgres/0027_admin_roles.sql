-- Gatehouse schema, version 27 (PostgreSQL), parallel to
-- migrations/sqlite/0027_admin_roles.sql: admin roles and the okta.* scopes granted
-- to apps (issue 17, the admin console's authorization).

CREATE TABLE admin_roles (
    id          TEXT COLLATE "C" PRIMARY KEY,
    user_id     TEXT COLLATE "C" REFERENCES users(id) ON DELETE CASCADE,
    group_id    TEXT REFERENCES groups(id) ON DELETE CASCADE,
    role        TEXT NOT NULL
                CHECK (role IN ('SUPER_ADMIN', 'ORG_ADMIN', 'APP_ADMIN', 'READ_ONLY_ADMIN')),
    created_at  BIGINT NOT NULL,
    CHECK ((user_id IS NULL) <> (group_id IS NULL)),
    UNIQUE (user_id, role),
    UNIQUE (group_id, role)
);
CREATE INDEX admin_roles_group ON admin_roles(group_id);

CREATE TABLE app_grants (
    id          TEXT COLLATE "C" PRIMARY KEY,
    client_id   TEXT COLLATE "C" NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    scope       TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (client_id, scope)
);
