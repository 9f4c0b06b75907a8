-- Gatehouse schema, version 27 (SQLite): admin roles and the okta.* scopes granted to
-- apps (issue 17, the admin console's authorization).

-- Okta's admin role assignments: a role (SUPER_ADMIN, ORG_ADMIN, APP_ADMIN,
-- READ_ONLY_ADMIN) granted to one user or one group, never both. Deleting the user or
-- the group deletes what was granted to it.
CREATE TABLE admin_roles (
    id          TEXT PRIMARY KEY,
    user_id     TEXT REFERENCES users(id) ON DELETE CASCADE,
    group_id    TEXT REFERENCES groups(id) ON DELETE CASCADE,
    role        TEXT NOT NULL
                CHECK (role IN ('SUPER_ADMIN', 'ORG_ADMIN', 'APP_ADMIN', 'READ_ONLY_ADMIN')),
    created_at  INTEGER NOT NULL,
    CHECK ((user_id IS NULL) <> (group_id IS NULL)),
    UNIQUE (user_id, role),
    UNIQUE (group_id, role)
);
CREATE INDEX admin_roles_group ON admin_roles(group_id);

-- Okta's app grants (`/api/v1/apps/{appId}/grants`): the okta.* scopes of the org
-- server an app may be given.
CREATE TABLE app_grants (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (client_id, scope)
);
