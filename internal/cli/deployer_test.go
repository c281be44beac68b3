package cli

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/deployer"
	"github.com/modelreg/modelreg/internal/sqlite"
)

func TestValidateDeployer(t *testing.T) {
	for _, tc := range []struct{ url, secret, want string }{
		{"", "", ""},
		{"", "ignored", ""},
		{"https://orch.internal/modelreg", "sixteen bytes ok", ""},
		{"https://orch.internal", "", "MODELREG_DEPLOYER_SECRET"},
		{"https://orch.internal", "short", "at least 16"},
		{"ftp://orch.internal", "sixteen bytes ok", "http(s)"},
		{"https://orch.internal/?x=1", "sixteen bytes ok", "without query"},
		{"orch.internal", "sixteen bytes ok", "http(s)"},
	} {
		c := DeployerConfig{DeployerURL: tc.url, DeployerSecret: tc.secret}
		err := c.validateDeployer()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%q %q: %v, want %q", tc.url, tc.secret, err, tc.want)
		}
	}
}

// TestOpenDeployer checks that serve turns the outbox on with --deployer
// and off without it.
func TestOpenDeployer(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms := []*modelreg.Model{{ModelSummary: modelreg.ModelSummary{Name: "m", Version: "1.0.0", Type: "TensorFlow", ProjectID: testProject}}}
	if err := db.CreateModels(ctx, ms); err != nil {
		t.Fatal(err)
	}
	deploy := func(name string) {
		t.Helper()
		s := &modelreg.Service{Name: name, ProjectID: testProject, InferType: modelreg.InferRealTime,
			Config: []modelreg.ServiceConfig{{ModelID: ms[0].ID, Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 1}}}
		if err := db.CreateService(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	pending := func() int {
		n, err := db.PendingDeployCalls(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	logger := slog.New(slog.DiscardHandler)

	cfg := DefaultConfig()
	cfg.DeployerURL, cfg.DeployerSecret = "http://127.0.0.1:1/orch", "sixteen bytes ok"
	d, secret, run, err := openDeployer(ctx, cfg, db, "owner", logger)
	if _, ok := d.(*deployer.HTTPDeployer); err != nil || !ok || string(secret) != cfg.DeployerSecret || run == nil {
		t.Fatalf("with --deployer: %T %q %v", d, secret, err)
	}
	deploy("a")
	if n := pending(); n != 1 {
		t.Errorf("with --deployer: %d calls pending, want 1", n)
	}

	d, secret, _, err = openDeployer(ctx, DefaultConfig(), db, "owner", logger)
	if _, ok := d.(*modelreg.InstantDeployer); err != nil || !ok || secret != nil {
		t.Fatalf("without --deployer: %T %q %v", d, secret, err)
	}
	deploy("b")
	if n := pending(); n != 0 {
		t.Errorf("without --deployer: %d calls pending, want 0", n)
	}
}
