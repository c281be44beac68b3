-- 0006_deploy_outbox: the calls an HTTP deployer owes its orchestrator,
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
	id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	outbox INTEGER NOT NULL DEFAULT 0
) STRICT;

INSERT INTO deploy_settings (id, outbox) VALUES (1, 0);

CREATE TABLE deploy_outbox (
	id          INTEGER NOT NULL PRIMARY KEY,
	project_id  TEXT    NOT NULL,
	service_id  TEXT    NOT NULL, -- no foreign key: a delete is a call too
	action      TEXT    NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	due_at      INTEGER NOT NULL DEFAULT 0,
	lease_owner TEXT,
	lease_until INTEGER
) STRICT;

CREATE INDEX deploy_outbox_service ON deploy_outbox (service_id, id);

CREATE TRIGGER deploy_outbox_create AFTER INSERT ON services
WHEN (SELECT outbox FROM deploy_settings WHERE id = 1)
BEGIN
	INSERT INTO deploy_outbox (project_id, service_id, action) VALUES (NEW.project_id, NEW.id, 'create');
END;

CREATE TRIGGER deploy_outbox_update AFTER UPDATE OF status, update_time ON services
WHEN (SELECT outbox FROM deploy_settings WHERE id = 1)
	AND (NEW.update_time <> OLD.update_time OR (NEW.status <> OLD.status AND NEW.status IN ('stopped', 'deploying')))
BEGIN
	INSERT INTO deploy_outbox (project_id, service_id, action) VALUES (NEW.project_id, NEW.id,
		CASE WHEN NEW.status <> OLD.status AND NEW.status = 'stopped' THEN 'stop'
		     WHEN NEW.status <> OLD.status AND NEW.status = 'deploying' THEN 'start'
		     ELSE 'update' END);
END;

CREATE TRIGGER deploy_outbox_delete AFTER DELETE ON services
WHEN (SELECT outbox FROM deploy_settings WHERE id = 1)
BEGIN
	INSERT INTO deploy_outbox (project_id, service_id, action) VALUES (OLD.project_id, OLD.id, 'delete');
END;

-- The latest monitoring figures the orchestrator reported, per service.
CREATE TABLE service_monitors (
	service_id TEXT NOT NULL PRIMARY KEY REFERENCES services (id) ON DELETE CASCADE,
	figures    TEXT NOT NULL -- JSON array of modelreg.ModelMonitor
) STRICT;
