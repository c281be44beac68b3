-- 0004_counts: the number of models per (project, status, type), so that
-- total_count with no filter, or with a status, type or not-type filter, is
-- a sum over a few rows instead of a count over the project's index.
--
-- Triggers keep it in the transaction of every insert, delete and status
-- change. Each model counts in one of 16 shards (a hash of its id), so that
-- replicas writing models of the same project and status do not all queue
-- on one counter row until they commit. A shard's n may go below zero (a
-- model counted in shard 0 when this migration ran is uncounted from its
-- own shard); only the sum over the shards means anything.

CREATE TABLE model_counts (
	project_id text     COLLATE "C" NOT NULL,
	status     text     COLLATE "C" NOT NULL,
	type       text     COLLATE "C" NOT NULL,
	shard      smallint NOT NULL,
	n          bigint   NOT NULL,
	PRIMARY KEY (project_id, status, type, shard)
);

INSERT INTO model_counts (project_id, status, type, shard, n)
	SELECT project_id, status, type, 0, count(*) FROM models GROUP BY project_id, status, type;

CREATE FUNCTION modelreg_count_models() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		INSERT INTO model_counts AS c (project_id, status, type, shard, n)
			VALUES (OLD.project_id, OLD.status, OLD.type, hashtext(OLD.id) & 15, -1)
			ON CONFLICT (project_id, status, type, shard) DO UPDATE SET n = c.n - 1;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		INSERT INTO model_counts AS c (project_id, status, type, shard, n)
			VALUES (NEW.project_id, NEW.status, NEW.type, hashtext(NEW.id) & 15, 1)
			ON CONFLICT (project_id, status, type, shard) DO UPDATE SET n = c.n + 1;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER models_count_insert AFTER INSERT OR DELETE ON models
	FOR EACH ROW EXECUTE FUNCTION modelreg_count_models();

CREATE TRIGGER models_count_update AFTER UPDATE OF project_id, status, type ON models
	FOR EACH ROW
	WHEN (OLD.project_id IS DISTINCT FROM NEW.project_id OR OLD.status IS DISTINCT FROM NEW.status
		OR OLD.type IS DISTINCT FROM NEW.type)
	EXECUTE FUNCTION modelreg_count_models();
