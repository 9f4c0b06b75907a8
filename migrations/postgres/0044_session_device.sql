-- Which device and address each sign-in session came from, so that a person (on the
-- account page) and an administrator (the Sessions API, the console) can tell their
-- sessions apart: the browser's User-Agent (at most 256 characters), the client's
-- address as `http::client_ip` decides it (X-Forwarded-For only from a trusted
-- proxy), and when the session was last used at /authorize (moved at most once a
-- minute). NULL on sessions from before.
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT;
