-- Gatehouse schema, version 20 (SQLite): Okta's built-in `Everyone` group (type
-- BUILT_IN), whose members are every user: those there are now, and, by a trigger, every
-- user created later by any writer (the API, the CLI, another process). Its id is
-- fixed, so every database and the code name the same group; the management API
-- refuses to rename or delete it, or to take a user out of it.

-- A group named Everyone made before the name was reserved keeps its id, members and
-- assignments under a new name, so the built-in group can take the name.
UPDATE groups SET name = name || ' (2)', name_key = name_key || ' (2)' WHERE name_key = 'everyone';

INSERT INTO groups (id, name, name_key, description, created_at, updated_at)
VALUES ('00g0everyone00000000', 'Everyone', 'everyone', 'All users in your organization',
        CAST(strftime('%s', 'now') AS INTEGER), CAST(strftime('%s', 'now') AS INTEGER));

INSERT INTO group_members (group_id, user_id) SELECT '00g0everyone00000000', id FROM users;

CREATE TRIGGER users_join_everyone AFTER INSERT ON users BEGIN
    INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES ('00g0everyone00000000', NEW.id);
END;
