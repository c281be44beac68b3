-- 0005_trash: model protection and the trash (ARCHITECTURE §4a).
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
	model_id   TEXT    NOT NULL PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
	protected  INTEGER NOT NULL,
	reason     TEXT    NOT NULL DEFAULT '',
	updated_at INTEGER NOT NULL,
	updated_by TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE trash (
	model_id   TEXT    NOT NULL PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
	project_id TEXT    NOT NULL, -- the model's project
	deleted_at INTEGER NOT NULL,
	deleted_by TEXT    NOT NULL DEFAULT '',
	purge_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX trash_project  ON trash (project_id, deleted_at, model_id);
CREATE INDEX trash_purge_at ON trash (purge_at, model_id);

-- A trashed model counts in no project: the counter triggers of 0003 skip
-- the 'trash/…' project ids, so a move to or from the trash changes one
-- counter row, not two, and leaves no counter row behind.
DROP TRIGGER models_update_counts;
CREATE TRIGGER models_update_counts AFTER UPDATE OF project_id, status, type ON models
	WHEN OLD.project_id IS NOT NEW.project_id OR OLD.status IS NOT NEW.status OR OLD.type IS NOT NEW.type
BEGIN
	UPDATE model_counts SET n = n - 1
		WHERE project_id = OLD.project_id AND status = OLD.status AND type = OLD.type;
	INSERT INTO model_counts (project_id, status, type, n)
		SELECT NEW.project_id, NEW.status, NEW.type, 1 WHERE NEW.project_id NOT LIKE 'trash/%'
		ON CONFLICT (project_id, status, type) DO UPDATE SET n = n + 1;
END;
