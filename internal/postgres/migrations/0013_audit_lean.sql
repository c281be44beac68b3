-- 0013_audit_lean: an event row writes one index, not three (issue 14: the
-- event costs at most 15 % of a delete; every change writes one event in
-- its transaction, and with 0012 that was the heap plus the seq primary
-- key, the unique index on id and the (project_id, seq) index).
--
--  * The primary key is (project_id, seq): the trail is listed and paged per
--    project, newest first, by it.
--  * The store's event ids carry their seq (sqlstore.EventID: the last 48
--    bits), so a marker finds its row by the key: no index on id. Rows
--    written before this migration (legacy) keep a partial unique index on
--    id, which new rows never enter.
--  * Retention finds old events through a BRIN index on time: BRIN costs an
--    insert nothing until a range is summarized (by VACUUM), unlike a
--    B-tree.

ALTER TABLE audit_events ADD COLUMN legacy boolean;
UPDATE audit_events SET legacy = true;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_id_key;
DROP INDEX audit_events_project;
ALTER TABLE audit_events ADD PRIMARY KEY (project_id, seq);
CREATE UNIQUE INDEX audit_events_legacy_id ON audit_events (id) WHERE legacy;
CREATE INDEX audit_events_time ON audit_events USING brin (time);
