-- 0012_audit_lean: an event row writes fewer pages (issue 14: the event
-- costs at most 15 % of a delete). Every change writes one event in its
-- transaction; with 0011 that was four B-tree pages a commit (the table,
-- sqlite_sequence for AUTOINCREMENT, the unique index on id, the project
-- index). Now two:
--
--  * seq is a plain INTEGER PRIMARY KEY: no sqlite_sequence update. It stays
--    increasing (deliveries and markers rely on it) because the store
--    assigns 1 + the larger of MAX(seq) and audit_seq.floor, which
--    retention raises to the last seq it deletes: a read, not a write, in
--    each change's transaction.
--  * the store's event ids embed their seq (see eventID in audit.go), so a
--    marker finds its row by seq: no index on id. Rows written before this
--    migration (legacy = 1) keep a partial unique index on id, which new
--    rows (legacy NULL) never enter.

CREATE TABLE audit_seq (
	k     INTEGER PRIMARY KEY CHECK (k = 0),
	floor INTEGER NOT NULL
) STRICT;

INSERT INTO audit_seq (k, floor)
	VALUES (0, IFNULL((SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'), 0));

CREATE TABLE audit_events_new (
	seq           INTEGER PRIMARY KEY,
	id            TEXT    NOT NULL,
	project_id    TEXT    NOT NULL,
	time          INTEGER NOT NULL,
	action        TEXT    NOT NULL,
	resource_type TEXT    NOT NULL,
	resource_id   TEXT    NOT NULL,
	resource_name TEXT    NOT NULL DEFAULT '',
	outcome       TEXT    NOT NULL,
	error_code    TEXT    NOT NULL DEFAULT '',
	user_id       TEXT    NOT NULL DEFAULT '',
	user_name     TEXT    NOT NULL DEFAULT '',
	access_key    TEXT    NOT NULL DEFAULT '',
	request_id    TEXT    NOT NULL DEFAULT '',
	source_ip     TEXT    NOT NULL DEFAULT '',
	details       TEXT    NOT NULL DEFAULT '{}',
	legacy        INTEGER
) STRICT;

INSERT INTO audit_events_new (seq, id, project_id, time, action, resource_type, resource_id, resource_name,
		outcome, error_code, user_id, user_name, access_key, request_id, source_ip, details, legacy)
	SELECT seq, id, project_id, time, action, resource_type, resource_id, resource_name,
		outcome, error_code, user_id, user_name, access_key, request_id, source_ip, details, 1
	FROM audit_events;

DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;

CREATE INDEX audit_events_project ON audit_events (project_id, seq);
CREATE UNIQUE INDEX audit_events_legacy_id ON audit_events (id) WHERE legacy = 1;
