package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
)

// TestUpdateLogBackfill runs the backfill of migration 0007 over a service
// deployed before it: the service gets one entry with its config.
func TestUpdateLogBackfill(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, time.Now)
	const project = "0123456789abcdef0123456789abcdef"
	ms := []*modelreg.Model{{ModelSummary: modelreg.ModelSummary{Name: "m", Version: "1.0.0", Type: "TensorFlow", ProjectID: project}}}
	if err := db.CreateModels(ctx, ms); err != nil {
		t.Fatal(err)
	}
	svc := &modelreg.Service{Name: "svc", ProjectID: project, InferType: modelreg.InferRealTime, WorkspaceID: "0",
		Config: []modelreg.ServiceConfig{{ModelID: ms[0].ID, Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 2}}}
	if err := db.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM service_update_logs`); err != nil {
		t.Fatal(err)
	}
	src, err := migrationFS.ReadFile("migrations/0007_update_logs.sql")
	if err != nil {
		t.Fatal(err)
	}
	insert := string(src[strings.Index(string(src), "INSERT INTO service_update_logs"):])
	if _, err := db.pool.Exec(ctx, insert); err != nil {
		t.Fatal(err)
	}
	logs, err := db.FindServiceUpdateLogs(ctx, project, svc.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || logs[0].Result != modelreg.UpdateRunning || logs[0].UpdateTime != svc.UpdateTime || len(logs[0].Config) != 1 ||
		logs[0].Config[0].ModelID != ms[0].ID || logs[0].Config[0].ModelName != "m" || logs[0].Config[0].ModelVersion != "1.0.0" ||
		logs[0].Config[0].Specification != "modelarts.vm.cpu.2u" || logs[0].Config[0].InstanceCount != 2 {
		t.Errorf("backfilled: %+v", logs)
	}
}
