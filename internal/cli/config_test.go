package cli

import (
	"flag"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// parseServeConfig builds the serve configuration from env and args as the
// serve command does, and validates it with wd as the working directory.
func parseServeConfig(env map[string]string, args []string, wd string) (Config, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.register(fs)
	if err := applyEnv(fs, func(k string) string { return env[k] }); err != nil {
		return cfg, err
	}
	cfg.applySecretEnv(func(k string) string { return env[k] })
	cfg.readSecrets(func(k string) string { return env[k] })
	if _, err := parseInterleaved(fs, args); err != nil {
		return cfg, err
	}
	err := cfg.Validate(func() (string, error) { return wd, nil })
	return cfg, err
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := parseServeConfig(nil, nil, "/srv/work")
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Database = "modelreg-data/modelreg.db"
	want.BlobStore = "modelreg-data/blobs"
	want.ImportRoots = []string{"/srv/work"}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if cfg.Addr != "127.0.0.1:8080" || cfg.CascadeLimit != 20 || cfg.MaxBodyBytes != 1<<20 || cfg.MaxFileSize != 20<<30 ||
		cfg.SQLiteSynchronous != "FULL" || cfg.LogFormat != "json" || cfg.LogLevel != "info" {
		t.Errorf("defaults changed: %+v", cfg)
	}
}

// TestConfigPrecedence checks defaults < environment < flags, flag by flag.
func TestConfigPrecedence(t *testing.T) {
	env := map[string]string{
		"MODELREG_ADDR":               "0.0.0.0:9000",
		"MODELREG_DATA_DIR":           "/env/data",
		"MODELREG_BLOB_STORE":         "/env/blobs",
		"MODELREG_IMPORT_ROOT":        "/env/a:/env/b",
		"MODELREG_PROJECT_ID":         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"MODELREG_CASCADE_LIMIT":      "5",
		"MODELREG_MAX_BODY_BYTES":     "2MiB",
		"MODELREG_MAX_FILE_SIZE":      "1GiB",
		"MODELREG_SQLITE_SYNCHRONOUS": "normal",
		"MODELREG_SQLITE_MODEL_CACHE": "4MiB",
		"MODELREG_LOG_FORMAT":         "text",
		"MODELREG_LOG_LEVEL":          "debug",
		"MODELREG_AUTH":               "aksk",
		"MODELREG_TOKEN_TTL":          "1h",
		"MODELREG_ACCESS_KEY":         "AKENV0000000000000001",
		"MODELREG_SECRET_KEY":         "env-secret-key-0123456789",
		"MODELREG_MASTER_KEY":         strings.Repeat("ab", 32),
		"MODELREG_TRUSTED_PROXIES":    "10.0.0.0/8, 192.168.1.1,::ffff:172.16.0.0/108",

		"MODELREG_IMPORT_WORKERS":        "3",
		"MODELREG_IMPORT_PROJECT_JOBS":   "2",
		"MODELREG_IMPORT_STALL_TIMEOUT":  "1m",
		"MODELREG_UPLOAD_PROJECT_SLOTS":  "3",
		"MODELREG_UPLOAD_MIN_RATE":       "1KiB",
		"MODELREG_UPLOAD_RATE_WINDOW":    "10s",
		"MODELREG_AUDIT_RETENTION":       "720h",
		"MODELREG_WEBHOOK_ALLOW_PRIVATE": "true",
	}
	cfg, err := parseServeConfig(env, nil, "/wd")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Addr: "0.0.0.0:9000", DataDir: "/env/data", Database: "/env/data/modelreg.db", BlobStore: "/env/blobs",
		ImportRoots: []string{"/env/a", "/env/b"}, ProjectID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", CascadeLimit: 5,
		MaxBodyBytes: 2 << 20, MaxFileSize: 1 << 30, SQLiteSynchronous: "NORMAL", SQLiteModelCache: 4 << 20, MemoryLimit: DefaultMemoryLimit, LogFormat: "text", LogLevel: "debug",
		Auth: "aksk", TokenTTL: time.Hour, AccessKey: "AKENV0000000000000001", SecretKey: "env-secret-key-0123456789",
		MasterKey: strings.Repeat("ab", 32), ShutdownTimeout: DefaultConfig().ShutdownTimeout, StagingGrace: DefaultStagingGrace,
		ReplicaConfig: DefaultConfig().ReplicaConfig,
		ImportWorkers: 3, ImportProjectJobs: 2, ImportStallTimeout: time.Minute,
		UploadProjectSlots: 3, UploadMinRate: 1 << 10, UploadRateWindow: 10 * time.Second,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32"), netip.MustParsePrefix("172.16.0.0/12")},
		AuditRetention: 720 * time.Hour, CleanupInterval: time.Hour, WebhookPrivate: true,
	}
	if diff := cmp.Diff(want, cfg, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("environment: (-want +got)\n%s", diff)
	}

	cfg, err = parseServeConfig(env, []string{
		"--addr", "127.0.0.1:0", "--data-dir", "/flag/data", "--database", "/flag/db.sqlite",
		"--import-root", "/flag/x", "--import-root=/flag/y", "--project-id", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		"--cascade-limit", "7", "--max-body-bytes", "4096", "--max-file-size", "10MB", "--sqlite-synchronous", "FULL",
		"--sqlite-model-cache", "0", "--log-format", "json", "--log-level", "warn", "--auth", "none", "--token-ttl", "2h", "--trusted-proxies", "fd00::/8",
		"--import-workers", "4", "--import-stall-timeout", "2m", "--upload-min-rate", "0",
		"--cleanup-interval", "5m", "--webhook-allow-private=false",
	}, "/wd")
	if err != nil {
		t.Fatal(err)
	}
	want = Config{
		Addr: "127.0.0.1:0", DataDir: "/flag/data", Database: "/flag/db.sqlite", BlobStore: "/env/blobs",
		ImportRoots: []string{"/flag/x", "/flag/y"}, ProjectID: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", CascadeLimit: 7,
		MaxBodyBytes: 4096, MaxFileSize: 10e6, SQLiteSynchronous: "FULL", MemoryLimit: DefaultMemoryLimit, LogFormat: "json", LogLevel: "warn",
		Auth: "none", TokenTTL: 2 * time.Hour, AccessKey: "AKENV0000000000000001", SecretKey: "env-secret-key-0123456789",
		MasterKey: strings.Repeat("ab", 32), ShutdownTimeout: DefaultConfig().ShutdownTimeout, StagingGrace: DefaultStagingGrace,
		ReplicaConfig: DefaultConfig().ReplicaConfig,
		ImportWorkers: 4, ImportProjectJobs: 2, ImportStallTimeout: 2 * time.Minute,
		UploadProjectSlots: 3, UploadMinRate: 0, UploadRateWindow: 10 * time.Second,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("fd00::/8")},
		AuditRetention: 720 * time.Hour, CleanupInterval: 5 * time.Minute,
	}
	if diff := cmp.Diff(want, cfg, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("flags: (-want +got)\n%s", diff)
	}
}

func TestConfigRelativeImportRoot(t *testing.T) {
	cfg, err := parseServeConfig(nil, []string{"--import-root", "models"}, "/wd")
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if want := filepath.Join(wd, "models"); cfg.ImportRoots[0] != want {
		t.Errorf("import root %q, want %q", cfg.ImportRoots[0], want)
	}
}

func TestConfigInvalid(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--database", "postgres://u:secret@db:notaport/modelreg"}, "Invalid PostgreSQL connection string"},
		{map[string]string{"MODELREG_DATABASE": "postgresql://db/x?sslmode=sometimes"}, nil, "--database"},
		{nil, []string{"--database", "mysql://u:secret@db"}, "want a SQLite file path or a postgres:// URL"},
		{nil, []string{"--postgres-max-conns", "-1"}, "--postgres-max-conns"},
		{nil, []string{"--postgres-query-timeout", "1ms"}, "--postgres-query-timeout"},
		{nil, []string{"--job-lease", "500ms"}, "--job-lease"},
		{map[string]string{"MODELREG_JOB_LEASE": "soon"}, nil, "MODELREG_JOB_LEASE"},
		{nil, []string{"--staging-grace", "-1h"}, "--staging-grace"},
		{nil, []string{"--request-timeout", "-1s"}, "--request-timeout"},
		{nil, []string{"--blob-store", "s3://Bucket?endpoint=minio:9000"}, "--blob-store: s3: bucket name"},
		{nil, []string{"--blob-store", "gs://bucket"}, "want a directory or an s3://"},
		{nil, []string{"--project-id", "ABCDEF"}, "--project-id"},
		{map[string]string{"MODELREG_PROJECT_ID": "0123"}, nil, "--project-id"},
		{nil, []string{"--cascade-limit", "0"}, "--cascade-limit"},
		{nil, []string{"--trash-retention", "-1h"}, "--trash-retention"},
		{map[string]string{"MODELREG_TRASH_RETENTION": "a week"}, nil, "MODELREG_TRASH_RETENTION"},
		{map[string]string{"MODELREG_CASCADE_LIMIT": "many"}, nil, "MODELREG_CASCADE_LIMIT"},
		{map[string]string{"MODELREG_MAX_FILE_SIZE": "big"}, nil, "MODELREG_MAX_FILE_SIZE"},
		{nil, []string{"--max-body-bytes", "0"}, "--max-body-bytes"},
		{nil, []string{"--sqlite-synchronous", "OFF"}, "--sqlite-synchronous"},
		{nil, []string{"--sqlite-model-cache", "2GiB"}, "--sqlite-model-cache"},
		{nil, []string{"--sqlite-model-cache", "-1"}, "sqlite-model-cache"},
		{nil, []string{"--log-format", "xml"}, "--log-format"},
		{nil, []string{"--log-level", "loud"}, "--log-level"},
		{nil, []string{"--addr", ""}, "--addr"},
		{nil, []string{"--data-dir", ""}, "--data-dir"},
		{nil, []string{"--import-root", ""}, "empty directory"},
		{nil, []string{"--auth", "basic"}, "--auth"},
		{nil, []string{"--auth", "none", "--addr", "0.0.0.0:8080"}, "--auth=none refuses"},
		{nil, []string{"--auth", "none", "--addr", ":8080"}, "--auth=none refuses"},
		{nil, []string{"--auth", "none", "--addr", "192.168.1.2:8080"}, "--auth=none refuses"},
		{nil, []string{"--auth", "none", "--addr", "example.com:8080"}, "--auth=none refuses"},
		{map[string]string{"MODELREG_AUTH": "none", "MODELREG_ADDR": "[::]:0"}, nil, "--auth=none refuses"},
		{nil, []string{"--token-ttl", "30s"}, "--token-ttl"},
		{nil, []string{"--import-workers", "0"}, "--import-workers"},
		{nil, []string{"--import-project-jobs", "0"}, "--import-project-jobs"},
		{nil, []string{"--import-stall-timeout", "10ms"}, "--import-stall-timeout"},
		{nil, []string{"--upload-project-slots", "0"}, "--upload-project-slots"},
		{nil, []string{"--upload-rate-window", "0s"}, "--upload-rate-window"},
		{map[string]string{"MODELREG_UPLOAD_MIN_RATE": "fast"}, nil, "MODELREG_UPLOAD_MIN_RATE"},
		{map[string]string{"MODELREG_ACCESS_KEY": "AKONLY00"}, nil, "MODELREG_SECRET_KEY"},
		{map[string]string{"MODELREG_ACCESS_KEY": "A K", "MODELREG_SECRET_KEY": "0123456789abcdef"}, nil, "MODELREG_ACCESS_KEY"},
		{map[string]string{"MODELREG_ACCESS_KEY": "AKOK0000", "MODELREG_SECRET_KEY": "short"}, nil, "MODELREG_SECRET_KEY"},
		{map[string]string{"MODELREG_MASTER_KEY": "not-a-key"}, nil, "MODELREG_MASTER_KEY"},
		{nil, []string{"--trusted-proxies", "10.0.0.1/8"}, "host bits set"},
		{nil, []string{"--trusted-proxies", "proxy.example"}, "not a CIDR"},
		{nil, []string{"--trusted-proxies", "10.0.0.0/33"}, "not a CIDR"},
		{nil, []string{"--trusted-proxies", ","}, "no CIDR"},
		{map[string]string{"MODELREG_TRUSTED_PROXIES": "10.0.0.0/8;10.1.0.0/16"}, nil, "MODELREG_TRUSTED_PROXIES"},
	} {
		_, err := parseServeConfig(tt.env, tt.args, "/wd")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("env %v args %q: error %v, want one containing %q", tt.env, tt.args, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("env %v args %q: error %v shows the password", tt.env, tt.args, err)
		}
	}
}

func TestConfigAuthNoneOnLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "127.1.2.3:80", "[::1]:8080", "localhost:8080"} {
		if _, err := parseServeConfig(nil, []string{"--auth", "none", "--addr", addr}, "/wd"); err != nil {
			t.Errorf("--auth=none --addr %s: %v", addr, err)
		}
	}
}

func TestEnsureProjectID(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	t.Run("Generated", func(t *testing.T) {
		dir := t.TempDir()
		id, created, err := ensureProjectID(dir, "", logger)
		if err != nil || !created || len(id) != 32 {
			t.Fatalf("got %q %v %v", id, created, err)
		}
		fi, err := os.Stat(filepath.Join(dir, ProjectIDFile))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("project file: %v %v", fi, err)
		}
		again, created, err := ensureProjectID(dir, "", logger)
		if err != nil || created || again != id {
			t.Fatalf("second start: %q %v %v, want %q", again, created, err, id)
		}
	})
	t.Run("Configured", func(t *testing.T) {
		dir := t.TempDir()
		const want = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		id, created, err := ensureProjectID(dir, want, logger)
		if err != nil || created || id != want {
			t.Fatalf("got %q %v %v", id, created, err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, ProjectIDFile))
		if strings.TrimSpace(string(b)) != want {
			t.Errorf("file holds %q", b)
		}
		// A different configured id wins but leaves the file alone.
		const other = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
		if id, _, err := ensureProjectID(dir, other, logger); err != nil || id != other {
			t.Errorf("got %q %v, want %q", id, err, other)
		}
		b, _ = os.ReadFile(filepath.Join(dir, ProjectIDFile))
		if strings.TrimSpace(string(b)) != want {
			t.Errorf("file rewritten: %q", b)
		}
	})
	t.Run("Corrupt", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, ProjectIDFile), []byte("not-an-id\n"), 0o600)
		if _, _, err := ensureProjectID(dir, "", logger); err == nil || !strings.Contains(err.Error(), "not a project id") {
			t.Errorf("error %v", err)
		}
	})
}
