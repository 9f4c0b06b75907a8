-- Request objects (RFC 9101, JAR) per app, in Okta's and RFC 9101 §10.5's names:
-- `request_object_signing_alg`, the one JWS algorithm the app's request objects must
-- use (NULL: any of its authentication method's algorithms), and
-- `require_signed_request_object`, whether /authorize and PAR refuse its requests
-- unless they come as a signed request object.
ALTER TABLE clients ADD COLUMN request_object_signing_alg TEXT;
ALTER TABLE clients ADD COLUMN require_signed_request_object BOOLEAN NOT NULL DEFAULT FALSE;
