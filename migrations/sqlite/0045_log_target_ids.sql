-- Gatehouse schema, version 45 (SQLite): the System Log's target ids as a table of
-- (target_id, seq) pairs, one per target of each event, for `target.id eq`
-- (store::query, Tokens::Words). It replaces the FTS5 index of migration 31: FTS5
-- wrote a segment of its own at every commit and merged them as they piled up, 7 % of
-- the server's CPU in a sign-in under load (bench/RESULTS.md, 2026-12-07); a pair is one
-- entry of one B-tree. It also finds an id exactly, as PostgreSQL's array index does
-- (FTS5's unicode61 folded case and split an id at its punctuation).
CREATE TABLE system_log_target_ids (
    target_id TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (target_id, seq)
) WITHOUT ROWID;

-- `target_ids` is ` id1 id2 `, ids holding no whitespace: json_quote escapes what JSON
-- must (quotes, backslashes, control characters) and never a space, so replacing each
-- space of the quoted list with `","` makes a JSON array of the ids, which json_each
-- reads back unescaped. OR IGNORE: an event may name one target twice.
CREATE TRIGGER system_log_target_ids_insert AFTER INSERT ON system_log BEGIN
    INSERT OR IGNORE INTO system_log_target_ids (target_id, seq)
        SELECT value, new.seq
        FROM json_each('[' || replace(json_quote(trim(new.target_ids)), ' ', '","') || ']')
        WHERE value <> '';
END;
CREATE TRIGGER system_log_target_ids_delete AFTER DELETE ON system_log BEGIN
    DELETE FROM system_log_target_ids
    WHERE seq = old.seq AND target_id IN (SELECT value
        FROM json_each('[' || replace(json_quote(trim(old.target_ids)), ' ', '","') || ']'));
END;
INSERT OR IGNORE INTO system_log_target_ids (target_id, seq)
    SELECT j.value, l.seq
    FROM system_log l,
        json_each('[' || replace(json_quote(trim(l.target_ids)), ' ', '","') || ']') j
    WHERE j.value <> '';

DROP TRIGGER system_log_targets_insert;
DROP TRIGGER system_log_targets_delete;
DROP TABLE system_log_targets;
