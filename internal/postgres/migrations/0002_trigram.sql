-- 0002_trigram: trigram indexes for the substring filters (model_name,
-- description, service_name), which ILIKE '%...%' cannot serve from a
-- b-tree.
--
-- pg_trgm ships with PostgreSQL (postgresql-contrib) and is a trusted
-- extension, so a database owner may create it. Where it cannot be created
-- (not installed, no privilege, an old pg_trgm in a schema off the
-- search_path) this migration still succeeds without the indexes: the
-- filters stay correct and scan the project's rows instead. A NOTICE says
-- so; an operator can create the extension and the indexes by hand later.

DO $$
BEGIN
	BEGIN
		CREATE EXTENSION IF NOT EXISTS pg_trgm;
		CREATE INDEX models_name_trgm        ON models   USING gin (name gin_trgm_ops);
		CREATE INDEX models_description_trgm ON models   USING gin (description gin_trgm_ops);
		CREATE INDEX services_name_trgm      ON services USING gin (name gin_trgm_ops);
	EXCEPTION WHEN OTHERS THEN
		RAISE NOTICE 'modelreg: no trigram indexes (%: %); substring filters will scan', SQLSTATE, SQLERRM;
	END;
END
$$;
