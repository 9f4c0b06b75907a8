-- Gatehouse schema, version 40 (SQLite): every change to any app (a new secret, a
-- deactivation, a new redirect URI, a deletion) also increases every authorization
-- server's `settings_version` (migration 15), in the same transaction. Apps belong to
-- the org, not to one server, so each change raises the stamp of every server. Token
-- and authorize requests read their server's row anyway; a process reuses an app's row
-- while that stamp equals the one it was read under (`flows::ClientCache`), so a change
-- made by any writer (the CLI, the API, another instance) applies to the next request
-- everywhere. App changes are rare; the settings cached under the old stamp are read
-- again once.
CREATE TRIGGER clients_bump_insert AFTER INSERT ON clients BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
END;
CREATE TRIGGER clients_bump_update AFTER UPDATE ON clients BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
END;
CREATE TRIGGER clients_bump_delete AFTER DELETE ON clients BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
END;
