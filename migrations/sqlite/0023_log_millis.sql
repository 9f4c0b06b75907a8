-- Gatehouse schema, version 21 (SQLite): the System Log's `published` in milliseconds
-- since the epoch (it was seconds), so `since` and `until` are honoured to the
-- millisecond, as Okta's. Events written before keep their whole second.
UPDATE system_log SET published = published * 1000;
