-- Gatehouse schema, version 40 (PostgreSQL): every change to any app (a new secret, a
-- deactivation, a new redirect URI, a deletion) also increases every authorization
-- server's `settings_version` (migration 15), in the same transaction. Apps belong to
-- the org, not to one server, so each change raises the stamp of every server. Token
-- and authorize requests read their server's row anyway; a process reuses an app's row
-- while that stamp equals the one it was read under (`flows::ClientCache`), so a change
-- made by any writer (the CLI, the API, another instance) applies to the next request
-- everywhere. App changes are rare; the settings cached under the old stamp are read
-- again once.
CREATE FUNCTION gatehouse_bump_settings_version_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER clients_bump AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_bump_settings_version_all();
