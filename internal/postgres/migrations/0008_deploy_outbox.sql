-- 0007_deploy_outbox: the calls an HTTP deployer owes its orchestrator,
-- and what the orchestrator reports back.
--
-- When deploy_settings.outbox is on (modelreg serve --deployer), triggers
-- write a deploy_outbox row in the transaction of every change a user (or
-- the stop schedule) makes to a service: created, deleted, a new
-- configuration (update_time moves), stopped, started (back to
-- deploying). The statuses the orchestrator reports (running, concerning,
-- failed) write none. A worker claims the oldest row of each service,
-- tells the orchestrator the service's state now, and deletes the row.

CREATE TABLE deploy_settings (
	id     int     PRIMARY KEY CHECK (id = 1),
	outbox boolean NOT NULL DEFAULT false
);

INSERT INTO deploy_settings (id, outbox) VALUES (1, false);

CREATE TABLE deploy_outbox (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	project_id  text   COLLATE "C" NOT NULL,
	service_id  text   COLLATE "C" NOT NULL, -- no foreign key: a delete is a call too
	action      text   NOT NULL,
	attempts    int    NOT NULL DEFAULT 0,
	due_at      bigint NOT NULL DEFAULT 0,
	lease_owner text,
	lease_until bigint
);

CREATE INDEX deploy_outbox_service ON deploy_outbox (service_id, id);

CREATE FUNCTION deploy_outbox_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT (SELECT outbox FROM deploy_settings WHERE id = 1) THEN
		RETURN NULL;
	END IF;
	IF TG_OP = 'INSERT' THEN
		INSERT INTO deploy_outbox (project_id, service_id, action) VALUES (NEW.project_id, NEW.id, 'create');
	ELSIF TG_OP = 'DELETE' THEN
		INSERT INTO deploy_outbox (project_id, service_id, action) VALUES (OLD.project_id, OLD.id, 'delete');
	ELSIF NEW.status <> OLD.status AND NEW.status = 'stopped' THEN
		INSERT INTO deploy_outbox (project_id, service_id, action) VALUES (NEW.project_id, NEW.id, 'stop');
	ELSIF NEW.status <> OLD.status AND NEW.status = 'deploying' THEN
		INSERT INTO deploy_outbox (project_id, service_id, action) VALUES (NEW.project_id, NEW.id, 'start');
	ELSIF NEW.update_time <> OLD.update_time THEN
		INSERT INTO deploy_outbox (project_id, service_id, action) VALUES (NEW.project_id, NEW.id, 'update');
	END IF;
	RETURN NULL;
END;
$$;

CREATE TRIGGER deploy_outbox_record AFTER INSERT OR DELETE OR UPDATE OF status, update_time ON services
	FOR EACH ROW EXECUTE FUNCTION deploy_outbox_record();

-- The latest monitoring figures the orchestrator reported, per service.
CREATE TABLE service_monitors (
	service_id text COLLATE "C" PRIMARY KEY REFERENCES services (id) ON DELETE CASCADE,
	figures    text NOT NULL -- JSON array of modelreg.ModelMonitor
);
