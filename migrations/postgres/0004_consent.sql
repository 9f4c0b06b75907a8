-- Gatehouse schema, version 4 (PostgreSQL): the scopes a user has consented to grant an app on
-- an authorization server, so the consent page is shown once per scope.

CREATE TABLE consent_grants (
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    server_id  TEXT NOT NULL,
    scope      TEXT COLLATE "C" NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id, server_id, scope)
);
