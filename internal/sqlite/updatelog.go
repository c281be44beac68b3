package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/modelreg/modelreg"
)

// addUpdateLog records that service id (now in status) was given cfg.
func addUpdateLog(ctx context.Context, tx *Tx, id, status, clusterID string, cfg []modelreg.ServiceConfig) error {
	config, err := modelreg.EncodeUpdateConfig(cfg)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO service_update_logs (service_id, update_time, result, cluster_id, config)
		VALUES (?, ?, ?, ?, ?)`, id, tx.ms(), modelreg.UpdateLogResult(status), clusterID, config)
	return err
}

// resolveUpdateLogs ends the RUNNING entries of service id, which has just
// moved to status.
func resolveUpdateLogs(ctx context.Context, tx *Tx, id, status string) error {
	result := modelreg.ResolvedUpdateResult(status)
	if result == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE service_update_logs SET result = ? WHERE service_id = ? AND result = ?`,
		result, id, modelreg.UpdateRunning)
	return err
}

// FindServiceUpdateLogs returns a service's update log, newest first.
// Returns ENOTFOUND ModelArts.3502.
func (db *DB) FindServiceUpdateLogs(ctx context.Context, projectID, id string, updateTime int64) ([]*modelreg.ServiceUpdateLog, error) {
	var logs []*modelreg.ServiceUpdateLog
	err := db.view(ctx, "sqlite.FindServiceUpdateLogs", func(tx *Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM services WHERE id = ? AND project_id = ?`, id, projectID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return modelreg.ServiceNotFound(id)
		} else if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT update_time, result, cluster_id, config FROM service_update_logs
			WHERE service_id = ? AND (? = 0 OR update_time = ?) ORDER BY update_time DESC, id DESC LIMIT ?`,
			id, updateTime, updateTime, modelreg.MaxUpdateLogs)
		if err != nil {
			return err
		}
		defer rows.Close()
		logs = []*modelreg.ServiceUpdateLog{}
		for rows.Next() {
			l := &modelreg.ServiceUpdateLog{ExtendConfig: []any{}}
			var config string
			if err := rows.Scan(&l.UpdateTime, &l.Result, &l.ClusterID, &config); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(config), &l.Config); err != nil {
				return err
			}
			logs = append(logs, l)
		}
		return rows.Err()
	})
	return logs, err
}
