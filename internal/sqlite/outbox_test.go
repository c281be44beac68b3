package sqlite

import (
	"context"
	"testing"
	"time"
)

// TestReleaseDeployLeases: a server starting on the SQLite file of one that
// died makes the calls the dead one had claimed, without waiting for the
// leases to run out.
func TestReleaseDeployLeases(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, time.Now)
	if err := db.SetDeployOutbox(ctx, true); err != nil {
		t.Fatal(err)
	}
	svc := mustBackfillService(t, db) // updatelog_test.go
	if cs, err := db.ClaimDeployCalls(ctx, "dead", time.Hour, 10); err != nil || len(cs) != 1 {
		t.Fatalf("ClaimDeployCalls = %v, %v", cs, err)
	}
	if err := db.ReleaseAllLeases(ctx); err != nil {
		t.Fatal(err)
	}
	cs, err := db.ClaimDeployCalls(ctx, "alive", time.Hour, 10)
	if err != nil || len(cs) != 1 || cs[0].ServiceID != svc.ID || cs[0].Attempts != 2 {
		t.Errorf("ClaimDeployCalls after release = %+v, %v", cs, err)
	}
}
