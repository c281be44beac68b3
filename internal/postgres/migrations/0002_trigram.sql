-- 0002_trigram: trigram indexes for the substring filters (model_name,
-- description, service_name), which ILIKE '%...%' cannot serve from a
-- b-tree.
--
-- pg_trgm ships with PostgreSQL (postgresql-contrib) and is a trusted
-- extension, so a database owner may create it; where a DBA installed it
-- already, in any schema, it is used from there. Where it cannot be had
-- (not installed, no privilege), this migration still succeeds, without the
-- indexes: the filters stay correct and scan the project's rows instead. A
-- WARNING says so; an operator can create the extension and the three
-- indexes below by hand later.

DO $$
DECLARE
	ext_schema name;
BEGIN
	BEGIN
		CREATE EXTENSION IF NOT EXISTS pg_trgm;
		SELECT extnamespace::regnamespace::name INTO ext_schema FROM pg_extension WHERE extname = 'pg_trgm';
		EXECUTE format('CREATE INDEX models_name_trgm ON models USING gin (name %I.gin_trgm_ops)', ext_schema);
		EXECUTE format('CREATE INDEX models_description_trgm ON models USING gin (description %I.gin_trgm_ops)', ext_schema);
		EXECUTE format('CREATE INDEX services_name_trgm ON services USING gin (name %I.gin_trgm_ops)', ext_schema);
	EXCEPTION WHEN OTHERS THEN
		RAISE WARNING 'modelreg: no trigram indexes (%: %); substring filters will scan', SQLSTATE, SQLERRM;
	END;
END
$$;
