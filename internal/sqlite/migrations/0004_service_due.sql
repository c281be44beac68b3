-- 0004_service_due: when a running service stops by itself.
--
-- due_at is the due_time of a running service with a stop schedule (ms
-- since the epoch), 0 otherwise; the server stops the services whose due_at
-- has come (StopDueServices), found through the partial index.

ALTER TABLE services ADD COLUMN due_at INTEGER NOT NULL DEFAULT 0;

CREATE INDEX services_due ON services (due_at) WHERE due_at > 0;
