-- 0006_trash: model protection and the trash (ARCHITECTURE §4a).
--
-- A trashed model keeps its row in models, and its files in model_files
-- (so its blobs stay referenced), under the project id
-- 'trash/<deleted_at, 13 digits>/<model id>' (unique, and in the order of
-- deletion, so that moving a model appends to the indexes of models):
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

-- A trashed model counts in no project: the counter trigger of 0004 skips
-- the 'trash/…' project ids, so a move to or from the trash changes one
-- counter row, not two, and leaves no counter row behind.
CREATE OR REPLACE FUNCTION modelreg_count_models() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.project_id NOT LIKE 'trash/%' THEN
		INSERT INTO model_counts AS c (project_id, status, type, shard, n)
			VALUES (OLD.project_id, OLD.status, OLD.type, hashtext(OLD.id) & 15, -1)
			ON CONFLICT (project_id, status, type, shard) DO UPDATE SET n = c.n - 1;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.project_id NOT LIKE 'trash/%' THEN
		INSERT INTO model_counts AS c (project_id, status, type, shard, n)
			VALUES (NEW.project_id, NEW.status, NEW.type, hashtext(NEW.id) & 15, 1)
			ON CONFLICT (project_id, status, type, shard) DO UPDATE SET n = c.n + 1;
	END IF;
	RETURN NULL;
END
$$;
