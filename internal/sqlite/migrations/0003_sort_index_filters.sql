-- 0003_sort_index_filters: the sort indexes of the model list also hold
-- type and status. A filtered first page walks a sort index until it has
-- a page of matches; with the filtered columns in the index, a model that
-- does not match is skipped without reading its row.

DROP INDEX models_project_create_at;
DROP INDEX models_project_version;
DROP INDEX models_project_size;
CREATE INDEX models_project_create_at ON models (project_id, create_at, id, type, status);
CREATE INDEX models_project_version   ON models (project_id, version_key, id, type, status);
CREATE INDEX models_project_size      ON models (project_id, size, id, type, status);
