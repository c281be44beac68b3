-- 0006_update_logs: the update log of each service (GET .../logs).
--
-- One row per configuration a service was given: at deploy time and by
-- each config update; result RUNNING while the service deploys it, then
-- SUCCESS or FAIL. config is the configuration then, as JSON. The rows go
-- with their service.

CREATE TABLE service_update_logs (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	service_id  text   COLLATE "C" NOT NULL REFERENCES services (id) ON DELETE CASCADE,
	update_time bigint NOT NULL,
	result      text   NOT NULL,
	cluster_id  text   NOT NULL DEFAULT '',
	config      text   NOT NULL
);

CREATE INDEX service_update_logs_service ON service_update_logs (service_id, update_time, id);

-- Services deployed before this migration get one entry: their config now.
INSERT INTO service_update_logs (service_id, update_time, result, cluster_id, config)
SELECT s.id, s.update_time,
	CASE s.status WHEN 'deploying' THEN 'RUNNING' WHEN 'failed' THEN 'FAIL' ELSE 'SUCCESS' END,
	s.cluster_id,
	COALESCE((SELECT json_agg(sm.entry::jsonb || jsonb_build_object('model_id', sm.model_id, 'model_name', m.name, 'model_version', m.version) ORDER BY sm.position)
		FROM service_models sm JOIN models m ON m.id = sm.model_id WHERE sm.service_id = s.id)::text, '[]')
FROM services s;
