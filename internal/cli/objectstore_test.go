package cli

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestConfigObjectStore checks the object-storage settings: flags and
// environment, and the credentials read from the environment only.
func TestConfigObjectStore(t *testing.T) {
	env := map[string]string{
		"MODELREG_BLOB_STORE":           "s3://models/prod?endpoint=minio:9000&insecure=true",
		"MODELREG_SOURCE_ENDPOINT":      "obs.cn-north-4.myhuaweicloud.com",
		"MODELREG_SOURCE_REGION":        "cn-north-4",
		"MODELREG_SOURCE_INSECURE":      "true",
		"MODELREG_SOURCE_STYLE":         "virtual",
		"MODELREG_STAGING_GRACE":        "2h",
		"MODELREG_SOURCE_ACCESS_KEY":    "AK",
		"MODELREG_SOURCE_SECRET_KEY":    "SK",
		"MODELREG_SOURCE_SESSION_TOKEN": "TOKEN",
	}
	cfg, err := parseServeConfig(env, nil, "/wd")
	if err != nil {
		t.Fatal(err)
	}
	got := []any{cfg.BlobStore, cfg.SourceEndpoint, cfg.SourceRegion, cfg.SourceInsecure, cfg.SourceStyle, cfg.StagingGrace,
		cfg.SourceAccessKey, cfg.SourceSecretKey, cfg.SourceSessionToken, cfg.isS3()}
	want := []any{"s3://models/prod?endpoint=minio:9000&insecure=true", "obs.cn-north-4.myhuaweicloud.com", "cn-north-4", true, "virtual",
		2 * time.Hour, "AK", "SK", "TOKEN", true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("environment: (-want +got)\n%s", diff)
	}
	sc := cfg.sourcesConfig().Object
	if sc.Endpoint != cfg.SourceEndpoint || sc.AccessKey != "AK" || sc.SecretKey != "SK" || sc.SessionToken != "TOKEN" || !sc.Insecure {
		t.Errorf("sources config %+v", sc)
	}

	cfg, err = parseServeConfig(env, []string{"--blob-store", "/flag/blobs", "--source-endpoint", "127.0.0.1:9000",
		"--source-region", "us-east-1", "--source-insecure=false", "--source-style", "path", "--staging-grace", "30m"}, "/wd")
	if err != nil {
		t.Fatal(err)
	}
	got = []any{cfg.BlobStore, cfg.SourceEndpoint, cfg.SourceRegion, cfg.SourceInsecure, cfg.SourceStyle, cfg.StagingGrace, cfg.isS3()}
	want = []any{"/flag/blobs", "127.0.0.1:9000", "us-east-1", false, "path", 30 * time.Minute, false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flags: (-want +got)\n%s", diff)
	}

	// No flag carries a secret.
	for _, arg := range []string{"--source-access-key", "--source-secret-key", "--source-session-token"} {
		if _, err := parseServeConfig(nil, []string{arg, "x"}, "/wd"); err == nil || !strings.Contains(err.Error(), "not defined") {
			t.Errorf("%s: error %v, want an unknown flag", arg, err)
		}
	}
}

func TestConfigObjectStoreInvalid(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--blob-store", "s3://models?endpoint=http://minio:9000"}, "without a scheme"},
		{nil, []string{"--blob-store", "s3://ak:sk@models"}, "credentials do not belong in the blob store URL"},
		{nil, []string{"--blob-store", "s3://models?secret=x"}, `unknown parameter "secret"`},
		{nil, []string{"--source-endpoint", "http://minio:9000"}, "--source-endpoint"},
		{nil, []string{"--source-endpoint", "minio:9000", "--source-style", "dns"}, "style"},
		{nil, []string{"--source-region", "eu"}, "need --source-endpoint"},
		{map[string]string{"MODELREG_SOURCE_ACCESS_KEY": "AK"}, nil, "need --source-endpoint"},
		{map[string]string{"MODELREG_SOURCE_SECRET_KEY": "SK"}, []string{"--source-endpoint", "minio:9000"}, "without an access key"},
		{nil, []string{"--staging-grace", "-1h"}, "--staging-grace"},
		{map[string]string{"MODELREG_STAGING_GRACE": "soon"}, nil, "MODELREG_STAGING_GRACE"},
	} {
		_, err := parseServeConfig(tt.env, tt.args, "/wd")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("env %v args %q: error %v, want one containing %q", tt.env, tt.args, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "SK") && !strings.Contains(tt.want, "SK") {
			t.Errorf("error %q shows a secret", err)
		}
	}
}

// TestOpenBlobStoreUnreachable checks that an S3 blob store that cannot be
// reached stops the server with a message naming it, and no secret.
func TestOpenBlobStoreUnreachable(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "modelreg-test-ak")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "modelreg-test-secret")
	cfg := DefaultConfig()
	cfg.BlobStore = "s3://models/p?endpoint=127.0.0.1:1&insecure=true&region=us-east-1"
	var logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _, err := openBlobStore(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err == nil || !strings.Contains(err.Error(), "http://127.0.0.1:1") || !strings.Contains(err.Error(), "cannot be reached") {
		t.Fatalf("error %v, want one naming the endpoint", err)
	}
	if strings.Contains(err.Error()+logs.String(), "modelreg-test-secret") {
		t.Errorf("a secret leaked: %v %s", err, logs.String())
	}
}

// TestStartupGrace checks which blob stores are swept of every staged blob
// at start: only a directory used with SQLite, which no other process
// shares.
func TestStartupGrace(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	for _, tt := range []struct {
		database string
		want     time.Duration
	}{
		{"modelreg.db", 0},
		{"postgres://db/modelreg", DefaultStagingGrace},
		{"postgresql://db/modelreg", DefaultStagingGrace},
	} {
		cfg := DefaultConfig()
		cfg.BlobStore = t.TempDir()
		cfg.Database = tt.database
		_, grace, err := openBlobStore(context.Background(), cfg, logger)
		if err != nil || grace != tt.want {
			t.Errorf("database %s: grace %s (%v), want %s", tt.database, grace, err, tt.want)
		}
	}
}
