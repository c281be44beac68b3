-- 0002_list_speed: what keeps the model list fast at a million models.
--
-- * model_counts: the number of models per (project, status, type),
--   maintained by triggers in the transaction of every insert, delete and
--   status change. total_count with no filter, or with a status, type or
--   not-type filter, is a sum over at most a few dozen rows instead of a
--   count over the project's index.
-- * models_fts: an FTS5 trigram index of name and description, so that the
--   substring filters look up the matching models instead of scanning the
--   project. It is contentless (it stores only the index) and keyed by
--   models.seq, a stable number of its own: rowids of a table without an
--   INTEGER PRIMARY KEY may change on VACUUM, seq never does.
-- * models_project_status: a partial index of the models that are not
--   published, so that a filter on a rare status (publishing, failed) finds
--   them without walking the project.

ALTER TABLE models ADD COLUMN seq INTEGER; -- set on insert: max(seq) + 1
UPDATE models SET seq = rowid;
CREATE UNIQUE INDEX models_seq ON models (seq);

CREATE INDEX models_project_status ON models (project_id, status) WHERE status <> 'published';

CREATE TABLE model_counts (
	project_id TEXT    NOT NULL,
	status     TEXT    NOT NULL,
	type       TEXT    NOT NULL,
	n          INTEGER NOT NULL,
	PRIMARY KEY (project_id, status, type)
) STRICT, WITHOUT ROWID;

INSERT INTO model_counts (project_id, status, type, n)
	SELECT project_id, status, type, count(*) FROM models GROUP BY project_id, status, type;

-- case_sensitive 0 folds case as Unicode does, a superset of the ASCII-only
-- folding of LIKE: a match is always re-checked with LIKE.
CREATE VIRTUAL TABLE models_fts USING fts5 (
	name, description,
	content = '', contentless_delete = 1,
	tokenize = 'trigram case_sensitive 0'
);

INSERT INTO models_fts (rowid, name, description) SELECT seq, name, description FROM models;

CREATE TRIGGER models_insert AFTER INSERT ON models BEGIN
	INSERT INTO models_fts (rowid, name, description) VALUES (NEW.seq, NEW.name, NEW.description);
	INSERT INTO model_counts (project_id, status, type, n) VALUES (NEW.project_id, NEW.status, NEW.type, 1)
		ON CONFLICT (project_id, status, type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER models_delete AFTER DELETE ON models BEGIN
	DELETE FROM models_fts WHERE rowid = OLD.seq;
	UPDATE model_counts SET n = n - 1
		WHERE project_id = OLD.project_id AND status = OLD.status AND type = OLD.type;
END;

CREATE TRIGGER models_update_counts AFTER UPDATE OF project_id, status, type ON models
	WHEN OLD.project_id IS NOT NEW.project_id OR OLD.status IS NOT NEW.status OR OLD.type IS NOT NEW.type
BEGIN
	UPDATE model_counts SET n = n - 1
		WHERE project_id = OLD.project_id AND status = OLD.status AND type = OLD.type;
	INSERT INTO model_counts (project_id, status, type, n) VALUES (NEW.project_id, NEW.status, NEW.type, 1)
		ON CONFLICT (project_id, status, type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER models_update_fts AFTER UPDATE OF seq, name, description ON models
	WHEN OLD.seq IS NOT NEW.seq OR OLD.name IS NOT NEW.name OR OLD.description IS NOT NEW.description
BEGIN
	DELETE FROM models_fts WHERE rowid = OLD.seq;
	INSERT INTO models_fts (rowid, name, description) VALUES (NEW.seq, NEW.name, NEW.description);
END;
