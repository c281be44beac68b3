package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/blob/disk"
	"github.com/modelreg/modelreg/internal/blob/s3"
	"github.com/modelreg/modelreg/internal/collector"
	"github.com/modelreg/modelreg/internal/importer"
	"github.com/modelreg/modelreg/internal/s3conn"
)

// DefaultStagingGrace is the default --staging-grace: a staged blob older
// than this was left by a crash (no single file takes that long to stage).
const DefaultStagingGrace = collector.DefaultStagingGrace

// stagingCleanInterval is how often the running server removes staged blobs
// older than --staging-grace.
const stagingCleanInterval = time.Hour

// Environment variables holding the object-store source credentials. They
// are read from the environment only: a flag would show them in ps.
const (
	envSourceAccessKey    = "MODELREG_SOURCE_ACCESS_KEY"
	envSourceSecretKey    = "MODELREG_SOURCE_SECRET_KEY"
	envSourceSessionToken = "MODELREG_SOURCE_SESSION_TOKEN"
)

// registerObjectStore defines the object-storage flags of serve.
func (c *Config) registerObjectStore(fs *flag.FlagSet) {
	fs.StringVar(&c.SourceEndpoint, "source-endpoint", c.SourceEndpoint,
		"`host[:port]` of the S3-compatible server obs://, s3:// and /bucket/path import sources read from (default: those sources are refused)")
	fs.StringVar(&c.SourceRegion, "source-region", c.SourceRegion, "`region` to sign source requests with (default: ask the server)")
	fs.BoolVar(&c.SourceInsecure, "source-insecure", c.SourceInsecure, "talk plain http to --source-endpoint")
	fs.StringVar(&c.SourceStyle, "source-style", c.SourceStyle, "bucket addressing `style` of --source-endpoint: path or virtual (default: automatic)")
	fs.DurationVar(&c.StagingGrace, "staging-grace", c.StagingGrace,
		"`age` after which a staged (half-written) blob counts as left by a crash and is removed")
}

// readSecrets reads the source credentials from the environment.
func (c *Config) readSecrets(getenv func(string) string) {
	c.SourceAccessKey = getenv(envSourceAccessKey)
	c.SourceSecretKey = getenv(envSourceSecretKey)
	c.SourceSessionToken = getenv(envSourceSessionToken)
}

// isS3 reports whether the blob store setting is an s3:// URL.
func (c *Config) isS3() bool {
	scheme, _, ok := strings.Cut(c.BlobStore, "://")
	return ok && strings.EqualFold(scheme, "s3")
}

// isPostgresURL reports whether a --database value names PostgreSQL.
func isPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// validateObjectStore checks the blob store setting (a directory or an
// s3:// URL) and the object-store source settings.
func (c *Config) validateObjectStore() error {
	switch {
	case c.isS3():
		if _, err := s3.ParseURL(c.BlobStore); err != nil {
			return fmt.Errorf("--blob-store: %w", err)
		}
	case strings.Contains(c.BlobStore, "://"):
		return fmt.Errorf("--blob-store %q: want a directory or an s3://bucket/prefix?endpoint=host:port URL", c.BlobStore)
	}
	if c.StagingGrace < 0 {
		return fmt.Errorf("--staging-grace %s: must not be negative", c.StagingGrace)
	}
	if c.SourceEndpoint == "" {
		if c.SourceRegion != "" || c.SourceInsecure || c.SourceStyle != "" || c.SourceAccessKey != "" {
			return fmt.Errorf("--source-region, --source-insecure, --source-style and %s need --source-endpoint", envSourceAccessKey)
		}
		return nil
	}
	ep := s3conn.Endpoint{Host: c.SourceEndpoint, Region: c.SourceRegion, Insecure: c.SourceInsecure, Style: c.SourceStyle,
		AccessKey: c.SourceAccessKey, SecretKey: c.SourceSecretKey, SessionToken: c.SourceSessionToken}
	if err := ep.Validate(); err != nil {
		return fmt.Errorf("--source-endpoint: %w", err)
	}
	return nil
}

// sourcesConfig returns the importer's view of the configuration.
func (c *Config) sourcesConfig() importer.SourcesConfig {
	return importer.SourcesConfig{
		ImportRoots: c.ImportRoots,
		Protected:   c.protectedPaths(),
		Object: importer.ObjectSourceConfig{
			Endpoint:     c.SourceEndpoint,
			Region:       c.SourceRegion,
			Insecure:     c.SourceInsecure,
			Style:        c.SourceStyle,
			AccessKey:    c.SourceAccessKey,
			SecretKey:    c.SourceSecretKey,
			SessionToken: c.SourceSessionToken,
		},
	}
}

// openBlobStore opens the blob store the configuration names, and returns
// the staging grace of the start-up sweep: none for a directory used with
// SQLite (staging there belongs to this process alone: SQLite serves one
// process), the configured grace otherwise: a bucket, or a directory of
// replicas sharing a PostgreSQL database, may be shared with other servers.
func openBlobStore(ctx context.Context, cfg Config, logger *slog.Logger) (modelreg.BlobStore, time.Duration, error) {
	if !cfg.isS3() {
		blobs, err := disk.Open(cfg.BlobStore)
		if err != nil {
			return nil, 0, fmt.Errorf("opening the blob store: %w", err)
		}
		if isPostgresURL(cfg.Database) {
			return blobs, cfg.StagingGrace, nil
		}
		return blobs, 0, nil
	}
	sc, err := s3.ParseURL(cfg.BlobStore)
	if err != nil {
		return nil, 0, fmt.Errorf("--blob-store: %w", err)
	}
	blobs, err := s3.Open(ctx, sc)
	if err != nil {
		// The message names the endpoint, the bucket and why; never a secret.
		return nil, 0, fmt.Errorf("opening the blob store %s: %s", sc, modelreg.ErrorMessage(err))
	}
	if sc.Anonymous() {
		logger.Warn("no credentials for the blob store: requests are unsigned (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use a shared credentials file)",
			"blob_store", sc.String())
	}
	switch versioned, err := blobs.Versioned(ctx); {
	case err != nil:
		logger.Warn("cannot tell whether the blob store bucket is versioned", "blob_store", sc.String(), "err", err)
	case versioned:
		logger.Warn("the blob store bucket keeps old versions of objects: deleted blobs stay as noncurrent versions and their bytes are not freed; "+
			"use an unversioned bucket or a lifecycle rule that expires noncurrent versions under "+sc.Prefix+"/sha256/",
			"blob_store", sc.String())
	}
	return blobs, cfg.StagingGrace, nil
}
