-- 0001_init: the whole schema of modelreg's embedded store.
--
-- Times are milliseconds since the Unix epoch (UTC). Fields a query never
-- filters or sorts on live in JSON documents (summary, details, entry).

CREATE TABLE models (
	id             TEXT    NOT NULL PRIMARY KEY,
	project_id     TEXT    NOT NULL,
	name           TEXT    NOT NULL,
	version        TEXT    NOT NULL,
	version_key    INTEGER NOT NULL, -- modelreg.VersionKey(version), for sorting
	type           TEXT    NOT NULL,
	status         TEXT    NOT NULL,
	description    TEXT    NOT NULL DEFAULT '',
	size           INTEGER NOT NULL DEFAULT 0,
	workspace_id   TEXT    NOT NULL DEFAULT '',
	owner          TEXT    NOT NULL DEFAULT '',
	tenant         TEXT    NOT NULL DEFAULT '',
	create_at      INTEGER NOT NULL,
	update_at      INTEGER NOT NULL,
	failure_reason TEXT    NOT NULL DEFAULT '',
	config         TEXT    NOT NULL DEFAULT '', -- the model's config.json
	summary        TEXT    NOT NULL DEFAULT '{}', -- list fields without a column
	details        TEXT    NOT NULL DEFAULT '{}', -- detail fields without a column
	UNIQUE (project_id, name, version)
) STRICT;

-- One index per list sort, each ending with id so that ties are ordered.
CREATE INDEX models_project_create_at ON models (project_id, create_at, id);
CREATE INDEX models_project_version   ON models (project_id, version_key, id);
CREATE INDEX models_project_size      ON models (project_id, size, id);
-- The cascade set: the versions of one name, oldest first.
CREATE INDEX models_project_name      ON models (project_id, name, create_at, id);

CREATE TABLE model_files (
	model_id TEXT    NOT NULL REFERENCES models (id) ON DELETE CASCADE,
	path     TEXT    NOT NULL,
	digest   TEXT    NOT NULL,
	size     INTEGER NOT NULL,
	PRIMARY KEY (model_id, path)
) STRICT, WITHOUT ROWID;

CREATE INDEX model_files_digest ON model_files (digest);

CREATE TABLE import_jobs (
	model_id        TEXT    NOT NULL PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
	project_id      TEXT    NOT NULL,
	source_location TEXT    NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	lease_owner     TEXT,
	lease_until     INTEGER,
	not_before      INTEGER NOT NULL,
	last_error      TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX import_jobs_created_at ON import_jobs (created_at, model_id);

-- The outbox of blobs to remove from the blob store.
CREATE TABLE blob_gc (
	digest      TEXT    NOT NULL PRIMARY KEY,
	enqueued_at INTEGER NOT NULL,
	not_before  INTEGER NOT NULL,
	lease_owner TEXT,
	lease_until INTEGER,
	attempts    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX blob_gc_not_before ON blob_gc (not_before, digest);

CREATE TABLE services (
	id            TEXT    NOT NULL PRIMARY KEY,
	project_id    TEXT    NOT NULL,
	name          TEXT    NOT NULL,
	status        TEXT    NOT NULL,
	infer_type    TEXT    NOT NULL,
	workspace_id  TEXT    NOT NULL DEFAULT '',
	cluster_id    TEXT    NOT NULL DEFAULT '',
	description   TEXT    NOT NULL DEFAULT '',
	publish_at    INTEGER NOT NULL,
	update_time   INTEGER NOT NULL,
	transition_at INTEGER NOT NULL,
	details       TEXT    NOT NULL DEFAULT '{}',
	UNIQUE (project_id, name)
) STRICT;

CREATE INDEX services_project_publish_at ON services (project_id, publish_at, id);

-- The models a service configuration names. ON DELETE RESTRICT makes the
-- database itself refuse to delete a deployed model.
CREATE TABLE service_models (
	service_id TEXT    NOT NULL REFERENCES services (id) ON DELETE CASCADE,
	position   INTEGER NOT NULL,
	model_id   TEXT    NOT NULL REFERENCES models (id) ON DELETE RESTRICT,
	entry      TEXT    NOT NULL DEFAULT '{}', -- the config entry, as JSON
	PRIMARY KEY (service_id, position),
	UNIQUE (service_id, model_id)
) STRICT;

CREATE INDEX service_models_model ON service_models (model_id);

CREATE TABLE service_events (
	id         INTEGER NOT NULL PRIMARY KEY,
	service_id TEXT    NOT NULL REFERENCES services (id) ON DELETE CASCADE,
	occur_time INTEGER NOT NULL,
	event_type TEXT    NOT NULL,
	event_info TEXT    NOT NULL
) STRICT;

CREATE INDEX service_events_service ON service_events (service_id, occur_time, id);
