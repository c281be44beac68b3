package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
)

// TestUpdateLogBackfill runs the backfill of migration 0006 over a service
// deployed before it: the service gets one entry with its config.
func TestUpdateLogBackfill(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, time.Now)
	svc := mustBackfillService(t, db)
	if _, err := db.writer.ExecContext(ctx, `DELETE FROM service_update_logs`); err != nil {
		t.Fatal(err)
	}
	src, err := migrationFS.ReadFile("migrations/0006_update_logs.sql")
	if err != nil {
		t.Fatal(err)
	}
	insert := string(src[strings.Index(string(src), "INSERT INTO service_update_logs"):])
	if _, err := db.writer.ExecContext(ctx, insert); err != nil {
		t.Fatal(err)
	}
	logs, err := db.FindServiceUpdateLogs(ctx, svc.ProjectID, svc.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || logs[0].Result != modelreg.UpdateRunning || logs[0].UpdateTime != svc.UpdateTime || len(logs[0].Config) != 1 ||
		logs[0].Config[0].ModelID != svc.Config[0].ModelID || logs[0].Config[0].ModelName != "m" || logs[0].Config[0].ModelVersion != "1.0.0" ||
		logs[0].Config[0].Specification != "modelarts.vm.cpu.2u" || logs[0].Config[0].InstanceCount != 2 {
		t.Errorf("backfilled: %+v", logs)
	}
}

// mustBackfillService stores a published model and a service deploying it.
func mustBackfillService(t *testing.T, s modelreg.Store) *modelreg.Service {
	t.Helper()
	ctx := context.Background()
	const project = "0123456789abcdef0123456789abcdef"
	ms := []*modelreg.Model{{ModelSummary: modelreg.ModelSummary{Name: "m", Version: "1.0.0", Type: "TensorFlow", ProjectID: project}}}
	if err := s.CreateModels(ctx, ms); err != nil {
		t.Fatal(err)
	}
	svc := &modelreg.Service{Name: "svc", ProjectID: project, InferType: modelreg.InferRealTime, WorkspaceID: "0",
		Config: []modelreg.ServiceConfig{{ModelID: ms[0].ID, Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 2}}}
	if err := s.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	return svc
}
