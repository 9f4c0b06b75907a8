-- Gatehouse schema, version 20: RFC 7662 §4's restriction of introspection, per
-- authorization server. `introspection_restricted` on: only the token's own client and
-- the clients in `resource_servers` (a JSON list of client ids, the resource servers
-- of the server's audience) learn that an access token is active. Off (the default):
-- any confidential client of the server may introspect its access tokens, as before.
ALTER TABLE authorization_servers ADD COLUMN introspection_restricted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE authorization_servers ADD COLUMN resource_servers TEXT NOT NULL DEFAULT '[]';
