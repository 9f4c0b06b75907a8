-- Gatehouse schema, version 19: PKCE per app. `pkce_required` is Okta's
-- `settings.oauthClient.pkce_required`: /authorize refuses this app's requests without
-- a code_challenge. It is always on for public clients (set here for the existing
-- ones) and off by default for confidential ones. `pkce_allow_plain` lets a
-- confidential app use the `plain` method (off: S256 only, RFC 9700 §2.1.1).
ALTER TABLE clients ADD COLUMN pkce_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN pkce_allow_plain BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE clients SET pkce_required = TRUE WHERE auth_method = 'none';
