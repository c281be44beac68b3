package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
)

func TestMigrationStatus(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	if _, err := MigrationStatus(ctx, path); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
		t.Fatalf("status of a missing file: %v, want ENOTFOUND", err)
	}
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	states, err := MigrationStatus(ctx, path)
	if err != nil || len(states) == 0 {
		t.Fatalf("status: %v %v", states, err)
	}
	for _, st := range states {
		if !st.Known || !st.Applied || time.Since(st.AppliedAt) > time.Hour || st.AppliedAt.Location() != time.UTC {
			t.Errorf("state %+v, want known and applied just now", st)
		}
	}
	if _, err := db.writer.Exec(`INSERT INTO migrations (name, applied_at) VALUES ('9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	states, err = MigrationStatus(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if last := states[len(states)-1]; last.Name != "9999_future.sql" || last.Known || !last.Applied {
		t.Errorf("last state %+v, want the unknown migration, applied", last)
	}
}
