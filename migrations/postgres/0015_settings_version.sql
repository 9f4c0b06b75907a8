-- Gatehouse schema, version 15 (PostgreSQL): a version stamp per authorization server
-- that every change to its scopes, claims, policies or policy rules increases in the
-- same transaction (triggers, so no writer can forget it: the CLI, the API, another
-- instance). Token requests read the server's row anyway; a process reuses its parsed
-- settings while the row's stamp equals the one they were read under, so a policy
-- change applies to the next request on every instance.
ALTER TABLE authorization_servers ADD COLUMN settings_version BIGINT NOT NULL DEFAULT 0;

-- For scopes, claims and policies: the row names its server.
CREATE FUNCTION gatehouse_bump_settings_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE authorization_servers SET settings_version = settings_version + 1 WHERE id = OLD.server_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE authorization_servers SET settings_version = settings_version + 1 WHERE id = NEW.server_id;
    END IF;
    RETURN NULL;
END
$$;

-- For policy rules: the server through the policy. A rule deleted with its policy (ON
-- DELETE CASCADE) may find no policy any more; the policy's own trigger bumped the stamp.
CREATE FUNCTION gatehouse_bump_settings_version_rule() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE authorization_servers SET settings_version = settings_version + 1
        WHERE id = (SELECT server_id FROM policies WHERE id = OLD.policy_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE authorization_servers SET settings_version = settings_version + 1
        WHERE id = (SELECT server_id FROM policies WHERE id = NEW.policy_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER scopes_bump AFTER INSERT OR UPDATE OR DELETE ON scopes
    FOR EACH ROW EXECUTE FUNCTION gatehouse_bump_settings_version();
CREATE TRIGGER claims_bump AFTER INSERT OR UPDATE OR DELETE ON claims
    FOR EACH ROW EXECUTE FUNCTION gatehouse_bump_settings_version();
CREATE TRIGGER policies_bump AFTER INSERT OR UPDATE OR DELETE ON policies
    FOR EACH ROW EXECUTE FUNCTION gatehouse_bump_settings_version();
CREATE TRIGGER policy_rules_bump AFTER INSERT OR UPDATE OR DELETE ON policy_rules
    FOR EACH ROW EXECUTE FUNCTION gatehouse_bump_settings_version_rule();
