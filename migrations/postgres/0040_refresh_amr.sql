-- What the sign-in behind a grant proved, kept with it so that every ID token of the
-- grant says so (OpenID Connect Core §12.2: an ID token from a refresh describes the
-- original authentication): the RFC 8176 `amr` list (JSON) and the `acr` the code's ID
-- token reported, on the code and on the refresh-token family its redemption starts.
-- NULL on rows from before: the password alone, and the level `amr` gives.
ALTER TABLE authorization_codes ADD COLUMN acr TEXT;
ALTER TABLE refresh_families ADD COLUMN amr TEXT;
ALTER TABLE refresh_families ADD COLUMN acr TEXT;
