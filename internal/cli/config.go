package cli

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/auth"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/importer"
	"github.com/modelreg/modelreg/internal/sqlite"
)

// Config is the configuration of modelreg serve. DefaultConfig gives the
// defaults; the MODELREG_* environment variables override them and the
// flags override both. Validate it once, then pass it down.
type Config struct {
	Addr              string   // listen address
	DataDir           string   // holds the database, the blobs and the project id
	Database          string   // SQLite file or postgres:// URL; "" means DataDir/modelreg.db
	BlobStore         string   // blob directory or s3:// URL; "" means DataDir/blobs
	ImportRoots       []string // directories file:// imports may read; nil means the working directory
	ProjectID         string   // default project; "" means DataDir/project_id, generated when missing
	CascadeLimit      int      // most models one delete call removes
	MaxBodyBytes      int64    // largest request body
	MaxFileSize       int64    // largest model file
	SQLiteSynchronous string   // FULL or NORMAL
	SQLiteModelCache  int64    // bytes of models the SQLite store keeps read; 0: none
	MemoryLimit       int64    // soft limit of the Go runtime's memory; 0: none
	LogFormat         string   // json or text
	LogLevel          string   // debug, info, warn or error
	Auth              string   // aksk (AK/SK signatures and tokens) or none
	TokenTTL          time.Duration
	TrustedProxies    []netip.Prefix // proxies whose X-Forwarded-For is believed (proxies.go)

	// Imports and uploads: how one project's work is kept from stalling
	// everyone's (see docs/configuration.md).
	ImportWorkers      int           // import jobs this server runs at once
	ImportProjectJobs  int           // import jobs of one project running at once, across replicas
	ImportStallTimeout time.Duration // an import waiting this long on its source without progress fails
	UploadProjectSlots int           // file bodies of one project streaming at once
	UploadMinRate      int64         // bytes per UploadRateWindow below which an upload body is cut
	UploadRateWindow   time.Duration

	// TrashRetention is how long the trash keeps a deleted model,
	// restorable; 0: no trash (a delete frees the bytes at once).
	TrashRetention time.Duration

	// The audit trail, webhooks and cleanup policies (issue 14).
	AuditRetention  time.Duration // how long audit events are kept
	CleanupInterval time.Duration // how often the enabled cleanup policies run
	WebhookPrivate  bool          // let webhooks reach loopback, link-local and private addresses

	// Secrets, read from the environment only (never flags, which other
	// users of the machine can see in the process list).
	AccessKey string // MODELREG_ACCESS_KEY: the admin access key created at first start
	SecretKey string // MODELREG_SECRET_KEY: its secret key
	MasterKey string // MODELREG_MASTER_KEY: seals secret keys; default <data-dir>/master.key

	// ShutdownTimeout bounds the wait for in-flight requests at shutdown.
	ShutdownTimeout time.Duration

	// Object storage: the object-store import sources and the staging
	// grace (see objectstore.go).
	SourceEndpoint string        // host[:port] obs://, s3:// and /bucket/path sources read from; "" turns them off
	SourceRegion   string        // region to sign source requests with; "" asks the server
	SourceInsecure bool          // plain http to SourceEndpoint
	SourceStyle    string        // "path", "virtual" or "" (automatic)
	StagingGrace   time.Duration // age after which a staged blob counts as left by a crash
	// Source credentials come from the environment only, never from flags
	// (MODELREG_SOURCE_ACCESS_KEY, _SECRET_KEY, _SESSION_TOKEN); when unset,
	// the AWS_* variables or the shared credentials file are used.
	SourceAccessKey, SourceSecretKey, SourceSessionToken string

	ReplicaConfig  // PostgreSQL, leases, staging grace, request bound: database.go
	CatalogConfig  // --catalog: catalog.go
	DeployerConfig // --deployer: deployer.go
}

// DefaultMemoryLimit is the default soft limit of the Go runtime's memory
// (runtime/debug.SetMemoryLimit): the garbage collector works harder as the
// heap nears it, rather than letting a burst (a bulk call, a large page)
// double the resident memory for good. SQLite's page caches (about 24 MiB)
// come on top of it.
const DefaultMemoryLimit = 48 << 20

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		Addr:              "127.0.0.1:8080",
		DataDir:           DefaultDataDir,
		CascadeLimit:      modelreg.DefaultCascadeLimit,
		AuditRetention:    modelreg.DefaultAuditRetention,
		CleanupInterval:   time.Hour,
		MaxBodyBytes:      1 << 20,
		MaxFileSize:       20 << 30,
		SQLiteSynchronous: "FULL",
		SQLiteModelCache:  sqlite.DefaultModelCache,
		MemoryLimit:       DefaultMemoryLimit,
		LogFormat:         "json",
		LogLevel:          "info",
		Auth:              AuthAKSK,
		TokenTTL:          auth.DefaultTokenTTL,
		ShutdownTimeout:   10 * time.Second,
		ReplicaConfig:     defaultReplicaConfig(),
		StagingGrace:      DefaultStagingGrace,

		ImportWorkers:      importer.DefaultWorkers,
		ImportProjectJobs:  importer.DefaultProjectJobs,
		ImportStallTimeout: importer.DefaultStallTimeout,
		UploadProjectSlots: importer.DefaultUploadProjectStreams,
		UploadMinRate:      httpapi.DefaultUploadMinRate,
		UploadRateWindow:   httpapi.DefaultUploadRateWindow,
	}
}

// register defines the serve flags on fs, writing into c.
func (c *Config) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen `address` (host:port; port 0 picks a free one)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "`dir`ectory of the database, the blobs and the project_id file")
	fs.StringVar(&c.Database, "database", c.Database, "SQLite database `file`, or a postgres://user@host/dbname URL (default <data-dir>/modelreg.db)")
	fs.StringVar(&c.BlobStore, "blob-store", c.BlobStore, "blob store `dir`ectory or s3://bucket/prefix?endpoint=host:port URL (default <data-dir>/blobs)")
	fs.Var(&rootsFlag{roots: &c.ImportRoots}, "import-root", "`dir`ectory that file:// imports may read; repeatable (default: the working directory). The server's own data dir, blob dir and database are never imported, even under a root")
	fs.StringVar(&c.ProjectID, "project-id", c.ProjectID, "default project `id`, 32 lower-case hex (default: read from or generated into <data-dir>/project_id)")
	fs.IntVar(&c.CascadeLimit, "cascade-limit", c.CascadeLimit, "most `models` one delete call removes")
	fs.DurationVar(&c.TrashRetention, "trash-retention", c.TrashRetention, "how long the trash keeps a deleted model, restorable (e.g. 168h); 0 deletes at once")
	fs.DurationVar(&c.AuditRetention, "audit-retention", c.AuditRetention, "how long audit events are kept before the server removes them")
	fs.DurationVar(&c.CleanupInterval, "cleanup-interval", c.CleanupInterval, "how often the enabled cleanup policies run")
	fs.BoolVar(&c.WebhookPrivate, "webhook-allow-private", c.WebhookPrivate, "let webhooks reach loopback, link-local and private addresses (refused by default: see docs/decisions.md)")
	fs.Var((*byteSize)(&c.MaxBodyBytes), "max-body-bytes", "largest request body, in `bytes` (suffixes KiB, MiB, GiB allowed)")
	fs.Var((*byteSize)(&c.MaxFileSize), "max-file-size", "largest model file, in `bytes` (suffixes KiB, MiB, GiB allowed)")
	fs.StringVar(&c.SQLiteSynchronous, "sqlite-synchronous", c.SQLiteSynchronous, "SQLite synchronous `mode`: FULL survives a power cut, NORMAL only a crash")
	fs.Var((*byteSize)(&c.SQLiteModelCache), "sqlite-model-cache", "memory the SQLite store keeps models read by id in, in `bytes` (0: none); emptied by every write")
	fs.Var((*byteSize)(&c.MemoryLimit), "memory-limit", "soft limit of the Go runtime's memory, in `bytes` (0: none); see docs/configuration.md")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log `format`: json or text")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log `level`: debug, info, warn or error")
	fs.StringVar(&c.Auth, "auth", c.Auth, "authentication `mode`: aksk (AK/SK signatures and X-Auth-Token) or none (loopback --addr only)")
	fs.DurationVar(&c.TokenTTL, "token-ttl", c.TokenTTL, "`lifetime` of the tokens POST /v3/auth/tokens issues")
	c.registerProxies(fs)
	fs.IntVar(&c.ImportWorkers, "import-workers", c.ImportWorkers, "import jobs this server runs at once, a `count`")
	fs.IntVar(&c.ImportProjectJobs, "import-project-jobs", c.ImportProjectJobs,
		"import jobs of one project running at once across every server sharing the database, a `count`; keep it below --import-workers so one project never holds every worker")
	fs.DurationVar(&c.ImportStallTimeout, "import-stall-timeout", c.ImportStallTimeout,
		"`duration` an import may wait on its source without receiving a byte before it fails")
	fs.IntVar(&c.UploadProjectSlots, "upload-project-slots", c.UploadProjectSlots,
		"file bodies of one project streaming into the blob store at once, a `count` (the server streams at most 4 at once in all)")
	fs.Var((*byteSize)(&c.UploadMinRate), "upload-min-rate", "fewest `bytes` an upload body must deliver in every --upload-rate-window (0: no minimum)")
	fs.DurationVar(&c.UploadRateWindow, "upload-rate-window", c.UploadRateWindow, "`duration` over which --upload-min-rate is measured")
	c.registerObjectStore(fs)
	c.registerReplica(fs)
	c.registerCatalog(fs)
	c.registerDeployer(fs)
}

// protectedPaths returns the server's own data, which no import may read,
// as absolute paths: the data dir, a blob directory, a SQLite database
// with its companion files.
func (c *Config) protectedPaths() []string {
	ps := []string{abs(c.DataDir)}
	// Inside the data dir already; listed too so that a hard link to one
	// of them is known by its identity.
	for _, f := range []string{auth.CredentialsFile, auth.MasterKeyFile, ProjectIDFile} {
		ps = append(ps, abs(filepath.Join(c.DataDir, f)))
	}
	if !c.isS3() {
		ps = append(ps, abs(c.BlobStore))
	}
	if !isPostgresURL(c.Database) {
		for _, sfx := range []string{"", "-wal", "-shm", "-journal"} {
			ps = append(ps, abs(c.Database+sfx))
		}
	}
	return ps
}

// abs returns p made absolute against the working directory.
func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// Authentication modes of --auth.
const (
	AuthAKSK = "aksk"
	AuthNone = "none"
)

// applySecretEnv reads the secrets that only the environment may give.
func (c *Config) applySecretEnv(getenv func(string) string) {
	c.AccessKey = getenv("MODELREG_ACCESS_KEY")
	c.SecretKey = getenv("MODELREG_SECRET_KEY")
	c.MasterKey = getenv("MODELREG_MASTER_KEY")
	c.DeployerSecret = getenv("MODELREG_DEPLOYER_SECRET")
}

// EnvName returns the environment variable of a serve flag:
// import-root → MODELREG_IMPORT_ROOT.
func EnvName(flagName string) string {
	return "MODELREG_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnv sets every flag of fs whose environment variable is set. It runs
// before the command line is parsed, so flags win.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := EnvName(f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		var err error
		if rf, ok := f.Value.(*rootsFlag); ok {
			rf.setList(v)
		} else {
			err = f.Value.Set(v)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("invalid %s=%q: %w", name, v, err))
		}
	})
	return errors.Join(errs...)
}

// Validate checks c and fills the values derived from others (database and
// blob paths, absolute import roots). getwd returns the working directory,
// the default import root.
func (c *Config) Validate(getwd func() (string, error)) error {
	if c.Addr == "" {
		return errors.New("--addr is empty")
	}
	if c.DataDir == "" {
		return errors.New("--data-dir is empty")
	}
	if c.Database == "" {
		c.Database = filepath.Join(c.DataDir, "modelreg.db")
	}
	if err := c.validateDatabase(); err != nil {
		return err
	}
	if c.BlobStore == "" {
		c.BlobStore = filepath.Join(c.DataDir, "blobs")
	}

	if err := c.validateObjectStore(); err != nil {
		return err
	}
	if len(c.ImportRoots) == 0 {
		wd, err := getwd()
		if err != nil {
			return fmt.Errorf("default import root: %w", err)
		}
		c.ImportRoots = []string{wd}
	}
	for i, r := range c.ImportRoots {
		abs, err := filepath.Abs(r)
		if err != nil {
			return fmt.Errorf("--import-root %q: %w", r, err)
		}
		c.ImportRoots[i] = abs
	}
	if err := c.validateDeployer(); err != nil {
		return err
	}
	if c.ProjectID != "" && !modelreg.ValidProjectID(c.ProjectID) {
		return fmt.Errorf("--project-id %q: want 32 lower-case hex characters", c.ProjectID)
	}
	if c.CascadeLimit < 1 {
		return fmt.Errorf("--cascade-limit %d: must be at least 1", c.CascadeLimit)
	}
	if c.TrashRetention < 0 {
		return fmt.Errorf("--trash-retention %s: must be 0 or more", c.TrashRetention)
	}
	if c.AuditRetention < time.Hour {
		return fmt.Errorf("--audit-retention %s: must be at least 1h", c.AuditRetention)
	}
	if c.CleanupInterval < time.Second {
		return fmt.Errorf("--cleanup-interval %s: must be at least 1s", c.CleanupInterval)
	}
	if c.MaxBodyBytes < 1 {
		return fmt.Errorf("--max-body-bytes %d: must be at least 1", c.MaxBodyBytes)
	}
	if c.MemoryLimit < 0 {
		return fmt.Errorf("--memory-limit %d: must be 0 or more", c.MemoryLimit)
	}
	if c.SQLiteModelCache < 0 || c.SQLiteModelCache > 1<<30 {
		return fmt.Errorf("--sqlite-model-cache %d: must be from 0 to 1GiB", c.SQLiteModelCache)
	}
	if c.MaxFileSize < 1 {
		return fmt.Errorf("--max-file-size %d: must be at least 1", c.MaxFileSize)
	}
	if c.ImportWorkers < 1 {
		return fmt.Errorf("--import-workers %d: must be at least 1", c.ImportWorkers)
	}
	if c.ImportProjectJobs < 1 {
		return fmt.Errorf("--import-project-jobs %d: must be at least 1", c.ImportProjectJobs)
	}
	if c.ImportStallTimeout < time.Second {
		return fmt.Errorf("--import-stall-timeout %s: must be at least 1s", c.ImportStallTimeout)
	}
	if c.UploadProjectSlots < 1 {
		return fmt.Errorf("--upload-project-slots %d: must be at least 1", c.UploadProjectSlots)
	}
	if c.UploadRateWindow < time.Second {
		return fmt.Errorf("--upload-rate-window %s: must be at least 1s", c.UploadRateWindow)
	}
	c.SQLiteSynchronous = strings.ToUpper(c.SQLiteSynchronous)
	if c.SQLiteSynchronous != "FULL" && c.SQLiteSynchronous != "NORMAL" {
		return fmt.Errorf("--sqlite-synchronous %q: want FULL or NORMAL", c.SQLiteSynchronous)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return fmt.Errorf("--log-format %q: want json or text", c.LogFormat)
	}
	if _, err := c.level(); err != nil {
		return err
	}
	return c.validateAuth()
}

// validateAuth checks the authentication settings. --auth=none is only for
// experiments on one machine: it refuses any address but a loopback one.
func (c *Config) validateAuth() error {
	switch c.Auth {
	case AuthAKSK:
	case AuthNone:
		if !loopback(c.Addr) {
			return fmt.Errorf("--auth=none refuses to listen on %q: anyone who reaches the port could delete every model; listen on a loopback address (127.0.0.1, [::1], localhost) or use --auth=aksk", c.Addr)
		}
	default:
		return fmt.Errorf("--auth %q: want aksk or none", c.Auth)
	}
	if c.TokenTTL < time.Minute {
		return fmt.Errorf("--token-ttl %v: must be at least 1m", c.TokenTTL)
	}
	switch {
	case (c.AccessKey == "") != (c.SecretKey == ""):
		return errors.New("set both MODELREG_ACCESS_KEY and MODELREG_SECRET_KEY, or neither")
	case c.AccessKey != "" && !modelreg.ValidAccessKey(c.AccessKey):
		return errors.New("MODELREG_ACCESS_KEY: want 4 to 128 letters, digits, '_', '.' or '-', starting with a letter or digit")
	case c.SecretKey != "" && !modelreg.ValidSecretKey(c.SecretKey):
		return errors.New("MODELREG_SECRET_KEY: want 16 to 256 printable ASCII characters without spaces")
	}
	if c.MasterKey != "" {
		if _, err := auth.ParseMasterKey(c.MasterKey); err != nil {
			return fmt.Errorf("MODELREG_MASTER_KEY: %w", err)
		}
	}
	return nil
}

// loopback reports whether addr (host:port) listens on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// rootsFlag is the repeatable --import-root. Values from the environment
// (a list) are replaced, not extended, by the first flag.
type rootsFlag struct {
	roots    *[]string
	fromFlag bool
}

func (f *rootsFlag) String() string {
	if f.roots == nil {
		return ""
	}
	return strings.Join(*f.roots, string(filepath.ListSeparator))
}

func (f *rootsFlag) Set(s string) error {
	if s == "" {
		return errors.New("empty directory")
	}
	if !f.fromFlag {
		*f.roots = nil
		f.fromFlag = true
	}
	*f.roots = append(*f.roots, s)
	return nil
}

func (f *rootsFlag) setList(list string) {
	*f.roots = nil
	for _, r := range filepath.SplitList(list) {
		if r != "" {
			*f.roots = append(*f.roots, r)
		}
	}
}

// byteSize is a byte count flag accepting binary suffixes: 1048576, 1MiB,
// 20GiB, 512KiB (also KB, MB, GB, TB as powers of 1000).
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	n, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

func parseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("not a byte count")
	}
	if n > (1<<63-1)/mult {
		return 0, errors.New("too large")
	}
	return n * mult, nil
}
