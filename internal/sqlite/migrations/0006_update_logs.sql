-- 0005_update_logs: the update log of each service (GET .../logs).
--
-- One row per configuration a service was given: at deploy time and by
-- each config update; result RUNNING while the service deploys it, then
-- SUCCESS or FAIL. config is the configuration then, as JSON. The rows go
-- with their service.

CREATE TABLE service_update_logs (
	id          INTEGER NOT NULL PRIMARY KEY,
	service_id  TEXT    NOT NULL REFERENCES services (id) ON DELETE CASCADE,
	update_time INTEGER NOT NULL,
	result      TEXT    NOT NULL,
	cluster_id  TEXT    NOT NULL DEFAULT '',
	config      TEXT    NOT NULL
) STRICT;

CREATE INDEX service_update_logs_service ON service_update_logs (service_id, update_time, id);

-- Services deployed before this migration get one entry: their config now.
INSERT INTO service_update_logs (service_id, update_time, result, cluster_id, config)
SELECT s.id, s.update_time,
	CASE s.status WHEN 'deploying' THEN 'RUNNING' WHEN 'failed' THEN 'FAIL' ELSE 'SUCCESS' END,
	s.cluster_id,
	COALESCE((SELECT json_group_array(json_patch(sm.entry, json_object('model_id', sm.model_id, 'model_name', m.name, 'model_version', m.version)))
		FROM (SELECT * FROM service_models ORDER BY position) sm JOIN models m ON m.id = sm.model_id WHERE sm.service_id = s.id), '[]')
FROM services s;
