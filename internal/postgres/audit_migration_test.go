package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/sqlstore"
	"github.com/modelreg/modelreg/internal/storetest"
)

// TestAuditMigrationKeepsEvents builds a database as of migration 0012 with
// events in it, opens it (applying 0013), and checks that the old events
// keep their order and ids and page by their ids (the legacy index), that a
// new event carries its seq in its id and follows them, and that retention
// still removes the old ones by time.
func TestAuditMigrationKeepsEvents(t *testing.T) {
	ctx := context.Background()
	dsn := mustSchema(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE `+migrationTable+` (
		name text COLLATE "C" NOT NULL PRIMARY KEY, applied_at bigint NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	names, err := migrationNames()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if name >= "0013" {
			break
		}
		if err := migrateFile(ctx, conn, name, time.Now); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var old []string
	for i := range 5 {
		id := modelreg.NewEventID(time.UnixMilli(int64(1000 + i)))
		old = append([]string{id}, old...) // newest first
		if _, err := conn.Exec(ctx, `INSERT INTO audit_events (id, project_id, time, action, resource_type, resource_id, outcome)
			VALUES ($1, 'p', $2, 'model.delete', 'model', $3, 'success')`, id, 1000+i, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(ctx)

	db := mustOpen(t, dsn, Options{})
	if got := storetest.PagedEvents(t, db, "p", 1); fmt.Sprint(got) != fmt.Sprint(old) {
		t.Fatalf("old events paged one by one = %v, want %v", got, old)
	}
	ev := modelreg.NewAuditEvent(ctx, "p", modelreg.ActionModelDelete, modelreg.ResourceModel, "new", "n")
	if err := db.update(ctx, "test", func(tx *Tx) error { return record(ctx, tx, ev) }); err != nil {
		t.Fatal(err)
	}
	if seq, ok := sqlstore.EventSeq(ev.ID); !ok || seq <= 5 || !modelreg.ValidID(ev.ID) {
		t.Errorf("new event's id %q carries seq %d, want a valid id with a seq above the old ones", ev.ID, seq)
	}
	want := append([]string{ev.ID}, old...)
	if got := storetest.PagedEvents(t, db, "p", 2); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events paged two by two = %v, want %v", got, want)
	}
	// Retention by time: the three events before 1003, two at a time.
	total := 0
	for {
		n, err := db.DeleteAuditEventsBefore(ctx, time.UnixMilli(1003), 2)
		if err != nil {
			t.Fatal(err)
		}
		if total += n; n < 2 {
			break
		}
	}
	if total != 3 {
		t.Errorf("retention removed %d events, want 3", total)
	}
	if got := storetest.PagedEvents(t, db, "p", 1); fmt.Sprint(got) != fmt.Sprint(want[:3]) {
		t.Errorf("after retention = %v, want %v", got, want[:3])
	}
}
