-- The console's lists and searches at scale (issue 17): every one answers from an index
-- instead of scanning the table.
--
-- eq (exact, as given) on a profile attribute or the status: (column, id), so the rows
-- come out in the page's order (by id) and a page stops after `limit` of them.
CREATE INDEX users_status_id ON users(status, id);
CREATE INDEX users_email_id ON users(email, id);
CREATE INDEX users_first_name_id ON users(first_name, id);
CREATE INDEX users_last_name_id ON users(last_name, id);
-- sw and q= (a prefix, without regard to case): a range of lower(column), which the
-- query states beside its LIKE (store::query). login_key is already lowercase.
CREATE INDEX users_login_key_lower ON users(lower(login_key));
CREATE INDEX users_email_lower ON users(lower(email));
CREATE INDEX users_first_name_lower ON users(lower(first_name));
CREATE INDEX users_last_name_lower ON users(lower(last_name));
CREATE INDEX groups_name_lower ON groups(lower(name));
CREATE INDEX clients_name_lower ON clients(lower(name));

-- co (a substring, without regard to case): FTS5's trigram tokenizer over the searchable
-- attributes, an external-content index of `users` kept in step by triggers. The query
-- asks it for the rows holding the substring (3 characters or more) and checks each
-- with the same LIKE as before, so what matches is unchanged.
CREATE VIRTUAL TABLE users_trigrams USING fts5(
    login_key, email, first_name, last_name,
    content = 'users', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO users_trigrams (rowid, login_key, email, first_name, last_name)
    SELECT rowid, login_key, email, first_name, last_name FROM users;
CREATE TRIGGER users_trigrams_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_trigrams (rowid, login_key, email, first_name, last_name)
        VALUES (new.rowid, new.login_key, new.email, new.first_name, new.last_name);
END;
CREATE TRIGGER users_trigrams_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_trigrams (users_trigrams, rowid, login_key, email, first_name, last_name)
        VALUES ('delete', old.rowid, old.login_key, old.email, old.first_name, old.last_name);
END;
CREATE TRIGGER users_trigrams_update AFTER UPDATE OF login_key, email, first_name, last_name ON users BEGIN
    INSERT INTO users_trigrams (users_trigrams, rowid, login_key, email, first_name, last_name)
        VALUES ('delete', old.rowid, old.login_key, old.email, old.first_name, old.last_name);
    INSERT INTO users_trigrams (rowid, login_key, email, first_name, last_name)
        VALUES (new.rowid, new.login_key, new.email, new.first_name, new.last_name);
END;

-- The System Log by event type, actor or target, in the page's order (by seq); the
-- dashboard's counts by type and hour read (event_type, published, outcome_result) alone.
CREATE INDEX system_log_type_seq ON system_log(event_type, seq);
CREATE INDEX system_log_actor_seq ON system_log(actor_id, seq);
CREATE INDEX system_log_type_published ON system_log(event_type, published, outcome_result);
-- target.id eq: the targets' ids are words of `target_ids`; FTS5 (unicode61, which keeps
-- an id such as 00u1a2b3 one token) finds the events naming one.
CREATE VIRTUAL TABLE system_log_targets USING fts5(
    target_ids, content = 'system_log', content_rowid = 'seq', tokenize = 'unicode61'
);
INSERT INTO system_log_targets (rowid, target_ids) SELECT seq, target_ids FROM system_log;
CREATE TRIGGER system_log_targets_insert AFTER INSERT ON system_log BEGIN
    INSERT INTO system_log_targets (rowid, target_ids) VALUES (new.seq, new.target_ids);
END;
CREATE TRIGGER system_log_targets_delete AFTER DELETE ON system_log BEGIN
    INSERT INTO system_log_targets (system_log_targets, rowid, target_ids)
        VALUES ('delete', old.seq, old.target_ids);
END;

-- The dashboard's live sessions: counted from this partial index alone (ended_at in it
-- too, or SQLite reads each row to test the condition the index already implies).
CREATE INDEX sessions_live ON sessions(expires_at, ended_at) WHERE ended_at IS NULL;
