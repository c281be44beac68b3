package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/auth"
)

// Defaults of the client commands.
const (
	DefaultEndpoint = "http://127.0.0.1:8080"
	DefaultDataDir  = "./modelreg-data"
	// ProjectIDFile is the file in the data dir holding the default project id.
	ProjectIDFile = "project_id"
)

// output is the --output flag every command takes.
type output struct {
	format string
}

// outputFlag registers --output on fs.
func (e *env) outputFlag(fs *flag.FlagSet) *output {
	o := &output{format: "table"}
	fs.StringVar(&o.format, "output", o.format, "output `format`: table or json")
	e.output = o
	return o
}

// check validates the format.
func (o *output) check() error {
	if o.format != "table" && o.format != "json" {
		return usagef("invalid --output %q: want table or json", o.format)
	}
	return nil
}

// json reports whether the output is JSON.
func (o *output) json() bool { return o.format == "json" }

// globals are the flags every client command takes.
type globals struct {
	*output
	e         *env
	endpoint  string
	project   string
	dataDir   string
	profile   string
	accessKey string // MODELREG_ACCESS_KEY
	secretKey string // MODELREG_SECRET_KEY
}

// globalFlags are the flags of globals, which may also come before the
// command ("modelreg --profile prod model list"); all take a value.
var globalFlags = []string{"endpoint", "project", "data-dir", "output", "profile"}

// clientFlags registers the global flags of a client command on fs, with
// defaults from the environment.
func (e *env) clientFlags(fs *flag.FlagSet) *globals {
	g := &globals{
		e:        e,
		endpoint: e.getenv("MODELREG_ENDPOINT"),
		project:  e.getenv("MODELREG_PROJECT_ID"),
		dataDir:  envOr(e.getenv, "MODELREG_DATA_DIR", DefaultDataDir),
		profile:  e.getenv("MODELREG_PROFILE"),
		// The secret key is never a flag: other users see the process list.
		accessKey: e.getenv("MODELREG_ACCESS_KEY"),
		secretKey: e.getenv("MODELREG_SECRET_KEY"),
	}
	fs.StringVar(&g.endpoint, "endpoint", g.endpoint, "server `URL` (env MODELREG_ENDPOINT; default: the profile's, else "+DefaultEndpoint+")")
	fs.StringVar(&g.project, "project", g.project, "project `id` (env MODELREG_PROJECT_ID; default: the profile's, else the project_id file in --data-dir)")
	fs.StringVar(&g.dataDir, "data-dir", g.dataDir, "server data `dir` holding the project_id and credentials files, used without a profile (env MODELREG_DATA_DIR)")
	fs.StringVar(&g.profile, "profile", g.profile, "`name` of the profile of 'modelreg login' to use (env MODELREG_PROFILE; default: default)")
	g.output = e.outputFlag(fs)
	return g
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// client checks the global flags and returns a client for them. Each
// setting comes from the first of: its flag, its environment variable,
// the profile (--profile, MODELREG_PROFILE, else "default", when the
// config file of 'modelreg login' has it), the server's data dir (the
// project_id and credentials files). Without an access key or a token it
// sends unsigned requests (for a server run with --auth=none). extra
// options come after the defaults.
func (g *globals) client(extra ...client.Option) (*client.Client, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	prof, err := g.e.loadProfile(g.profile)
	if err != nil {
		return nil, err
	}
	endpoint := g.endpoint
	if endpoint == "" && prof != nil {
		endpoint = prof.Endpoint
	}
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	if err := checkEndpoint(endpoint); err != nil {
		return nil, err
	}
	var creds auth.FileCredentials
	var token string
	switch {
	case g.accessKey != "" || g.secretKey != "":
		if creds, err = g.credentials(); err != nil {
			return nil, err
		}
	case prof != nil:
		creds = auth.FileCredentials{ProjectID: prof.Project, AccessKey: prof.AccessKey, SecretKey: prof.SecretKey}
		if token, err = prof.validToken(g.e.now()); err != nil {
			return nil, err
		}
	default:
		if creds, err = g.credentials(); err != nil {
			return nil, err
		}
	}
	project := g.project
	if project == "" && prof != nil {
		project = prof.Project
	}
	if project == "" {
		path := filepath.Join(g.dataDir, ProjectIDFile)
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			project = strings.TrimSpace(string(b))
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("reading the project id: %w", err)
		case creds.ProjectID != "":
			project = creds.ProjectID
		default:
			return nil, fmt.Errorf("no project id: run 'modelreg login', pass --project, set MODELREG_PROJECT_ID, or point --data-dir at the server's data directory (no %s)", path)
		}
	}
	if !modelreg.ValidProjectID(project) {
		return nil, fmt.Errorf("invalid project id %q: want 32 lower-case hex characters", project)
	}
	opts := []client.Option{client.WithUserAgent("modelreg-cli/" + version())}
	switch {
	case creds.AccessKey != "":
		opts = append(opts, client.WithAccessKey(creds.AccessKey, creds.SecretKey))
	case token != "":
		opts = append(opts, client.WithToken(token))
	}
	return client.New(endpoint, project, append(opts, extra...)...)
}

// checkEndpoint explains an endpoint that is not an http(s) URL.
func checkEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	switch {
	case !strings.Contains(endpoint, "://"):
		return fmt.Errorf("invalid endpoint %q: it has no scheme; did you mean http://%s?", endpoint, endpoint)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("invalid endpoint %q: want an http:// or https:// URL such as %s", endpoint, DefaultEndpoint)
	}
	return nil
}

// credentials returns the access key to sign with: from the environment,
// else from the credentials file in the data dir, else none.
func (g *globals) credentials() (auth.FileCredentials, error) {
	switch {
	case g.accessKey != "" && g.secretKey != "":
		return auth.FileCredentials{AccessKey: g.accessKey, SecretKey: g.secretKey}, nil
	case g.accessKey != "" || g.secretKey != "":
		return auth.FileCredentials{}, errors.New("set both MODELREG_ACCESS_KEY and MODELREG_SECRET_KEY, or neither")
	}
	c, err := auth.ReadCredentialsFile(filepath.Join(g.dataDir, auth.CredentialsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return auth.FileCredentials{}, nil
	} else if err != nil {
		return auth.FileCredentials{}, fmt.Errorf("reading the credentials: %w", err)
	}
	return c, nil
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// newTable returns a writer aligning tab-separated columns; Flush it.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// row writes one table row.
func row(w io.Writer, cols ...any) {
	for i, c := range cols {
		if i > 0 {
			fmt.Fprint(w, "\t")
		}
		s := fmt.Sprint(c)
		if s == "" {
			s = "-"
		}
		fmt.Fprint(w, strings.ReplaceAll(s, "\t", " "))
	}
	fmt.Fprintln(w)
}

// when formats milliseconds since the epoch for people.
func (e *env) when(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).In(e.loc).Format("2006-01-02 15:04:05")
}

// humanSize formats a byte count with binary units.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}
