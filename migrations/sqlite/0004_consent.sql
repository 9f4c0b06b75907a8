-- Gatehouse schema, version 4 (SQLite): the scopes a user has consented to grant an app on
-- an authorization server, so the consent page is shown once per scope.

CREATE TABLE consent_grants (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    server_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id, server_id, scope)
);
