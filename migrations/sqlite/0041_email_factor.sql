-- E-mail one-time codes as a second factor (Okta's factorType `email`, provider
-- `OKTA`). The factor keeps the address the codes go to (Okta's `profile.email`).
ALTER TABLE user_factors ADD COLUMN email TEXT;

-- The one outstanding code of a factor for one purpose (`binding`: the SHA-256 of the
-- sign-in step's transaction, or of a fixed label for activation and the Factors
-- API). Only a keyed hash of the code is kept. Sending again replaces the row, and
-- only once `created_at` is old enough (the resend throttle), in one statement;
-- using a code sets `used_at` in one UPDATE whose WHERE is the condition (unused,
-- unexpired, this hash), so a code works once.
CREATE TABLE factor_codes (
    factor_id   TEXT NOT NULL REFERENCES user_factors(id) ON DELETE CASCADE,
    binding     BLOB NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash   BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    PRIMARY KEY (factor_id, binding)
);
CREATE INDEX factor_codes_expiry ON factor_codes(expires_at);
