-- The System Log from `since` (issue 17): a page's lower bound on seq is the smallest
-- seq published at or after `since` (store::log::first_seq_since), read from this
-- index alone. It replaces the index of published, whose work it does too (the purge
-- deletes oldest first through it).
CREATE INDEX system_log_published_seq ON system_log(published, seq);
DROP INDEX system_log_published;
