package cli

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/auth"
	"github.com/modelreg/modelreg/internal/sqlite"
)

// TestStartAuth covers the bootstrap of serve: the first start creates and
// prints the admin key once, later starts keep it, and a key whose file
// was not renamed before a crash is recovered.
func TestStartAuth(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "modelreg.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := DefaultConfig()
	cfg.DataDir = dir
	logger := slog.New(slog.DiscardHandler)
	path := filepath.Join(dir, auth.CredentialsFile)

	var out bytes.Buffer
	if _, err := startAuth(ctx, cfg, db, testProject, &out, logger); err != nil {
		t.Fatal(err)
	}
	creds, err := auth.ReadCredentialsFile(path)
	if err != nil || creds.ProjectID != testProject || !strings.Contains(out.String(), "secret key: "+creds.SecretKey) {
		t.Fatalf("first start: %+v %v, printed %q", creds, err, out.String())
	}
	if _, err := os.Stat(path + ".new"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("credentials.new left behind: %v", err)
	}

	out.Reset()
	a, err := startAuth(ctx, cfg, db, testProject, &out, logger)
	if err != nil || out.Len() != 0 {
		t.Fatalf("second start: %v, printed %q", err, out.String())
	}
	if again, _ := auth.ReadCredentialsFile(path); again != creds {
		t.Errorf("second start changed the credentials file")
	}
	if ok, err := a.CheckCredential(ctx, creds.AccessKey, creds.SecretKey); !ok || err != nil {
		t.Errorf("the admin key does not verify: %v %v", ok, err)
	}

	// A crash between the commit and the rename.
	if err := os.Rename(path, path+".new"); err != nil {
		t.Fatal(err)
	}
	if _, err := startAuth(ctx, cfg, db, testProject, &out, logger); err != nil {
		t.Fatal(err)
	}
	if got, err := auth.ReadCredentialsFile(path); err != nil || got != creds {
		t.Errorf("not recovered: %+v %v", got, err)
	}
	// A crash before the commit left a key that does not exist.
	if err := auth.WriteCredentialsFile(path+".new", auth.FileCredentials{AccessKey: "AKNEVERCOMMITTED0000", SecretKey: "never-committed-secret"}); err != nil {
		t.Fatal(err)
	}
	if _, err := startAuth(ctx, cfg, db, testProject, &out, logger); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".new"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a stale credentials.new was kept: %v", err)
	}
	if got, _ := auth.ReadCredentialsFile(path); got != creds {
		t.Errorf("the credentials file changed: %+v", got)
	}
}

// TestModelCacheMetrics reads the model cache's metrics after a miss and a
// hit.
func TestModelCacheMetrics(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "modelreg.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg := prometheus.NewRegistry()
	if err := registerModelCacheMetrics(reg, db); err != nil {
		t.Fatal(err)
	}
	m := &modelreg.Model{ModelSummary: modelreg.ModelSummary{ProjectID: testProject, Name: "m", Version: "1.0.0", Type: "TensorFlow"}}
	if err := db.CreateModels(ctx, []*modelreg.Model{m}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := db.FindModelByID(ctx, testProject, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			got[f.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	const p = "modelreg_sqlite_model_cache_"
	if got[p+"hits_total"] != 1 || got[p+"misses_total"] != 1 || got[p+"emptied_total"] < 1 || got[p+"bytes"] <= 0 {
		t.Errorf("after a miss and a hit: %v", got)
	}
}
