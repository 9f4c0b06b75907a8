-- Upstream identity providers ("Sign in with …"), Okta's Identity Providers API:
--   identity_providers      an upstream OpenID Connect or OAuth 2.0 provider: its
--                           endpoints, Gatehouse's client there (the secret sealed under
--                           the master key), and the policies for the people it sends;
--   idp_users               linked identities: (provider, upstream `sub`) → user;
--   idp_transactions        one row per redirect to a provider, taken once by the
--                           callback (`DELETE ... RETURNING`), purged by the janitor;
--   idp_discovery_policies  Okta's IDP_DISCOVERY policy (one, org-wide) and
--   idp_discovery_rules     its rules: which provider a typed username routes to.
CREATE TABLE identity_providers (
    id                     TEXT COLLATE "C" PRIMARY KEY,
    -- OIDC, OAUTH2; presets (GOOGLE, MICROSOFT, GITHUB) may be added without a migration.
    idp_type               TEXT NOT NULL,
    name                   TEXT NOT NULL UNIQUE,
    status                 TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
    issuer                 TEXT,                 -- NULL for plain OAuth 2.0
    authorization_endpoint TEXT NOT NULL,
    token_endpoint         TEXT NOT NULL,
    userinfo_endpoint      TEXT,
    jwks_uri               TEXT,
    end_session_endpoint   TEXT,
    scopes                 TEXT NOT NULL,        -- JSON array
    client_id              TEXT NOT NULL,
    client_secret_sealed   BYTEA,                 -- AES-256-GCM under the master key
    token_auth_method      TEXT NOT NULL CHECK (token_auth_method IN
                               ('client_secret_post', 'client_secret_basic', 'private_key_jwt')),
    signing_alg            TEXT,                 -- private_key_jwt: the org server's key of this alg
    pkce                   BOOLEAN NOT NULL DEFAULT TRUE,
    max_clock_skew_ms      BIGINT NOT NULL DEFAULT 0,
    provisioning_action    TEXT NOT NULL CHECK (provisioning_action IN ('AUTO', 'DISABLED')),
    profile_master         BOOLEAN NOT NULL DEFAULT FALSE,
    groups_action          TEXT NOT NULL CHECK (groups_action IN ('NONE', 'APPEND', 'SYNC', 'ASSIGN')),
    groups_source_attribute TEXT,
    groups_filter          TEXT NOT NULL DEFAULT '[]',   -- JSON array of group ids
    groups_assignments     TEXT NOT NULL DEFAULT '[]',   -- JSON array of group ids
    account_link_action    TEXT NOT NULL CHECK (account_link_action IN ('AUTO', 'DISABLED')),
    account_link_groups    TEXT NOT NULL DEFAULT '[]',   -- JSON array of group ids
    username_template      TEXT NOT NULL,
    match_type             TEXT NOT NULL CHECK (match_type IN
                               ('USERNAME', 'EMAIL', 'USERNAME_OR_EMAIL', 'CUSTOM_ATTRIBUTE')),
    match_attribute        TEXT,
    profile_mapping        TEXT NOT NULL DEFAULT '[]',   -- JSON [{"field","expression"}]
    end_upstream_session   BOOLEAN NOT NULL DEFAULT FALSE,
    button_label           TEXT,
    button_color           TEXT,
    logo_url               TEXT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);
CREATE INDEX identity_providers_name ON identity_providers (lower(name));

-- One upstream identity is one user; a user has at most one identity per provider.
CREATE TABLE idp_users (
    idp_id      TEXT COLLATE "C" NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,                  -- the upstream `sub`
    user_id     TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    profile     TEXT NOT NULL DEFAULT '{}',     -- JSON: the upstream profile last seen
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (idp_id, external_id),
    UNIQUE (idp_id, user_id)
);
CREATE INDEX idp_users_user ON idp_users (user_id);

-- The PKCE verifier is kept as is: it is worth nothing without the code, which only
-- the browser's return from the provider carries, and the client's credentials.
CREATE TABLE idp_transactions (
    state_hash    BYTEA PRIMARY KEY,             -- SHA-256 of `state`
    idp_id        TEXT NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
    nonce         TEXT NOT NULL,
    code_verifier TEXT,
    redirect_uri  TEXT NOT NULL,
    pending_id    TEXT,                         -- the pending /authorize request to resume
    return_to     TEXT,                         -- or a local address to return to
    login_hint    TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX idp_transactions_expires ON idp_transactions (expires_at);

-- Ids use COLLATE "C" (byte order, as SQLite sorts): lists page by id.

-- Okta's IdP discovery policy: org-wide, one (seeded below). Its rules route by the
-- typed username (`userIdentifier.patterns`), network zone and app; the first active
-- rule that matches, by priority, names the providers (`[{"type":"OKTA"}]`: password).
CREATE TABLE idp_discovery_policies (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    priority    BIGINT NOT NULL,
    status      TEXT NOT NULL,
    system      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE idp_discovery_rules (
    id                TEXT COLLATE "C" PRIMARY KEY,
    policy_id         TEXT NOT NULL REFERENCES idp_discovery_policies(id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    priority          BIGINT NOT NULL,
    status            TEXT NOT NULL,
    system            BOOLEAN NOT NULL DEFAULT FALSE,
    identifier_type   TEXT NOT NULL DEFAULT 'IDENTIFIER' CHECK (identifier_type IN ('IDENTIFIER', 'ATTRIBUTE')),
    identifier_attribute TEXT,
    patterns          TEXT NOT NULL DEFAULT '[]',   -- JSON [{"matchType","value"}]
    zones_include     TEXT NOT NULL DEFAULT '[]',   -- JSON arrays of ids
    zones_exclude     TEXT NOT NULL DEFAULT '[]',
    apps_include      TEXT NOT NULL DEFAULT '[]',   -- client ids
    apps_exclude      TEXT NOT NULL DEFAULT '[]',
    providers         TEXT NOT NULL,                -- JSON [{"type","id"}]
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX idp_discovery_rules_policy ON idp_discovery_rules (policy_id);

INSERT INTO idp_discovery_policies (id, name, description, priority, status, system,
        created_at, updated_at)
    VALUES ('00pIdpDiscovery00000', 'Idp Discovery Policy',
            'Routes a typed username to an identity provider; by default, to a password.',
            1, 'ACTIVE', TRUE, extract(epoch from now())::bigint, extract(epoch from now())::bigint);
INSERT INTO idp_discovery_rules (id, policy_id, name, priority, status, system, providers,
        created_at, updated_at)
    VALUES ('0prIdpDiscovery00000', '00pIdpDiscovery00000', 'Default Rule', 1, 'ACTIVE', TRUE,
            '[{"type":"OKTA"}]', extract(epoch from now())::bigint, extract(epoch from now())::bigint);

-- Providers and routing are read by the authorize and sign-in flows from the settings
-- cache while every server's `settings_version` is unchanged: each change raises it in
-- the writer's transaction (as migration 35's tables do).
CREATE TRIGGER identity_providers_bump AFTER INSERT OR UPDATE OR DELETE ON identity_providers
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_bump_settings_version_all();
CREATE TRIGGER idp_discovery_policies_bump AFTER INSERT OR UPDATE OR DELETE ON idp_discovery_policies
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_bump_settings_version_all();
CREATE TRIGGER idp_discovery_rules_bump AFTER INSERT OR UPDATE OR DELETE ON idp_discovery_rules
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_bump_settings_version_all();
