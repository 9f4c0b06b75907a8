-- Gatehouse schema, version 11 (SQLite): once an app has had an assignment, only assigned
-- users may use it, even after its last assignment is removed (a group deleted, a user
-- unassigned): an app never silently opens to everyone. An app that never had one is
-- open to every active user (the command-line quick start).
ALTER TABLE clients ADD COLUMN assignments_required INTEGER NOT NULL DEFAULT 0;
UPDATE clients SET assignments_required = 1
WHERE client_id IN (SELECT client_id FROM app_user_assignments
                    UNION SELECT client_id FROM app_group_assignments);
