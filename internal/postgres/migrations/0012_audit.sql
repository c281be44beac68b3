-- 0007_audit: the audit trail, webhooks and their delivery outbox, cleanup
-- policies (ARCHITECTURE §4a).
--
-- Every change writes its audit_events row in its own transaction; each
-- webhook of the project that wants the action gets a webhook_deliveries
-- row in the same transaction (the outbox the senders drain with SKIP
-- LOCKED). seq orders the trail (newest first) and pages it.

CREATE TABLE audit_events (
	seq           bigserial PRIMARY KEY,
	id            text   COLLATE "C" NOT NULL UNIQUE,
	project_id    text   COLLATE "C" NOT NULL,
	time          bigint NOT NULL,
	action        text   NOT NULL,
	resource_type text   NOT NULL,
	resource_id   text   COLLATE "C" NOT NULL,
	resource_name text   NOT NULL DEFAULT '',
	outcome       text   NOT NULL,
	error_code    text   NOT NULL DEFAULT '',
	user_id       text   NOT NULL DEFAULT '',
	user_name     text   NOT NULL DEFAULT '',
	access_key    text   NOT NULL DEFAULT '',
	request_id    text   NOT NULL DEFAULT '',
	source_ip     text   NOT NULL DEFAULT '',
	details       text   NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_events_project ON audit_events (project_id, seq);

CREATE TABLE webhooks (
	id            text   COLLATE "C" NOT NULL PRIMARY KEY,
	project_id    text   COLLATE "C" NOT NULL,
	url           text   NOT NULL,
	secret_sealed bytea  NOT NULL,
	events        text   NOT NULL, -- JSON array of actions or "*"
	description   text   NOT NULL DEFAULT '',
	created_at    bigint NOT NULL,
	created_by    text   NOT NULL DEFAULT ''
);

CREATE INDEX webhooks_project ON webhooks (project_id, created_at);

CREATE TABLE webhook_deliveries (
	id              text    COLLATE "C" NOT NULL PRIMARY KEY,
	webhook_id      text    COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
	event_id        text    COLLATE "C" NOT NULL,
	event_seq       bigint  NOT NULL, -- the event's audit_events.seq: the log's order
	action          text    NOT NULL,
	payload         text    NOT NULL,
	status          text    NOT NULL,
	attempts        integer NOT NULL DEFAULT 0,
	created_at      bigint  NOT NULL,
	next_at         bigint  NOT NULL,
	last_attempt_at bigint  NOT NULL DEFAULT 0,
	last_status     integer NOT NULL DEFAULT 0,
	last_error      text    NOT NULL DEFAULT '',
	lease_owner     text,
	lease_until     bigint
);

CREATE INDEX webhook_deliveries_due  ON webhook_deliveries (status, next_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, event_seq);

CREATE TABLE cleanup_policies (
	id           text    COLLATE "C" NOT NULL PRIMARY KEY,
	project_id   text    COLLATE "C" NOT NULL,
	name_pattern text    NOT NULL,
	keep_last    integer NOT NULL,
	keep_days    integer NOT NULL,
	enabled      boolean NOT NULL,
	created_at   bigint  NOT NULL,
	updated_at   bigint  NOT NULL,
	last_run_at  bigint  NOT NULL DEFAULT 0
);

CREATE INDEX cleanup_policies_project ON cleanup_policies (project_id, created_at);
