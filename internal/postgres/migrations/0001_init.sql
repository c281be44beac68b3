-- 0001_init: the whole schema of modelreg's PostgreSQL store.
--
-- Times are milliseconds since the Unix epoch (UTC), as BIGINT, like the
-- SQLite store. Fields a query never filters or sorts on live in JSON
-- documents (summary, details, entry), kept as text so they come back byte
-- for byte. Every column that is sorted or compared by the API uses the "C"
-- collation: byte order, whatever the database's locale, and ILIKE folds the
-- case of ASCII letters only, which is what the SQLite store does.

CREATE TABLE models (
	id             text    COLLATE "C" NOT NULL PRIMARY KEY,
	project_id     text    COLLATE "C" NOT NULL,
	name           text    COLLATE "C" NOT NULL,
	version        text    COLLATE "C" NOT NULL,
	version_key    integer NOT NULL, -- modelreg.VersionKey(version), for sorting
	type           text    COLLATE "C" NOT NULL,
	status         text    COLLATE "C" NOT NULL,
	description    text    COLLATE "C" NOT NULL DEFAULT '',
	size           bigint  NOT NULL DEFAULT 0,
	workspace_id   text    COLLATE "C" NOT NULL DEFAULT '',
	owner          text    NOT NULL DEFAULT '',
	tenant         text    NOT NULL DEFAULT '',
	create_at      bigint  NOT NULL,
	update_at      bigint  NOT NULL,
	failure_reason text    NOT NULL DEFAULT '',
	config         text    NOT NULL DEFAULT '', -- the model's config.json
	summary        text    NOT NULL DEFAULT '{}', -- list fields without a column
	details        text    NOT NULL DEFAULT '{}', -- detail fields without a column
	CONSTRAINT models_name_version UNIQUE (project_id, name, version)
);

-- One index per list sort, each ending with id so that ties are ordered.
CREATE INDEX models_project_create_at ON models (project_id, create_at, id);
CREATE INDEX models_project_version   ON models (project_id, version_key, id);
CREATE INDEX models_project_size      ON models (project_id, size, id);
-- The cascade set: the versions of one name, oldest first.
CREATE INDEX models_project_name      ON models (project_id, name, create_at, id);

CREATE TABLE model_files (
	model_id text   COLLATE "C" NOT NULL REFERENCES models (id) ON DELETE CASCADE,
	path     text   COLLATE "C" NOT NULL,
	digest   text   COLLATE "C" NOT NULL,
	size     bigint NOT NULL,
	PRIMARY KEY (model_id, path)
);

CREATE INDEX model_files_digest ON model_files (digest);

-- Import jobs are leased rows, claimed with FOR UPDATE SKIP LOCKED.
CREATE TABLE import_jobs (
	model_id        text    COLLATE "C" NOT NULL PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
	project_id      text    COLLATE "C" NOT NULL,
	source_location text    NOT NULL,
	attempts        integer NOT NULL DEFAULT 0,
	lease_owner     text,
	lease_until     bigint,
	not_before      bigint  NOT NULL,
	last_error      text    NOT NULL DEFAULT '',
	created_at      bigint  NOT NULL
);

CREATE INDEX import_jobs_created_at ON import_jobs (created_at, model_id);

-- The outbox of blobs to remove from the blob store. Its rows are also the
-- per-digest locks of blobgc.go.
CREATE TABLE blob_gc (
	digest      text    COLLATE "C" NOT NULL PRIMARY KEY,
	enqueued_at bigint  NOT NULL,
	not_before  bigint  NOT NULL,
	lease_owner text,
	lease_until bigint,
	attempts    integer NOT NULL DEFAULT 0
);

CREATE INDEX blob_gc_not_before ON blob_gc (not_before, digest);

CREATE TABLE services (
	id            text   COLLATE "C" NOT NULL PRIMARY KEY,
	project_id    text   COLLATE "C" NOT NULL,
	name          text   COLLATE "C" NOT NULL,
	status        text   COLLATE "C" NOT NULL,
	infer_type    text   COLLATE "C" NOT NULL,
	workspace_id  text   COLLATE "C" NOT NULL DEFAULT '',
	cluster_id    text   COLLATE "C" NOT NULL DEFAULT '',
	description   text   NOT NULL DEFAULT '',
	publish_at    bigint NOT NULL,
	update_time   bigint NOT NULL,
	transition_at bigint NOT NULL,
	details       text   NOT NULL DEFAULT '{}',
	-- Also the index of the service_name sort: names are unique per project.
	CONSTRAINT services_name UNIQUE (project_id, name)
);

CREATE INDEX services_project_publish_at ON services (project_id, publish_at, id);

-- The models a service configuration names. ON DELETE RESTRICT makes the
-- database itself refuse to delete a deployed model.
CREATE TABLE service_models (
	service_id text    COLLATE "C" NOT NULL REFERENCES services (id) ON DELETE CASCADE,
	position   integer NOT NULL,
	model_id   text    COLLATE "C" NOT NULL,
	entry      text    NOT NULL DEFAULT '{}', -- the config entry, as JSON
	PRIMARY KEY (service_id, position),
	CONSTRAINT service_models_model UNIQUE (service_id, model_id),
	CONSTRAINT service_models_model_fk FOREIGN KEY (model_id) REFERENCES models (id) ON DELETE RESTRICT
);

CREATE INDEX service_models_model_id ON service_models (model_id);

CREATE TABLE service_events (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	service_id text   COLLATE "C" NOT NULL REFERENCES services (id) ON DELETE CASCADE,
	occur_time bigint NOT NULL,
	event_type text   NOT NULL,
	event_info text   NOT NULL
);

CREATE INDEX service_events_service ON service_events (service_id, occur_time, id);
