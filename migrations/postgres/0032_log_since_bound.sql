-- The System Log from `since` (issue 17): a page's lower bound on seq is the smallest
-- seq published at or after `since` (store::log::first_seq_since), read from this
-- index alone. It replaces the index of published, whose work it does too (the purge
-- deletes oldest first through it).
CREATE INDEX system_log_published_seq ON system_log(published, seq);
DROP INDEX system_log_published;

-- target.id eq: the targets' ids as an array of words, so the query asks for the events
-- whose array holds the id (`@>`, store::query) beside its LIKE: an exact lookup of one
-- id, where the trigrams of an id shared with a million others (`00u…`) read long
-- posting lists (55–110 ms at 2,000,000 events). It replaces the trigram index.
CREATE INDEX system_log_target_words ON system_log
    USING gin (string_to_array(btrim(target_ids), ' '));
DROP INDEX system_log_targets_trgm;
