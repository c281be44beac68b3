-- 0013_list_covering: the sort indexes hold every column of a list item.
--
-- A page of models walked a sort index and then looked up each of its rows
-- in the table: a seek from the root of the table's b-tree per model, 17 %
-- of the server's CPU for a first page of 100 (the seek after an index walk
-- by descending key cannot step to the next row, it searches from the top).
-- With the list columns in the index, the page is read from the index
-- alone. The cost is space: each index entry holds the list columns (about
-- 290 bytes a model where it held 110), and a model's insert and status
-- change write that much more. The details, the config and the columns a
-- list item does not show stay in the table. See docs/decisions.md.

DROP INDEX models_project_create_at;
DROP INDEX models_project_version;
DROP INDEX models_project_size;
CREATE INDEX models_project_create_at ON models (project_id, create_at, id, type, status,
	name, version, description, size, workspace_id, owner, tenant, failure_reason, summary);
CREATE INDEX models_project_version ON models (project_id, version_key, id, type, status,
	name, version, description, size, workspace_id, owner, tenant, create_at, failure_reason, summary);
CREATE INDEX models_project_size ON models (project_id, size, id, type, status,
	name, version, description, workspace_id, owner, tenant, create_at, failure_reason, summary);
