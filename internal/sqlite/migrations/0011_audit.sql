-- 0006_audit: the audit trail, webhooks and their delivery outbox, cleanup
-- policies (ARCHITECTURE §4a).
--
-- Every change writes its audit_events row in its own transaction; each
-- webhook of the project that wants the action gets a webhook_deliveries
-- row in the same transaction (the outbox the sender drains). seq orders
-- the trail (newest first) and pages it.

CREATE TABLE audit_events (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	id            TEXT    NOT NULL UNIQUE,
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
	details       TEXT    NOT NULL DEFAULT '{}'
) STRICT;

CREATE INDEX audit_events_project ON audit_events (project_id, seq);

CREATE TABLE webhooks (
	id            TEXT    NOT NULL PRIMARY KEY,
	project_id    TEXT    NOT NULL,
	url           TEXT    NOT NULL,
	secret_sealed BLOB    NOT NULL,
	events        TEXT    NOT NULL, -- JSON array of actions or "*"
	description   TEXT    NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL,
	created_by    TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX webhooks_project ON webhooks (project_id, created_at);

CREATE TABLE webhook_deliveries (
	id              TEXT    NOT NULL PRIMARY KEY,
	webhook_id      TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
	event_id        TEXT    NOT NULL,
	event_seq       INTEGER NOT NULL, -- the event's audit_events.seq: the log's order
	action          TEXT    NOT NULL,
	payload         TEXT    NOT NULL,
	status          TEXT    NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	next_at         INTEGER NOT NULL,
	last_attempt_at INTEGER NOT NULL DEFAULT 0,
	last_status     INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	lease_owner     TEXT,
	lease_until     INTEGER
) STRICT;

CREATE INDEX webhook_deliveries_due  ON webhook_deliveries (status, next_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, event_seq);

CREATE TABLE cleanup_policies (
	id           TEXT    NOT NULL PRIMARY KEY,
	project_id   TEXT    NOT NULL,
	name_pattern TEXT    NOT NULL,
	keep_last    INTEGER NOT NULL,
	keep_days    INTEGER NOT NULL,
	enabled      INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	last_run_at  INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX cleanup_policies_project ON cleanup_policies (project_id, created_at);
