package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
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

// globals are the flags every client command takes.
type globals struct {
	endpoint  string
	project   string
	dataDir   string
	output    string
	accessKey string // MODELREG_ACCESS_KEY
	secretKey string // MODELREG_SECRET_KEY
}

// clientFlags registers the global flags of a client command on fs, with
// defaults from the environment.
func (e *env) clientFlags(fs *flag.FlagSet) *globals {
	g := &globals{
		endpoint: envOr(e.getenv, "MODELREG_ENDPOINT", DefaultEndpoint),
		project:  e.getenv("MODELREG_PROJECT_ID"),
		dataDir:  envOr(e.getenv, "MODELREG_DATA_DIR", DefaultDataDir),
		output:   "table",
		// The secret key is never a flag: other users see the process list.
		accessKey: e.getenv("MODELREG_ACCESS_KEY"),
		secretKey: e.getenv("MODELREG_SECRET_KEY"),
	}
	fs.StringVar(&g.endpoint, "endpoint", g.endpoint, "server `URL` (env MODELREG_ENDPOINT)")
	fs.StringVar(&g.project, "project", g.project, "project `id` (env MODELREG_PROJECT_ID; default: the project_id file in --data-dir)")
	fs.StringVar(&g.dataDir, "data-dir", g.dataDir, "server data `dir` holding the project_id and credentials files (env MODELREG_DATA_DIR)")
	fs.StringVar(&g.output, "output", g.output, "output `format`: table or json")
	return g
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// client checks the global flags and returns a client for them. It signs
// every request with the access key of MODELREG_ACCESS_KEY and
// MODELREG_SECRET_KEY, else of the credentials file in --data-dir; without
// either it sends unsigned requests (for a server run with --auth=none).
// extra options come after the defaults.
func (g *globals) client(extra ...client.Option) (*client.Client, error) {
	if g.output != "table" && g.output != "json" {
		return nil, usagef("invalid --output %q: want table or json", g.output)
	}
	creds, err := g.credentials()
	if err != nil {
		return nil, err
	}
	project := g.project
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
			return nil, fmt.Errorf("no project id: pass --project, set MODELREG_PROJECT_ID, or point --data-dir at the server's data directory (no %s)", path)
		}
	}
	if !modelreg.ValidProjectID(project) {
		return nil, fmt.Errorf("invalid project id %q: want 32 lower-case hex characters", project)
	}
	opts := []client.Option{client.WithUserAgent("modelreg-cli/" + version())}
	if creds.AccessKey != "" {
		s := &auth.Signer{AccessKey: creds.AccessKey, SecretKey: creds.SecretKey}
		opts = append(opts, client.WithSigner(s.Sign))
	}
	return client.New(g.endpoint, project, append(opts, extra...)...)
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

// json reports whether the output is JSON.
func (g *globals) json() bool { return g.output == "json" }

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
