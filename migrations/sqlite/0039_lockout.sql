-- Lockout after repeated wrong passwords (Okta's password policy, `settings.password.lockout`).
--
-- Per user, the wrong passwords since the last successful sign-in. Reaching the policy's
-- `max_attempts` moves the user to LOCKED_OUT in the same statement that counts
-- (`LockoutStore::count_failed_sign_in`); the time of the lock is `status_changed_at`.
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;

-- The org's password policy: one row, the default policy, seeded off (`max_attempts` 0).
-- `auto_unlock_minutes` 0: only an admin (or a completed password reset) unlocks.
CREATE TABLE password_policies (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    description           TEXT NOT NULL,
    max_attempts          INTEGER NOT NULL DEFAULT 0 CHECK (max_attempts >= 0),
    auto_unlock_minutes   INTEGER NOT NULL DEFAULT 0 CHECK (auto_unlock_minutes >= 0),
    show_lockout_failures INTEGER NOT NULL DEFAULT 0,
    notify_email          INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);

INSERT INTO password_policies (id, name, description, max_attempts, auto_unlock_minutes,
        show_lockout_failures, notify_email, created_at, updated_at)
    VALUES ('00pPasswordDefault00', 'Default Policy',
            'The default password policy applies to every user.',
            0, 0, 0, 0, unixepoch(), unixepoch());
