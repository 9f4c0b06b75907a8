-- Gatehouse schema, version 15 (SQLite): a version stamp per authorization server that
-- every change to its scopes, claims, policies or policy rules increases in the same
-- transaction (triggers, so no writer can forget it: the CLI, the API, another
-- instance). Token requests read the server's row anyway; a process reuses its parsed
-- settings while the row's stamp equals the one they were read under, so a policy
-- change applies to the next request on every instance.
ALTER TABLE authorization_servers ADD COLUMN settings_version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER scopes_bump_insert AFTER INSERT ON scopes BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1 WHERE id = NEW.server_id;
END;
CREATE TRIGGER scopes_bump_update AFTER UPDATE ON scopes BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1 WHERE id IN (OLD.server_id, NEW.server_id);
END;
CREATE TRIGGER scopes_bump_delete AFTER DELETE ON scopes BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1 WHERE id = OLD.server_id;
END;

CREATE TRIGGER claims_bump_insert AFTER INSERT ON claims BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1 WHERE id = NEW.server_id;
END;
CREATE TRIGGER claims_bump_update AFTER UPDATE ON claims BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1 WHERE id IN (OLD.server_id, NEW.server_id);
END;
CREATE TRIGGER claims_bump_delete AFTER DELETE ON claims BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1 WHERE id = OLD.server_id;
END;

CREATE TRIGGER policies_bump_insert AFTER INSERT ON policies BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1 WHERE id = NEW.server_id;
END;
CREATE TRIGGER policies_bump_update AFTER UPDATE ON policies BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1 WHERE id IN (OLD.server_id, NEW.server_id);
END;
CREATE TRIGGER policies_bump_delete AFTER DELETE ON policies BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1 WHERE id = OLD.server_id;
END;

-- A rule names its server through its policy. A rule deleted with its policy (ON DELETE
-- CASCADE) finds no policy any more; the policy's own trigger has bumped the stamp.
CREATE TRIGGER policy_rules_bump_insert AFTER INSERT ON policy_rules BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1
    WHERE id = (SELECT server_id FROM policies WHERE id = NEW.policy_id);
END;
CREATE TRIGGER policy_rules_bump_update AFTER UPDATE ON policy_rules BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1
    WHERE id IN (SELECT server_id FROM policies WHERE id IN (OLD.policy_id, NEW.policy_id));
END;
CREATE TRIGGER policy_rules_bump_delete AFTER DELETE ON policy_rules BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1
    WHERE id = (SELECT server_id FROM policies WHERE id = OLD.policy_id);
END;
