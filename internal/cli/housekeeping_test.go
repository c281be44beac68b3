package cli

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/sqlite"
)

// TestHousekeeping runs the server's periodic jobs of issue 14 once each:
// the cleanup policies (deleting through the user's path, then skipped
// until the interval has passed) and the audit retention.
func TestHousekeeping(t *testing.T) {
	ctx := context.Background()
	now := time.Now().Add(-2 * 365 * 24 * time.Hour) // the models and events are two years old
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), sqlite.Options{Synchronous: "NORMAL",
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const project = "0123456789abcdef0123456789abcdef"
	var ms []*modelreg.Model
	for _, v := range []string{"1.0.0", "1.0.1", "1.0.2"} {
		ms = append(ms, &modelreg.Model{ModelSummary: modelreg.ModelSummary{Name: "resnet", Version: v, Type: "PyTorch", ProjectID: project}})
		now = now.Add(time.Second)
	}
	if err := db.CreateModels(ctx, ms); err != nil {
		t.Fatal(err)
	}
	p := &modelreg.CleanupPolicy{ProjectID: project, NamePattern: "res*", KeepLast: 2, Enabled: true}
	if err := db.CreateCleanupPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	off := &modelreg.CleanupPolicy{ProjectID: project, NamePattern: "*", KeepLast: 1, Enabled: false}
	if err := db.CreateCleanupPolicy(ctx, off); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	runCleanupPolicies(ctx, db, time.Hour, 0, logger)
	count := func() int {
		f := modelreg.ModelFilter{ProjectID: project}
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		_, n, err := db.FindModels(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 2 {
		t.Fatalf("%d models after the run, want 2 (the disabled policy would leave 1)", n)
	}
	evs, _, err := db.FindAuditEvents(ctx, modelreg.AuditFilter{ProjectID: project, Action: modelreg.ActionModelDelete, Limit: 10})
	if err != nil || len(evs) != 1 || evs[0].Actor.UserName != "cleanup-policy:"+p.ID {
		t.Fatalf("delete events %+v %v", evs, err)
	}
	// Ran within the interval: not again.
	m := &modelreg.Model{ModelSummary: modelreg.ModelSummary{Name: "resnet", Version: "1.0.3", Type: "PyTorch", ProjectID: project}}
	if err := db.CreateModels(ctx, []*modelreg.Model{m}); err != nil {
		t.Fatal(err)
	}
	got, _ := db.FindCleanupPolicy(ctx, project, p.ID)
	if got.LastRunAt == 0 {
		t.Fatal("last_run_at not set")
	}
	// The jobs take the store's clock (two years ago), which stamped the
	// models, events and last run: the time a policy ran and its interval
	// are measured on it.
	now = now.Add(30 * time.Minute)
	runCleanupPolicies(ctx, db, time.Hour, 0, logger)
	if n := count(); n != 3 {
		t.Fatalf("%d models, want 3: the policy ran again within its interval", n)
	}
	now = now.Add(time.Hour)
	runCleanupPolicies(ctx, db, time.Hour, 0, logger)
	if n := count(); n != 2 {
		t.Fatalf("%d models, want 2: the policy did not run once its interval had passed", n)
	}

	// Retention: two years later by the store's clock, every event is
	// older than a year.
	now = now.Add(2 * 365 * 24 * time.Hour)
	ageOutEvents(ctx, db, 365*24*time.Hour, logger)
	if evs, _, err := db.FindAuditEvents(ctx, modelreg.AuditFilter{ProjectID: project, Limit: 100}); err != nil || len(evs) != 0 {
		t.Fatalf("%d events left after the retention (%v)", len(evs), err)
	}
}
