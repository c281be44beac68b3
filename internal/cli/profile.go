package cli

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/auth"
)

// DefaultProfile is the profile used without --profile or MODELREG_PROFILE.
const DefaultProfile = "default"

// profile is one named section of the config file: where a server is,
// which project, and how to authenticate (an access key pair, or a token
// issued for a user's password).
type profile struct {
	Name         string
	Endpoint     string
	Project      string
	AccessKey    string
	SecretKey    string
	User         string
	Token        string
	TokenExpires time.Time
}

// validToken returns the profile's token, or an error when it expired.
func (p *profile) validToken(now time.Time) (string, error) {
	if p.Token == "" || p.AccessKey != "" {
		return "", nil
	}
	if !p.TokenExpires.IsZero() && !now.Before(p.TokenExpires) {
		return "", fmt.Errorf("the token of profile %q expired at %s: run 'modelreg login --profile %s' again",
			p.Name, p.TokenExpires.UTC().Format(time.RFC3339), p.Name)
	}
	return p.Token, nil
}

// configPath returns the config file: $XDG_CONFIG_HOME/modelreg/config,
// else $HOME/.config/modelreg/config; "" when neither variable is set.
func (e *env) configPath() string {
	if d := e.getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "modelreg", "config")
	}
	if h := e.getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "modelreg", "config")
	}
	return ""
}

// readProfiles reads the config file; a missing file has no profiles.
func readProfiles(path string) (map[string]*profile, error) {
	ps := map[string]*profile{}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ps, nil
	} else if err != nil {
		return nil, fmt.Errorf("reading the config file: %w", err)
	}
	var cur *profile
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			name := strings.TrimSpace(line[1 : len(line)-1])
			cur = &profile{Name: name}
			ps[name] = cur
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || cur == nil {
			return nil, fmt.Errorf("%s:%d: want [profile] or key = value", path, n)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "endpoint":
			cur.Endpoint = v
		case "project":
			cur.Project = v
		case "access_key":
			cur.AccessKey = v
		case "secret_key":
			cur.SecretKey = v
		case "user":
			cur.User = v
		case "token":
			cur.Token = v
		case "token_expires":
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: token_expires: %w", path, n, err)
			}
			cur.TokenExpires = t
		default:
			return nil, fmt.Errorf("%s:%d: unknown key %q", path, n, k)
		}
	}
	return ps, nil
}

// writeProfiles writes the config file, mode 0600 (it holds secrets).
func writeProfiles(path string, ps map[string]*profile) error {
	var b strings.Builder
	b.WriteString("# modelreg profiles, written by 'modelreg login'. It holds secrets: keep it mode 0600.\n")
	names := make([]string, 0, len(ps))
	for n := range ps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := ps[n]
		fmt.Fprintf(&b, "\n[%s]\n", n)
		kv := func(k, v string) {
			if v != "" {
				fmt.Fprintf(&b, "%s = %s\n", k, v)
			}
		}
		kv("endpoint", p.Endpoint)
		kv("project", p.Project)
		kv("access_key", p.AccessKey)
		kv("secret_key", p.SecretKey)
		kv("user", p.User)
		kv("token", p.Token)
		if !p.TokenExpires.IsZero() {
			kv("token_expires", p.TokenExpires.UTC().Format(time.RFC3339))
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return auth.WriteSecretFile(path, []byte(b.String()))
}

// loadProfile returns the profile name (default: DefaultProfile), or nil
// when there is no config file or it has no such profile and the name
// was not asked for.
func (e *env) loadProfile(name string) (*profile, error) {
	path := e.configPath()
	if path == "" {
		if name != "" {
			return nil, fmt.Errorf("no profile %q: neither XDG_CONFIG_HOME nor HOME is set", name)
		}
		return nil, nil
	}
	ps, err := readProfiles(path)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return ps[DefaultProfile], nil
	}
	p, ok := ps[name]
	if !ok {
		return nil, fmt.Errorf("no profile %q in %s: create it with 'modelreg login --profile %s'", name, path, name)
	}
	return p, nil
}

func loginCommand() *command {
	return &command{
		name:    "login",
		args:    "--endpoint URL --project ID|NAME (--access-key AK | --user NAME) [flags]",
		summary: "save a server, a project and credentials as a profile",
		help: `Checks the credentials against the server and saves them as a named profile
(--profile, MODELREG_PROFILE, default "default") in
$XDG_CONFIG_HOME/modelreg/config (else ~/.config/modelreg/config), mode
0600. Every client command then uses the profile; flags and MODELREG_*
variables still win over it.

With --access-key, the secret key is read from MODELREG_SECRET_KEY, else
from the first line of standard input (never a flag: other users see the
process list); every request is signed with the pair. With --user, the
password is read from MODELREG_PASSWORD, else from standard input, and
traded for a token (POST /v3/auth/tokens); the password is not saved, and
the token lasts as long as the server's --token-ttl: log in again then.
--project is a project id or name.`,
		flags: func(e *env, fs *flag.FlagSet) func([]string) error {
			o := e.outputFlag(fs)
			var p profile
			fs.StringVar(&p.Endpoint, "endpoint", e.getenv("MODELREG_ENDPOINT"), "server `URL` (env MODELREG_ENDPOINT; default "+DefaultEndpoint+")")
			project := fs.String("project", e.getenv("MODELREG_PROJECT_ID"), "project `id or name` (env MODELREG_PROJECT_ID)")
			fs.StringVar(&p.AccessKey, "access-key", e.getenv("MODELREG_ACCESS_KEY"), "access `key` to sign with (env MODELREG_ACCESS_KEY)")
			fs.StringVar(&p.User, "user", "", "user `name` to log in with a password")
			name := fs.String("profile", envOr(e.getenv, "MODELREG_PROFILE", DefaultProfile), "profile `name` (env MODELREG_PROFILE)")
			return func(args []string) error {
				switch {
				case len(args) > 0:
					return usagef("login takes no arguments, got %q", args[0])
				case *project == "":
					return usagef("missing --project")
				case p.AccessKey == "" && p.User == "":
					return usagef("missing --access-key (for an access key pair) or --user (for a password)")
				case p.AccessKey != "" && p.User != "":
					return usagef("give --access-key or --user, not both")
				case *name == "" || strings.ContainsAny(*name, "[]\n"):
					return usagef("invalid --profile %q", *name)
				}
				if err := o.check(); err != nil {
					return err
				}
				if p.Endpoint == "" {
					p.Endpoint = DefaultEndpoint
				}
				if err := checkEndpoint(p.Endpoint); err != nil {
					return err
				}
				path := e.configPath()
				if path == "" {
					return errors.New("cannot place the config file: set XDG_CONFIG_HOME or HOME")
				}
				p.Name = *name
				if err := e.login(&p, *project); err != nil {
					return err
				}
				ps, err := readProfiles(path)
				if err != nil {
					return err
				}
				ps[p.Name] = &p
				if err := writeProfiles(path, ps); err != nil {
					return fmt.Errorf("saving the profile: %w", err)
				}
				if o.json() {
					return printJSON(e.stdout, map[string]string{"profile": p.Name, "endpoint": p.Endpoint, "project_id": p.Project, "config": path})
				}
				who := "access key " + p.AccessKey
				if p.User != "" {
					who = "user " + p.User + " (token until " + e.when(p.TokenExpires.UnixMilli()) + ")"
				}
				_, err = fmt.Fprintf(e.stdout, "Logged in to %s, project %s, as %s.\nSaved as profile %q in %s.\n", p.Endpoint, p.Project, who, p.Name, path)
				return err
			}
		},
	}
}

// login checks p's credentials against the server, resolves project (an
// id or a name) and fills p's secret or token.
func (e *env) login(p *profile, project string) error {
	secret := func(env, what string) (string, error) {
		if v := e.getenv(env); v != "" {
			return v, nil
		}
		if f, ok := e.stdin.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				fmt.Fprintf(e.stderr, "%s: ", what) // a person types it (echoed: prefer the variable)
			}
		}
		if e.stdin == nil {
			return "", fmt.Errorf("no %s: set %s", strings.ToLower(what), env)
		}
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if line = strings.TrimSpace(line); line == "" {
			if err == nil || err == io.EOF {
				err = fmt.Errorf("no %s: set %s or give it on standard input", strings.ToLower(what), env)
			}
			return "", err
		}
		return line, nil
	}
	if p.User != "" {
		pw, err := secret("MODELREG_PASSWORD", "Password")
		if err != nil {
			return err
		}
		c, err := client.New(p.Endpoint, "", client.WithUserAgent("modelreg-cli/"+version()))
		if err != nil {
			return err
		}
		req := client.TokenRequest{UserName: p.User, Password: pw, ProjectName: project}
		if modelreg.ValidProjectID(project) {
			req = client.TokenRequest{UserName: p.User, Password: pw, ProjectID: project}
		}
		tok, err := c.IssueToken(e.ctx, req)
		if err != nil {
			return err
		}
		p.Token, p.TokenExpires, p.Project = tok.Token, tok.ExpiresAt, tok.ProjectID
		return nil
	}
	sk, err := secret("MODELREG_SECRET_KEY", "Secret key")
	if err != nil {
		return err
	}
	p.SecretKey = sk
	id := project
	if !modelreg.ValidProjectID(project) {
		id = ""
	}
	c, err := client.New(p.Endpoint, id, client.WithAccessKey(p.AccessKey, sk), client.WithUserAgent("modelreg-cli/"+version()))
	if err != nil {
		return err
	}
	ps, err := c.ListProjects(e.ctx, "")
	if err != nil {
		return err
	}
	for _, pr := range ps {
		if pr.ID == project || pr.Name == project {
			p.Project = pr.ID
			return nil
		}
	}
	return fmt.Errorf("the access key %s reaches no project %q", p.AccessKey, project)
}
