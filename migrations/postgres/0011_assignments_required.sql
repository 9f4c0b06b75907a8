-- Gatehouse schema, version 11 (PostgreSQL): once an app has had an assignment, only assigned
-- users may use it, even after its last assignment is removed (a group deleted, a user
-- unassigned): an app never silently opens to everyone. An app that never had one is
-- open to every active user (the command-line quick start).
ALTER TABLE clients ADD COLUMN assignments_required BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE clients SET assignments_required = TRUE
WHERE client_id IN (SELECT client_id FROM app_user_assignments
                    UNION SELECT client_id FROM app_group_assignments);
