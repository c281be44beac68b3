package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/jackc/pgx/v5"

	"github.com/modelreg/modelreg"
)

// addUpdateLog records that service id (now in status) was given cfg.
func addUpdateLog(ctx context.Context, tx *Tx, id, status, clusterID string, cfg []modelreg.ServiceConfig) error {
	config, err := modelreg.EncodeUpdateConfig(cfg)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO service_update_logs (service_id, update_time, result, cluster_id, config)
		VALUES ($1, $2, $3, $4, $5)`, id, tx.ms(), modelreg.UpdateLogResult(status), clusterID, config)
	return err
}

// resolveUpdateLogs ends the RUNNING entries of service id, which has just
// moved to status.
func resolveUpdateLogs(ctx context.Context, tx *Tx, id, status string) error {
	result := modelreg.ResolvedUpdateResult(status)
	if result == "" {
		return nil
	}
	_, err := tx.exec(ctx, `UPDATE service_update_logs SET result = $1 WHERE service_id = $2 AND result = $3`,
		result, id, modelreg.UpdateRunning)
	return err
}

// FindServiceUpdateLogs returns a service's update log, newest first.
// Returns ENOTFOUND ModelArts.3502.
func (db *DB) FindServiceUpdateLogs(ctx context.Context, projectID, id string, updateTime int64) ([]*modelreg.ServiceUpdateLog, error) {
	var logs []*modelreg.ServiceUpdateLog
	err := db.view(ctx, "postgres.FindServiceUpdateLogs", func(tx *Tx) error {
		var one int
		err := tx.queryRow(ctx, `SELECT 1 FROM services WHERE id = $1 AND project_id = $2`, id, projectID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return modelreg.ServiceNotFound(id)
		} else if err != nil {
			return err
		}
		logs = []*modelreg.ServiceUpdateLog{}
		return tx.query(ctx, func(rows pgx.Rows) error {
			l := &modelreg.ServiceUpdateLog{ExtendConfig: []any{}}
			var config string
			if err := rows.Scan(&l.UpdateTime, &l.Result, &l.ClusterID, &config); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(config), &l.Config); err != nil {
				return err
			}
			logs = append(logs, l)
			return nil
		}, `SELECT update_time, result, cluster_id, config FROM service_update_logs
			WHERE service_id = $1 AND ($2::bigint = 0 OR update_time = $2::bigint) ORDER BY update_time DESC, id DESC LIMIT $3`,
			id, updateTime, modelreg.MaxUpdateLogs)
	})
	return logs, err
}
