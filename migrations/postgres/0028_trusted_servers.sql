-- Okta's trusted servers (`/api/v1/authorizationServers/{id}/associatedServers`): the
-- authorization servers whose access tokens `server_id` accepts as the subject token of
-- an on-behalf-of token exchange (RFC 8693). A server always trusts itself; a row here
-- is another server. Either server's deletion removes the trust.
CREATE TABLE trusted_servers (
    server_id  TEXT NOT NULL REFERENCES authorization_servers(id) ON DELETE CASCADE,
    trusted_id TEXT NOT NULL REFERENCES authorization_servers(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (server_id, trusted_id)
);
