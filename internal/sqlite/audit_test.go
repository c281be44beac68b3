package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/sqlstore"
	"github.com/modelreg/modelreg/internal/storetest"
)

// TestAuditMigrationKeepsEvents builds a database as of migration 0011 with
// events in it, opens it (applying 0012), and checks that the old events
// keep their order and ids, page by their ids (the legacy index), and that
// new events follow them with larger seqs, even after the newest old event
// is gone (the AUTOINCREMENT high-water mark becomes the floor).
func TestAuditMigrationKeepsEvents(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	if _, err := raw.ExecContext(ctx, `CREATE TABLE migrations (name TEXT NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if filepath.Base(name) >= "0012" {
			break
		}
		b, err := fs.ReadFile(migrationFS, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, string(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, 0)`, filepath.Base(name)); err != nil {
			t.Fatal(err)
		}
	}
	var old []string
	for i := range 5 {
		id := modelreg.NewEventID(time.UnixMilli(int64(1000 + i)))
		old = append([]string{id}, old...) // newest first
		if _, err := raw.ExecContext(ctx, `INSERT INTO audit_events (id, project_id, time, action, resource_type, resource_id, outcome)
			VALUES (?, 'p', ?, 'model.delete', 'model', ?, 'success')`, id, 1000+i, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	// The newest old event is gone (say, deleted by hand): its seq (5)
	// must not come back.
	if _, err := raw.ExecContext(ctx, `DELETE FROM audit_events WHERE seq = 5`); err != nil {
		t.Fatal(err)
	}
	old = old[1:]
	raw.Close()

	db := mustOpenPath(t, path, Options{})
	if got := storetest.PagedEvents(t, db, "p", 1); fmt.Sprint(got) != fmt.Sprint(old) {
		t.Fatalf("old events paged one by one = %v, want %v", got, old)
	}
	ev := modelreg.NewAuditEvent(ctx, "p", modelreg.ActionModelDelete, modelreg.ResourceModel, "new", "n")
	if err := db.update(ctx, "test", func(tx *Tx) error { return record(ctx, tx, ev) }); err != nil {
		t.Fatal(err)
	}
	if seq, _ := sqlstore.EventSeq(ev.ID); seq != 6 {
		t.Errorf("new event's seq = %d, want 6 (above the old high-water mark 5)", seq)
	}
	want := append([]string{ev.ID}, old...)
	if got := storetest.PagedEvents(t, db, "p", 2); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events paged two by two = %v, want %v", got, want)
	}
}

// TestAuditSeqSurvivesRetention: when retention removes every event, the
// next event's seq is still above every seq given before, so that a
// delivery log ordered by event seq stays in order.
func TestAuditSeqSurvivesRetention(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1_700_000_000_000)
	db := MustOpenDB(t, func() time.Time { return now })
	var last int64
	for range 3 {
		ev := modelreg.NewAuditEvent(ctx, "p", modelreg.ActionModelDelete, modelreg.ResourceModel, "m", "n")
		if err := db.update(ctx, "test", func(tx *Tx) error { return record(ctx, tx, ev) }); err != nil {
			t.Fatal(err)
		}
		last, _ = sqlstore.EventSeq(ev.ID)
	}
	if n, err := db.DeleteAuditEventsBefore(ctx, now.Add(time.Hour), 100); err != nil || n != 3 {
		t.Fatalf("DeleteAuditEventsBefore = %d, %v; want 3", n, err)
	}
	ev := modelreg.NewAuditEvent(ctx, "p", modelreg.ActionModelDelete, modelreg.ResourceModel, "m", "n")
	if err := db.update(ctx, "test", func(tx *Tx) error { return record(ctx, tx, ev) }); err != nil {
		t.Fatal(err)
	}
	if seq, _ := sqlstore.EventSeq(ev.ID); seq <= last {
		t.Errorf("seq after retention = %d, want > %d", seq, last)
	}
}

// TestHookCache: an event queues a delivery exactly when its project has a
// webhook at the time of its transaction, whatever the cache held before:
// after a create, after a delete, and after a webhook change rolled back.
func TestHookCache(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	event := func() {
		t.Helper()
		ev := modelreg.NewAuditEvent(ctx, "p", modelreg.ActionModelDelete, modelreg.ResourceModel, "m", "n")
		if err := db.update(ctx, "test", func(tx *Tx) error { return record(ctx, tx, ev) }); err != nil {
			t.Fatal(err)
		}
	}
	pending := func() int {
		t.Helper()
		n, err := db.PendingWebhookDeliveries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	event() // fills the cache: no project has webhooks
	if n := pending(); n != 0 {
		t.Fatalf("pending = %d before any webhook", n)
	}
	w := &modelreg.Webhook{ProjectID: "p", URL: "http://example.com/", Events: []string{"*"}, SecretSealed: []byte{0}}
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	select {
	case <-db.DeliveriesQueued(): // the webhook's own create event
	default:
		t.Error("no signal after a commit that queued a delivery")
	}
	event()
	if n := pending(); n != 2 {
		t.Fatalf("pending = %d after a webhook and an event, want 2 (webhook.create, model.delete)", n)
	}
	// A deletion of the webhook that rolls back: the webhook stays.
	errBoom := fmt.Errorf("boom")
	err := db.update(ctx, "test", func(tx *Tx) error {
		db.hooks.changing(tx)
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE id = ?`, w.ID); err != nil {
			return err
		}
		event := modelreg.NewAuditEvent(ctx, "p", modelreg.ActionModelDelete, modelreg.ResourceModel, "m", "n")
		if err := record(ctx, tx, event); err != nil { // reads the cache without the webhook
			return err
		}
		return errBoom
	})
	if err == nil {
		t.Fatal("rolled back update succeeded")
	}
	event()
	if n := pending(); n != 3 {
		t.Fatalf("pending = %d after a rolled back webhook delete, want 3", n)
	}
	if err := db.DeleteWebhook(ctx, "p", w.ID); err != nil {
		t.Fatal(err)
	}
	event()
	if n := pending(); n != 0 {
		t.Fatalf("pending = %d after the webhook's deletion, want 0", n)
	}
	if db.hooks.inFlight != 0 {
		t.Errorf("hooks.inFlight = %d after every transaction ended", db.hooks.inFlight)
	}
}
