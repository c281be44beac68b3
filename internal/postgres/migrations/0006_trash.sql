-- 0006_trash: model protection and the trash (ARCHITECTURE §4a).
--
-- A trashed model keeps its row in models, and its files in model_files
-- (so its blobs stay referenced), under the project id 'trash/<model id>':
-- every ModelArts query filters by project, so the model is gone from all
-- of them, and its name and version are free in its project. trash says
-- where it came from and when it goes. A restore sets the project back, a
-- purge deletes the row like a delete without the trash.

CREATE TABLE model_protection (
	model_id   text    COLLATE "C" NOT NULL PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
	protected  boolean NOT NULL,
	reason     text    NOT NULL DEFAULT '',
	updated_at bigint  NOT NULL,
	updated_by text    NOT NULL DEFAULT ''
);

CREATE TABLE trash (
	model_id   text   COLLATE "C" NOT NULL PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
	project_id text   COLLATE "C" NOT NULL, -- the model's project
	deleted_at bigint NOT NULL,
	deleted_by text   NOT NULL DEFAULT '',
	purge_at   bigint NOT NULL
);

CREATE INDEX trash_project  ON trash (project_id, deleted_at, model_id);
CREATE INDEX trash_purge_at ON trash (purge_at, model_id);
