package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelreg/modelreg"
)

// TestAdoptCommands runs the commands of a day's work with profiles, names
// instead of ids, deleting a whole name, paging and completion against a
// real server, and compares the transcript with testdata/adopt.golden.
func TestAdoptCommands(t *testing.T) {
	ts := MustStartServer(t, serverOptions{CascadeLimit: 2})
	MustWriteFiles(t, ts.Root, map[string]string{"m/model/weights.bin": "weights"})
	tr := newTranscript(t, ts)
	config := filepath.Join(ts.Root, "config")

	// Log in with the admin's access key; then nothing else is set.
	tr.env = map[string]string{"XDG_CONFIG_HOME": config, "MODELREG_ACCESS_KEY": testAdminAK, "MODELREG_SECRET_KEY": testAdminSK}
	tr.ok("login", "--endpoint", ts.URL, "--project", "default")
	fi, err := os.Stat(filepath.Join(config, "modelreg", "config"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v %v, want mode 0600", fi, err)
	}
	bare := map[string]string{"XDG_CONFIG_HOME": config, "MODELREG_ENDPOINT": "", "MODELREG_PROJECT_ID": "", "MODELREG_ACCESS_KEY": "", "MODELREG_SECRET_KEY": ""}
	tr.env = bare
	tr.ok("model", "list")
	for _, v := range []string{"1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4"} {
		tr.ok("model", "import", filepath.Join(ts.Root, "m"), "--name", "m", "--version", v, "--type", "Custom", "--wait")
	}
	// Names instead of ids.
	tr.ok("model", "show", "m:1.0.1")
	tr.fail(2, "model", "show", "m")
	tr.fail(1, "model", "show", "m:9.9.9")
	tr.ok("model", "files", "m:1.0.0")
	tr.ok("--output", "json", "model", "files", "m:1.0.0")
	tr.ok("service", "deploy", "--name", "svc", "--model", "m:1.0.2", "--model", "m:1.0.3")
	tr.ok("service", "update", "svc", "--weight", "m:1.0.2=80", "--weight", "m:1.0.3=20", "--description", "canary")
	tr.ok("service", "stop", "svc")
	tr.ok("service", "list", "--model", "m:1.0.2")
	// Pages from 1, and by marker.
	tr.ok("model", "list", "--limit", "2", "--page", "2")
	tr.ok("model", "list", "--limit", "2", "--sort-by", "model_version", "--order", "asc", "--output", "json")
	var page modelreg.ModelList
	if err := json.Unmarshal([]byte(tr.last), &page); err != nil || page.NextMarker == "" {
		t.Fatalf("no next_marker: %v %q", err, tr.last)
	}
	tr.ok("model", "list", "--limit", "2", "--sort-by", "model_version", "--order", "asc", "--marker", page.NextMarker)
	tr.fail(2, "model", "list", "--page", "0")
	// A model without files: pull says so.
	if _, err := ts.Client.CreateModels(context.Background(), []modelreg.BulkModel{{ModelImport: modelreg.ModelImport{Name: "meta", Version: "1.0.0", Type: "Custom", SourceLocation: "file:///meta"}}}); err != nil {
		t.Fatal(err)
	}
	tr.ok("model", "files", "meta:1.0.0")
	tr.fail(1, "model", "pull", "meta:1.0.0", filepath.Join(ts.Root, "meta-out"))
	// Every version of a name: the cascade limit is 2, two are deployed.
	tr.fail(1, "model", "delete", "m", "--all")
	tr.ok("service", "delete", "svc")
	tr.ok("model", "delete", "m", "--all", "--output", "json")
	tr.fail(1, "model", "delete", "m", "--all")
	tr.fail(2, "model", "delete", "m:1.0.0", "--all")
	// Global flags before the command; a profile by name.
	tr.ok("--profile", "default", "--output", "json", "model", "list", "--name", "meta")
	tr.fail(2, "--limit", "1", "model", "list")
	tr.fail(1, "--profile", "prod", "model", "list")
	// A profile from a password: a token.
	bob := struct{ Password string }{"bob-password-0123456789"}
	if err := ts.Client.CreateUser(context.Background(), &modelreg.User{Name: "bob", ProjectIDs: []string{testProject}}, bob.Password); err != nil {
		t.Fatal(err)
	}
	tr.env = map[string]string{"XDG_CONFIG_HOME": config, "MODELREG_PASSWORD": bob.Password, "MODELREG_ACCESS_KEY": ""}
	tr.ok("login", "--endpoint", ts.URL, "--project", testProject, "--user", "bob", "--profile", "bob", "--output", "json")
	tr.env = bare
	tr.env["MODELREG_PROFILE"] = "bob"
	tr.ok("model", "list", "--name", "meta")
	tr.env["MODELREG_PASSWORD"] = "wrong-password-000000"
	tr.fail(1, "login", "--endpoint", ts.URL, "--project", testProject, "--user", "bob", "--profile", "bob2")
	tr.fail(2, "login", "--endpoint", ts.URL, "--project", testProject)
	tr.fail(1, "login", "--endpoint", "localhost:8080", "--project", testProject, "--user", "bob")
	delete(tr.env, "MODELREG_PROFILE")
	// The project of an existing name is named; bench refuses a busy project.
	tr.fail(1, "project", "create", "default")
	tr.fail(1, "bench", "--models", "10", "--workloads", "show", "--import-dir", filepath.Join(ts.Root, "bench-import"))
	// Completion.
	tr.ok("completion", "bash")
	tr.ok("__complete")
	tr.ok("__complete", "model")
	tr.ok("__complete", "model", "delete")
	tr.fail(2, "completion", "tcsh")
	tr.check("adopt.golden")

	b, err := os.ReadFile(filepath.Join(config, "modelreg", "config"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[default]", "[bob]", "access_key = " + testAdminAK, "token = ", "token_expires = "} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config file lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), bob.Password) {
		t.Error("the config file holds bob's password")
	}
}

// TestJSONErrors checks that with --output json an error is a JSON object
// on stderr carrying the ModelArts code, and that Ctrl-C says interrupted.
func TestJSONErrors(t *testing.T) {
	ts := MustStartServer(t, serverOptions{})
	for _, tt := range []struct {
		args []string
		exit int
		want map[string]any
	}{
		{[]string{"model", "show", "11111111-1111-4111-8111-111111111111", "--output", "json"}, 1,
			map[string]any{"error_code": modelreg.CodeModelNotFound, "kind": modelreg.ENOTFOUND, "status": 404.0, "exit_code": 1.0}},
		{[]string{"--output", "json", "model", "list", "--frobnicate"}, 2, map[string]any{"kind": "usage", "exit_code": 2.0}},
		{[]string{"model", "list", "--output=json", "--limit", "5000"}, 1, map[string]any{"error_code": modelreg.CodeInvalidArgument, "status": 400.0}},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), append([]string{"modelreg"}, tt.args...), ts.getenv, nil, &stdout, &stderr)
		if code != tt.exit {
			t.Errorf("%q: exit %d, want %d", tt.args, code, tt.exit)
		}
		var got map[string]any
		if err := json.Unmarshal(stderr.Bytes(), &got); err != nil {
			t.Fatalf("%q: stderr is not JSON: %q", tt.args, stderr.String())
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%q: %s = %v, want %v (%s)", tt.args, k, got[k], v, stderr.String())
			}
		}
		if got["error_msg"] == "" {
			t.Errorf("%q: no error_msg", tt.args)
		}
	}
	// Without --output json: one line.
	var stderr bytes.Buffer
	Main(context.Background(), []string{"modelreg", "model", "show", "11111111-1111-4111-8111-111111111111"}, ts.getenv, nil, &bytes.Buffer{}, &stderr)
	if !strings.HasPrefix(stderr.String(), "Error: Model (11111111-1111-4111-8111-111111111111) does not exist. (ModelArts.3001") {
		t.Errorf("text error: %q", stderr.String())
	}
	// A cancelled context (Ctrl-C) while a command runs.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stderr.Reset()
	if code := Main(ctx, []string{"modelreg", "model", "list"}, ts.getenv, nil, &bytes.Buffer{}, &stderr); code != 130 || stderr.String() != "Error: interrupted\n" {
		t.Errorf("interrupted: exit %d, %q", code, stderr.String())
	}
}

// TestVersionStamp checks the values set at build time, and JSON output.
func TestVersionStamp(t *testing.T) {
	defer func(v, c, d string) { buildVersion, buildCommit, buildDate = v, c, d }(buildVersion, buildCommit, buildDate)
	buildVersion, buildCommit, buildDate = "v1.2.3", "abcdef0123456789", "2026-01-02T03:04:05Z"
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"modelreg", "version", "--output", "json"}, func(string) string { return "" }, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var v VersionInfo
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.Version != "v1.2.3" || v.Commit != "abcdef0123456789" || v.BuildDate != "2026-01-02T03:04:05Z" || v.GoVersion == "" || v.Platform == "" {
		t.Errorf("version %+v", v)
	}
	out.Reset()
	if err := Run(context.Background(), []string{"modelreg", "--version"}, func(string) string { return "" }, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "modelreg v1.2.3\n  commit:     abcdef0123456789\n  built:      2026-01-02T03:04:05Z\n") {
		t.Errorf("version: %q", out.String())
	}
	// Without stamps: the build info (a test binary has no version: unknown or (devel)).
	buildVersion, buildCommit, buildDate = "", "", ""
	if v := readVersion(); v.Version == "" || v.Commit == "" || v.BuildDate == "" {
		t.Errorf("fallback %+v", v)
	}
}
