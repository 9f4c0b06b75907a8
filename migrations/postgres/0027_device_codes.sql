-- The device authorization grant (RFC 8628): one row per device authorization
-- request. Only SHA-256 hashes of the device code and of the (normalised) user code
-- are kept. Every transition is one statement whose WHERE is its condition:
-- PENDING -> APPROVED | DENIED at /activate, APPROVED -> REDEEMED at /token. A poll
-- records its time and, when it came sooner than `poll_interval` after the last one,
-- raises the interval by 5 seconds (RFC 8628 §3.5 slow_down) and says so in `slowed`.
CREATE TABLE device_codes (
    device_code_hash BYTEA PRIMARY KEY,
    user_code_hash   BYTEA NOT NULL UNIQUE,
    server_id        TEXT COLLATE "C" NOT NULL,
    client_id        TEXT COLLATE "C" NOT NULL,
    scope            TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'PENDING',
    poll_interval    BIGINT NOT NULL,
    last_polled_at   BIGINT,
    slowed           BOOLEAN NOT NULL DEFAULT FALSE,
    user_id          TEXT,
    auth_time        BIGINT,
    decided_at       BIGINT,
    redeemed_at      BIGINT,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL
);
-- The janitor's purge.
CREATE INDEX device_codes_expiry ON device_codes(expires_at);
