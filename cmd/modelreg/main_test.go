package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/auth"
	"github.com/modelreg/modelreg/internal/cli"
)

// waitLimit bounds every wait of the end-to-end test; it is a deadline for
// a hung test, not a measurement.
const waitLimit = 60 * time.Second

// Main is a running "modelreg serve" started through run.
type Main struct {
	URL     string
	DataDir string
	cancel  context.CancelFunc
	done    chan error
	stdout  *bytes.Buffer // lines printed before the listening line
}

// MustRunMain starts run with "serve" and args on 127.0.0.1:0 and returns
// once the server prints its address. Close it with Close.
func MustRunMain(tb testing.TB, dataDir string, args ...string) *Main {
	tb.Helper()
	return MustRunMainEnv(tb, nil, dataDir, args...)
}

// MustRunMainEnv is MustRunMain with the environment env.
func MustRunMainEnv(tb testing.TB, env map[string]string, dataDir string, args ...string) *Main {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	m := &Main{DataDir: dataDir, cancel: cancel, done: make(chan error, 1), stdout: &bytes.Buffer{}}
	getenv := func(k string) string { return env[k] }
	args = append([]string{"modelreg", "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "warn"}, args...)
	go func() {
		err := run(ctx, args, getenv, pw, io.Discard)
		pw.CloseWithError(errors.New("run returned"))
		m.done <- err
	}()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(waitLimit)
	for m.URL == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				cancel()
				tb.Fatalf("serve exited before listening: %v", <-m.done)
			}
			if addr, found := strings.CutPrefix(line, "modelreg listening on "); found {
				m.URL = addr
			} else {
				m.stdout.WriteString(line + "\n")
			}
		case <-timeout:
			cancel()
			tb.Fatal("serve did not start listening")
		}
	}
	go func() { // keep draining stdout
		for range lines {
		}
	}()
	return m
}

// Close cancels the server's context and returns what run returned.
func (m *Main) Close(tb testing.TB) error {
	tb.Helper()
	m.cancel()
	select {
	case err := <-m.done:
		return err
	case <-time.After(waitLimit):
		tb.Fatal("serve did not shut down")
		return nil
	}
}

// cmd runs a client command against m and returns its stdout and error.
func (m *Main) cmd(tb testing.TB, args ...string) (string, error) {
	tb.Helper()
	env := map[string]string{"MODELREG_ENDPOINT": m.URL, "MODELREG_DATA_DIR": m.DataDir}
	var stdout bytes.Buffer
	err := run(context.Background(), append([]string{"modelreg"}, args...), func(k string) string { return env[k] }, &stdout, io.Discard)
	return stdout.String(), err
}

// mustJSON runs a client command with --output json that must succeed and
// decodes its output into v.
func (m *Main) mustJSON(tb testing.TB, v any, args ...string) {
	tb.Helper()
	out, err := m.cmd(tb, append(args, "--output", "json")...)
	if err != nil {
		tb.Fatalf("modelreg %s: %s", strings.Join(args, " "), cli.FormatError(err))
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		tb.Fatalf("modelreg %s: %v in %q", strings.Join(args, " "), err, out)
	}
}

func mustWriteRandom(tb testing.TB, path string, size int) []byte {
	tb.Helper()
	b := make([]byte, size)
	rand.Read(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return b
}

// blobFiles returns the committed blobs under a disk blob store, by name.
func blobFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	var names []string
	err := filepath.WalkDir(filepath.Join(dir, "sha256"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			names = append(names, d.Name())
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(names)
	return names
}

// TestRun drives the whole product through run, as a user would: serve,
// import a folder, deploy one version, cascade delete the name (the
// deployed version is kept with ModelArts.3009, the rest deleted), delete
// the service and the last version, and see the bytes leave the disk.
func TestRun(t *testing.T) {
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")
	root := filepath.Join(tmp, "import")
	// Two model folders sharing one file.
	shared := mustWriteRandom(t, filepath.Join(root, "a", "model", "shared.bin"), 200<<10)
	mustWriteRandom(t, filepath.Join(root, "a", "model", "weights.bin"), 100<<10)
	config := []byte(`{"model_type":"PyTorch","runtime":"python3.10"}`)
	if err := os.WriteFile(filepath.Join(root, "a", "model", "config.json"), config, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "b", "model"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "b", "model", "shared.bin"), shared, 0o644); err != nil {
		t.Fatal(err)
	}
	mustWriteRandom(t, filepath.Join(root, "b", "model", "head.bin"), 50<<10)

	m := MustRunMain(t, dataDir, "--import-root", root)
	defer m.cancel()

	// First start: a project id is generated, printed and kept for the CLI.
	b, err := os.ReadFile(filepath.Join(dataDir, "project_id"))
	if err != nil {
		t.Fatal(err)
	}
	project := strings.TrimSpace(string(b))
	if !modelreg.ValidProjectID(project) || !strings.Contains(m.stdout.String(), project) {
		t.Fatalf("project id %q, serve printed %q", project, m.stdout.String())
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "project_id")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("project_id file: %v, %v", fi, err)
	}
	// ...and so are the admin's access key, printed once and kept 0600 for
	// the CLI, and the master key that seals secret keys.
	for _, f := range []string{"credentials", "master.key"} {
		if fi, err := os.Stat(filepath.Join(dataDir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s file: %v, %v", f, fi, err)
		}
	}
	creds, err := auth.ReadCredentialsFile(filepath.Join(dataDir, "credentials"))
	if err != nil || creds.ProjectID != project {
		t.Fatalf("credentials file: %+v, %v", creds, err)
	}
	if !strings.Contains(m.stdout.String(), "access key: "+creds.AccessKey) || !strings.Contains(m.stdout.String(), "secret key: "+creds.SecretKey) {
		t.Fatalf("serve printed %q", m.stdout.String())
	}
	// Without the key, the API refuses; the probes answer.
	if resp, err := http.Get(m.URL + "/v1/" + project + "/models"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned request: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// Import three versions (two from the same folder) and wait for them.
	var v1, v2, v3 modelreg.Model
	m.mustJSON(t, &v1, "model", "import", filepath.Join(root, "a"), "--name", "demo", "--version", "1.0.0", "--type", "PyTorch", "--wait")
	m.mustJSON(t, &v2, "model", "import", filepath.Join(root, "a"), "--name", "demo", "--version", "1.0.1", "--type", "PyTorch", "--wait")
	m.mustJSON(t, &v3, "model", "import", filepath.Join(root, "b"), "--name", "demo", "--version", "1.1.0", "--type", "PyTorch", "--wait")
	for _, v := range []modelreg.Model{v1, v2, v3} {
		if v.Status != modelreg.ModelPublished {
			t.Fatalf("model %s %s: status %s (%s)", v.Name, v.Version, v.Status, v.FailureReason)
		}
	}
	if want := int64(300<<10 + len(config)); v1.Size != want {
		t.Errorf("model size %d, want %d", v1.Size, want)
	}
	if !strings.Contains(v1.Config, `"runtime":"python3.10"`) {
		t.Errorf("model config %q", v1.Config)
	}
	blobDir := filepath.Join(dataDir, "blobs")
	// config.json, weights.bin, shared.bin (stored once), head.bin.
	if got := blobFiles(t, blobDir); len(got) != 4 {
		t.Fatalf("blobs on disk: %v, want 4", got)
	}

	// Deploy the oldest version, then cascade delete the name from v2.
	var svc modelreg.ServiceCreateResult
	m.mustJSON(t, &svc, "service", "deploy", "--name", "demo-svc", "--model", v1.ID)
	out, err := m.cmd(t, "model", "delete", v2.ID, "--cascade", "--output", "json")
	if cli.ExitCode(err) != 1 {
		t.Fatalf("cascade delete: exit %d (%v), want 1 (a model was kept)", cli.ExitCode(err), err)
	}
	var res modelreg.DeleteResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	sort.Strings(res.Success)
	wantSuccess := []string{v2.ID, v3.ID}
	sort.Strings(wantSuccess)
	if strings.Join(res.Success, ",") != strings.Join(wantSuccess, ",") {
		t.Errorf("deleted %v, want %v", res.Success, wantSuccess)
	}
	if len(res.Failed) != 1 || res.Failed[0].ModelID != v1.ID || res.Failed[0].ErrorCode != modelreg.CodeModelDeployed ||
		res.Failed[0].ErrorMsg != "Failed to delete model, model ("+v1.ID+") already deploy service." {
		t.Errorf("failures %+v, want %s with %s", res.Failed, v1.ID, modelreg.CodeModelDeployed)
	}
	var list modelreg.ModelList
	m.mustJSON(t, &list, "model", "list", "--name", "demo")
	if list.TotalCount != 1 || list.Models[0].ID != v1.ID {
		t.Fatalf("after the cascade: %+v", list.Models)
	}
	// The table form says the same to a person.
	out, err = m.cmd(t, "model", "delete", v1.ID)
	if cli.ExitCode(err) != 1 || !regexp.MustCompile(v1.ID+` +failed +ModelArts.3009 +Failed to delete model`).MatchString(out) {
		t.Errorf("delete of a deployed model: %v, output:\n%s", err, out)
	}

	// Nothing was freed while v1 holds the shared blob and its own files;
	// head.bin (only in v3) goes.
	waitFor(t, "head.bin to be collected", func() bool { return len(blobFiles(t, blobDir)) == 3 })

	if _, err := m.cmd(t, "service", "delete", svc.ServiceID); err != nil {
		t.Fatal(cli.FormatError(err))
	}
	m.mustJSON(t, &res, "model", "delete", v1.ID)
	if len(res.Success) != 1 || len(res.Failed) != 0 {
		t.Fatalf("last delete: %+v", res)
	}
	waitFor(t, "every blob to be collected", func() bool { return len(blobFiles(t, blobDir)) == 0 })
	if entries, err := os.ReadDir(filepath.Join(blobDir, "staging")); err != nil || len(entries) != 0 {
		t.Errorf("staging: %v, %v", entries, err)
	}

	// The collector's totals are on /metrics. It counts a blob once its
	// queue entry is gone, just after the file: wait for the count.
	var metrics []byte
	waitFor(t, "/metrics to count 4 freed blobs", func() bool {
		resp, err := http.Get(m.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(metrics), "modelreg_blobs_freed_total 4")
	})
	for _, want := range []string{"modelreg_blobs_freed_total 4", "modelreg_blob_bytes_freed_total "} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	if err := m.Close(t); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}

	// A second start on the same data dir keeps the project and the key and
	// prints neither.
	m = MustRunMain(t, dataDir, "--import-root", root)
	if strings.Contains(m.stdout.String(), "created project") || strings.Contains(m.stdout.String(), creds.SecretKey) {
		t.Errorf("second start printed %q", m.stdout.String())
	}
	m.mustJSON(t, &list, "model", "list")
	if list.TotalCount != 0 {
		t.Errorf("models after restart: %+v", list.Models)
	}
	if err := m.Close(t); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRunErrors checks the exit paths of run that need no server.
func TestRunErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"modelreg"}, 2, "Error: no command given"},
		{[]string{"modelreg", "serve", "--database", "postgres://db:port/x"}, 1, "Invalid PostgreSQL connection string"},
		{[]string{"modelreg", "serve", "--data-dir", t.TempDir(), "--database", "postgres://modelreg:secret@127.0.0.1:1/x?connect_timeout=5"}, 1,
			"opening the database postgres://modelreg:xxxxx@127.0.0.1:1/x?connect_timeout=5: The database is unavailable"},
		{[]string{"modelreg", "serve", "--blob-store", "s3://bucket?endpoint=h:1&user=x"}, 1, `unknown parameter "user"`},
		{[]string{"modelreg", "serve", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"modelreg", "serve", "--addr", "no-port", "--data-dir", t.TempDir()}, 1, "missing port in address"},
		{[]string{"modelreg", "serve", "--auth", "none", "--addr", "0.0.0.0:0", "--data-dir", t.TempDir()}, 1, "--auth=none refuses to listen on \"0.0.0.0:0\""},
	} {
		err := run(context.Background(), tt.args, func(string) string { return "" }, io.Discard, io.Discard)
		if got := cli.FormatError(err); cli.ExitCode(err) != tt.code || !strings.Contains(got, tt.want) {
			t.Errorf("%q: exit %d %q, want %d and %q", tt.args, cli.ExitCode(err), got, tt.code, tt.want)
		}
		if strings.Contains(cli.FormatError(err), "secret") {
			t.Errorf("%q: the error shows the password: %s", tt.args, cli.FormatError(err))
		}
	}
}

// TestRunAuthFromEnvironment starts a server whose admin key comes from the
// environment (as automation does), checks it is used and not written to
// disk, and that a restart with another master key is refused.
func TestRunAuthFromEnvironment(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{
		"MODELREG_PROJECT_ID": "feedfeedfeedfeedfeedfeedfeedfeed",
		"MODELREG_ACCESS_KEY": "AKFROMENV00000000001",
		"MODELREG_SECRET_KEY": "secret-from-the-environment-0123",
		"MODELREG_MASTER_KEY": strings.Repeat("42", 32),
	}
	m := MustRunMainEnv(t, env, dataDir)
	defer m.cancel()
	out := m.stdout.String()
	if !strings.Contains(out, "AKFROMENV00000000001") || strings.Contains(out, env["MODELREG_SECRET_KEY"]) {
		t.Errorf("serve printed %q", out)
	}
	for _, f := range []string{"credentials", "master.key"} {
		if _, err := os.Stat(filepath.Join(dataDir, f)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s written: %v", f, err)
		}
	}
	// The CLI signs with the same environment.
	cliEnv := map[string]string{"MODELREG_ENDPOINT": m.URL}
	for k, v := range env {
		cliEnv[k] = v
	}
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"modelreg", "project", "list", "--output", "json"}, func(k string) string { return cliEnv[k] }, &stdout, io.Discard)
	if err != nil || !strings.Contains(stdout.String(), "feedfeedfeedfeedfeedfeedfeedfeed") {
		t.Fatalf("project list: %v %s", cli.FormatError(err), stdout.String())
	}
	if err := m.Close(t); err != nil {
		t.Fatal(err)
	}

	// Another master key cannot open the stored secret: refuse to start.
	env["MODELREG_MASTER_KEY"] = strings.Repeat("24", 32)
	err = run(context.Background(), []string{"modelreg", "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir},
		func(k string) string { return env[k] }, io.Discard, io.Discard)
	if got := cli.FormatError(err); !strings.Contains(got, "the master key cannot open the secret key of AKFROMENV00000000001") {
		t.Errorf("start with another master key: %s", got)
	}
}
