-- Okta's policies for signing in, org-wide (not per authorization server):
--   OKTA_SIGN_ON  the global session policy: applies to the people in its groups (none
--                 listed: everyone); its rules say whether a session may be made and
--                 whether it needs a second factor.
--   ACCESS_POLICY an app's authentication policy: every app follows the one assigned to
--                 it (`app_sign_on_policies`), or the system default.
-- A rule matches by people (users/groups to include and exclude) and network zone
-- (none listed: anywhere); the first active rule that matches, by priority, decides.
-- A system policy or rule (the defaults below) cannot be deleted and always comes
-- last. The defaults keep password-only sign-in.
CREATE TABLE sign_on_policies (
    id          TEXT PRIMARY KEY,
    policy_type TEXT NOT NULL CHECK (policy_type IN ('OKTA_SIGN_ON', 'ACCESS_POLICY')),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    priority    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    system      INTEGER NOT NULL DEFAULT 0,
    groups      TEXT NOT NULL DEFAULT '[]',   -- JSON array of group ids (OKTA_SIGN_ON)
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE sign_on_rules (
    id                TEXT PRIMARY KEY,
    policy_id         TEXT NOT NULL REFERENCES sign_on_policies(id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    priority          INTEGER NOT NULL,
    status            TEXT NOT NULL,
    system            INTEGER NOT NULL DEFAULT 0,
    users_include     TEXT NOT NULL DEFAULT '[]',   -- JSON arrays of ids
    users_exclude     TEXT NOT NULL DEFAULT '[]',
    groups_include    TEXT NOT NULL DEFAULT '[]',
    groups_exclude    TEXT NOT NULL DEFAULT '[]',
    zones_include     TEXT NOT NULL DEFAULT '[]',
    zones_exclude     TEXT NOT NULL DEFAULT '[]',
    access            TEXT NOT NULL CHECK (access IN ('ALLOW', 'DENY')),
    factor_mode       TEXT NOT NULL CHECK (factor_mode IN ('1FA', '2FA')),
    possession        TEXT NOT NULL CHECK (possession IN ('ANY', 'PHISHING_RESISTANT', 'HARDWARE_PROTECTED')),
    reauthenticate_in INTEGER,                      -- seconds; NULL: as long as the session lives
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX sign_on_rules_policy ON sign_on_rules (policy_id);

-- Okta's IP network zones: gateways are CIDR blocks or ranges `a.b.c.d-e.f.g.h`.
CREATE TABLE network_zones (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    status     TEXT NOT NULL,
    gateways   TEXT NOT NULL,   -- JSON array of CIDR blocks and ranges
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The ACCESS_POLICY an app follows; no row: the system default. Deleting the policy
-- returns its apps to the default.
CREATE TABLE app_sign_on_policies (
    client_id TEXT PRIMARY KEY REFERENCES clients(client_id) ON DELETE CASCADE,
    policy_id TEXT NOT NULL REFERENCES sign_on_policies(id) ON DELETE CASCADE
);
CREATE INDEX app_sign_on_policies_policy ON app_sign_on_policies (policy_id);

INSERT INTO sign_on_policies (id, policy_type, name, description, priority, status, system,
        groups, created_at, updated_at)
    VALUES ('00pSignOnDefault0000', 'OKTA_SIGN_ON', 'Default Policy',
            'The default policy applies in all situations if no other policy applies.',
            1, 'ACTIVE', 1, '[]', unixepoch(), unixepoch()),
           ('00pAccessDefault0000', 'ACCESS_POLICY', 'Default Policy',
            'The default app authentication policy: a password is enough.',
            1, 'ACTIVE', 1, '[]', unixepoch(), unixepoch());
INSERT INTO sign_on_rules (id, policy_id, name, priority, status, system, access,
        factor_mode, possession, reauthenticate_in, created_at, updated_at)
    VALUES ('0prSignOnDefault0000', '00pSignOnDefault0000', 'Default Rule', 1, 'ACTIVE', 1,
            'ALLOW', '1FA', 'ANY', NULL, unixepoch(), unixepoch()),
           ('0prAccessDefault0000', '00pAccessDefault0000', 'Catch-all Rule', 1, 'ACTIVE', 1,
            'ALLOW', '1FA', 'ANY', NULL, unixepoch(), unixepoch());

-- Every change raises every authorization server's `settings_version` (migration 15)
-- in the writer's transaction: the authorize flow keeps these lists in its per-process
-- settings cache while that stamp is unchanged (`flows::Settings`).
CREATE TRIGGER sign_on_policies_bump_insert AFTER INSERT ON sign_on_policies BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
END;
CREATE TRIGGER sign_on_policies_bump_update AFTER UPDATE ON sign_on_policies BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
END;
CREATE TRIGGER sign_on_policies_bump_delete AFTER DELETE ON sign_on_policies BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
END;
CREATE TRIGGER sign_on_rules_bump_insert AFTER INSERT ON sign_on_rules BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
END;
CREATE TRIGGER sign_on_rules_bump_update AFTER UPDATE ON sign_on_rules BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
END;
CREATE TRIGGER sign_on_rules_bump_delete AFTER DELETE ON sign_on_rules BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
END;
CREATE TRIGGER network_zones_bump_insert AFTER INSERT ON network_zones BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
END;
CREATE TRIGGER network_zones_bump_update AFTER UPDATE ON network_zones BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
END;
CREATE TRIGGER network_zones_bump_delete AFTER DELETE ON network_zones BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
END;
CREATE TRIGGER app_sign_on_policies_bump_insert AFTER INSERT ON app_sign_on_policies BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
END;
CREATE TRIGGER app_sign_on_policies_bump_update AFTER UPDATE ON app_sign_on_policies BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
END;
CREATE TRIGGER app_sign_on_policies_bump_delete AFTER DELETE ON app_sign_on_policies BEGIN
    UPDATE authorization_servers SET settings_version = settings_version + 1;
END;
