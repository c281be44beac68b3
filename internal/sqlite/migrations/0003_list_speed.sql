-- 0003_list_speed: what keeps the model list fast at a million models.
--
-- * model_counts: the number of models per (project, status, type),
--   maintained by triggers in the transaction of every insert, delete and
--   status change. total_count with no filter, or with a status, type or
--   not-type filter, is a sum over at most a few dozen rows instead of a
--   count over the project's index.
-- * models_name_fts, models_description_fts: FTS5 trigram indexes, so that
--   the substring filters look up the matching models instead of scanning
--   the project. They index the text with its ASCII letters in lower case
--   (SQLite's lower() folds ASCII only) and match case-sensitively, so a
--   match is exactly what LIKE would find: ASCII case ignored, nothing else
--   folded. They are contentless (they store only the index) and keyed by
--   models.seq, a stable number of its own: rowids of a table without an
--   INTEGER PRIMARY KEY may change on VACUUM, seq never does. One table a
--   column keeps each doclist to its own column's text.
-- * The sort indexes also hold type and status: a filtered first page walks
--   a sort index until it has a page of matches, and skips a model that
--   does not match without reading its row.
-- * models_project_status: a partial index of the models that are not
--   published, so that a filter on a rare status (publishing, failed) finds
--   them without walking the project.

ALTER TABLE models ADD COLUMN seq INTEGER; -- set on insert: max(seq) + 1
UPDATE models SET seq = rowid;
-- Unique on seq; the other columns let a substring match be checked for
-- its project, sorted and counted from the index alone, the rows read only
-- for the page.
CREATE UNIQUE INDEX models_seq ON models (seq, project_id, create_at, version_key, size, id);

DROP INDEX models_project_create_at;
DROP INDEX models_project_version;
DROP INDEX models_project_size;
CREATE INDEX models_project_create_at ON models (project_id, create_at, id, type, status);
CREATE INDEX models_project_version   ON models (project_id, version_key, id, type, status);
CREATE INDEX models_project_size      ON models (project_id, size, id, type, status);

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

CREATE VIRTUAL TABLE models_name_fts USING fts5 (
	name, content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 1'
);
CREATE VIRTUAL TABLE models_description_fts USING fts5 (
	description, content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 1'
);

INSERT INTO models_name_fts (rowid, name) SELECT seq, lower(name) FROM models;
INSERT INTO models_description_fts (rowid, description) SELECT seq, lower(description) FROM models;

CREATE TRIGGER models_insert AFTER INSERT ON models BEGIN
	INSERT INTO models_name_fts (rowid, name) VALUES (NEW.seq, lower(NEW.name));
	INSERT INTO models_description_fts (rowid, description) VALUES (NEW.seq, lower(NEW.description));
	INSERT INTO model_counts (project_id, status, type, n) VALUES (NEW.project_id, NEW.status, NEW.type, 1)
		ON CONFLICT (project_id, status, type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER models_delete AFTER DELETE ON models BEGIN
	DELETE FROM models_name_fts WHERE rowid = OLD.seq;
	DELETE FROM models_description_fts WHERE rowid = OLD.seq;
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
	DELETE FROM models_name_fts WHERE rowid = OLD.seq;
	DELETE FROM models_description_fts WHERE rowid = OLD.seq;
	INSERT INTO models_name_fts (rowid, name) VALUES (NEW.seq, lower(NEW.name));
	INSERT INTO models_description_fts (rowid, description) VALUES (NEW.seq, lower(NEW.description));
END;
