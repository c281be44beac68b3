package cli

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/sqlite"
)

// TestStopDueServices runs the server's scheduler loop on a real store: a
// running service with a stop schedule is stopped once its due time has
// come, and the loop ends with its context.
func TestStopDueServices(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "modelreg.db"), sqlite.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := &modelreg.Model{ModelSummary: modelreg.ModelSummary{ProjectID: "p", Name: "m", Version: "1.0.0", Type: "PyTorch"}}
	if err := db.CreateModels(ctx, []*modelreg.Model{m}); err != nil {
		t.Fatal(err)
	}
	s := &modelreg.Service{ProjectID: "p", Name: "svc", InferType: modelreg.InferRealTime,
		Schedule: []modelreg.Schedule{{Type: "stop", TimeUnit: "MINUTES", Duration: 1}},
		Config:   []modelreg.ServiceConfig{{ModelID: m.ID, Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 1}}}
	if err := db.CreateService(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := db.TransitionService(ctx, "p", s.ID, modelreg.ServiceDeploying, modelreg.ServiceRunning, modelreg.ServiceEvent{EventInfo: "up"}); err != nil {
		t.Fatal(err)
	}

	loopCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- stopDueServices(loopCtx, db, time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	status := func() string {
		got, err := db.FindServiceByID(ctx, "p", s.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status
	}
	// Rounds run while the clock stands before the due time: nothing stops.
	for range 20 {
		if st := status(); st != modelreg.ServiceRunning {
			t.Fatalf("stopped before its due time: %s", st)
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for status() != modelreg.ServiceStopped {
		if time.Now().After(deadline) {
			t.Fatal("the service was not stopped at its due time")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("the loop ended with %v, want nil", err)
	}
}
