-- Which identity provider signed a session in (issue 19, "Sign in with another identity
-- provider"): NULL for a sign-in at Gatehouse itself (password, passkey, sessionToken).
-- No foreign key: an identity provider deleted later leaves its sessions to expire, and
-- logout then simply does not continue to the provider.
--
-- `idp_id_token` is the provider's ID token for that sign-in, sealed with the master key
-- (the same AEAD as the signing keys, bound to the session's hash): the `id_token_hint`
-- sent to the provider's `end_session_endpoint` when the person signs out. The
-- provider's access and refresh tokens are never stored.
ALTER TABLE sessions ADD COLUMN idp_id TEXT;
ALTER TABLE sessions ADD COLUMN idp_id_token BYTEA;
