package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/auth"
	"github.com/modelreg/modelreg/internal/blob/disk"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/importer"
	"github.com/modelreg/modelreg/internal/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The project of every test server, and the admin whose access key the
// commands sign with.
const (
	testProject  = "0123456789abcdef0123456789abcdef"
	testAdminID  = "adadadadadadadadadadadadadadadad"
	testAdminAK  = "AKCLITEST00000000001"
	testAdminSK  = "cli-test-secret-key-0123456789"
	testMasterHx = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
)

// testClock is a clock the test sets; the store and the importer read it,
// so times in the golden files are fixed.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testServer is a real server: httpapi over sqlite and a disk blob store,
// with an import runner, on httptest.
type testServer struct {
	URL    string
	Root   string // the import root
	Clock  *testClock
	Client *client.Client
}

// serverOptions tune a test server; zero values are the defaults.
type serverOptions struct {
	MaxFileSize    int64 // model files over this fail their import
	CascadeLimit   int
	TrashRetention time.Duration
}

// MustStartServer starts a test server, stopped at the end of the test.
func MustStartServer(tb testing.TB, opt serverOptions) *testServer {
	tb.Helper()
	dir := tb.TempDir()
	clock := &testClock{now: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
	logger := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	db, err := sqlite.Open(ctx, filepath.Join(dir, "modelreg.db"), sqlite.Options{Synchronous: "NORMAL", Now: clock.Now, Logger: logger})
	if err != nil {
		tb.Fatal(err)
	}
	blobs, err := disk.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		tb.Fatal(err)
	}
	root := filepath.Join(dir, "import")
	if err := os.Mkdir(root, 0o755); err != nil {
		tb.Fatal(err)
	}
	sources, err := importer.NewSources(root)
	if err != nil {
		tb.Fatal(err)
	}
	runner := importer.New(importer.Config{Store: db, Blobs: blobs, Sources: sources, MaxFileSize: opt.MaxFileSize,
		PollInterval: 20 * time.Millisecond, Now: clock.Now, Logger: logger})
	uploads := importer.NewUploads(importer.UploadConfig{Store: db, Blobs: blobs, MaxFileSize: opt.MaxFileSize, Logger: logger})
	authn := mustAuth(tb, db)
	api := httpapi.NewServer(httpapi.Config{Store: db, CheckSource: sources.Check, OnModelCreated: runner.Wake,
		CascadeLimit: opt.CascadeLimit, TrashRetention: opt.TrashRetention, Logger: logger, Auth: authn, Uploads: uploads, Blobs: blobs})
	hs := httptest.NewServer(api)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := runner.Run(ctx); err != nil {
			tb.Error(err)
		}
	}()
	tb.Cleanup(func() {
		hs.Close()
		cancel()
		<-done
		db.Close()
	})
	signer := &auth.Signer{AccessKey: testAdminAK, SecretKey: testAdminSK}
	c, err := client.New(hs.URL, testProject, client.WithSigner(signer.Sign))
	if err != nil {
		tb.Fatal(err)
	}
	return &testServer{URL: hs.URL, Root: root, Clock: clock, Client: c}
}

// mustAuth bootstraps db as serve does, with a fixed project, admin and
// access key, and returns its authenticator. Signatures are checked
// against the wall clock (the signer's), not the store's test clock.
func mustAuth(tb testing.TB, db modelreg.Store) *auth.Authenticator {
	tb.Helper()
	key, err := auth.ParseMasterKey(testMasterHx)
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := auth.NewKeyring(key)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := auth.New(auth.Config{Store: db, Keyring: keys, PasswordIterations: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	done, err := db.Bootstrap(context.Background(), &modelreg.Project{ID: testProject, Name: DefaultProjectName},
		&modelreg.User{ID: testAdminID, Name: AdminUserName, Admin: true},
		&modelreg.Credential{AccessKey: testAdminAK, SecretEnc: a.Seal(testAdminAK, testAdminSK)})
	if err != nil || !done {
		tb.Fatalf("bootstrap: %v %v", done, err)
	}
	return a
}

// getenv is the environment of the commands run against ts.
func (ts *testServer) getenv(key string) string {
	switch {
	case key == "TZ":
		return "UTC"
	case ts.URL == "": // no server: a bare environment
		return ""
	case key == "MODELREG_ENDPOINT":
		return ts.URL
	case key == "MODELREG_PROJECT_ID":
		return testProject
	case key == "MODELREG_ACCESS_KEY":
		return testAdminAK
	case key == "MODELREG_SECRET_KEY":
		return testAdminSK
	}
	return ""
}

// MustWriteFiles writes files (path → content) under dir.
func MustWriteFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// transcript records commands and their output, with the values that
// change from run to run (ids, request ids, temporary paths) replaced by
// stable stand-ins of the same length, so tables stay aligned.
type transcript struct {
	t    *testing.T
	ts   *testServer
	buf  bytes.Buffer
	ids  map[string]string
	last string // raw stdout of the last command
	iam  bool   // also replace project and user ids, access keys, secrets and passwords
	env  map[string]string
}

var (
	reUUID      = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)
	reRequestID = regexp.MustCompile(`request [A-Za-z0-9_.:-]+\)`)
	reMarker    = regexp.MustCompile(`\beyJ[A-Za-z0-9_=-]+`) // a list marker: base64 JSON holding ids
)

// Values of the IAM commands that change from run to run.
var (
	reHexID    = regexp.MustCompile(`\b[0-9a-f]{32}\b`)
	reAK       = regexp.MustCompile(`\b[A-Z0-9]{20}\b`)
	reSK       = regexp.MustCompile(`\b[A-Za-z0-9]{40}\b`)
	rePassword = regexp.MustCompile(`((?:Password \(shown only this once\): |"password": "))[A-Za-z0-9]{20}`)
)

// stable replaces each match of re by a stand-in of the same length made
// of prefix and a counter, the same one for the same value.
func (tr *transcript) stable(s string, re *regexp.Regexp, prefix string) string {
	return re.ReplaceAllStringFunc(s, func(v string) string {
		if v == testProject || v == testAdminID || v == testAdminAK {
			return v
		}
		if n, ok := tr.ids[v]; ok {
			return n
		}
		n := fmt.Sprintf("%s%0*d", prefix, len(v)-len(prefix), len(tr.ids)+1)
		tr.ids[v] = n
		return n
	})
}

func (tr *transcript) normalize(s string) string {
	s = strings.ReplaceAll(s, tr.ts.Root, "$ROOT")
	if tr.ts.URL != "" {
		s = strings.ReplaceAll(s, tr.ts.URL, "$ENDPOINT")
	}
	s = reMarker.ReplaceAllString(s, "MARKER")
	s = reRequestID.ReplaceAllString(s, "request REQUEST-ID)")
	if tr.iam {
		s = rePassword.ReplaceAllString(s, "${1}PASSWORD-PASSWORD-")
		s = tr.stable(s, reHexID, "id")
		s = tr.stable(s, reSK, "SECRET")
		s = tr.stable(s, reAK, "AK")
	}
	return reUUID.ReplaceAllStringFunc(s, func(id string) string {
		if n, ok := tr.ids[id]; ok {
			return n
		}
		n := fmt.Sprintf("00000000-0000-4000-8000-%012d", len(tr.ids)+1)
		tr.ids[id] = n
		return n
	})
}

// run runs modelreg with args, records it and returns its error. The clock
// advances a minute first, so each command's records have their own time.
func (tr *transcript) run(args ...string) error {
	tr.t.Helper()
	tr.ts.Clock.Advance(time.Minute)
	var stdout, stderr bytes.Buffer
	getenv := tr.ts.getenv
	if tr.env != nil {
		getenv = func(k string) string {
			if v, ok := tr.env[k]; ok {
				return v
			}
			return tr.ts.getenv(k)
		}
	}
	err := Run(context.Background(), append([]string{"modelreg"}, args...), getenv, &stdout, &stderr)
	tr.last = stdout.String()
	fmt.Fprintf(&tr.buf, "$ modelreg %s\n", tr.normalize(strings.Join(args, " ")))
	tr.buf.WriteString(tr.normalize(stdout.String()))
	if err != nil {
		fmt.Fprintf(&tr.buf, "[exit %d] %s\n", ExitCode(err), tr.normalize(FormatError(err)))
	}
	tr.buf.WriteString("\n")
	return err
}

// ok runs a command that must succeed.
func (tr *transcript) ok(args ...string) {
	tr.t.Helper()
	if err := tr.run(args...); err != nil {
		tr.t.Fatalf("modelreg %s: %v", strings.Join(args, " "), err)
	}
}

// fail runs a command that must fail with exit status code.
func (tr *transcript) fail(code int, args ...string) {
	tr.t.Helper()
	if err := tr.run(args...); ExitCode(err) != code {
		tr.t.Fatalf("modelreg %s: exit %d (%v), want %d", strings.Join(args, " "), ExitCode(err), err, code)
	}
}

// lastID returns the first id in the last command's output.
func (tr *transcript) lastID() string {
	tr.t.Helper()
	id := reUUID.FindString(tr.last)
	if id == "" {
		tr.t.Fatalf("no id in %q", tr.last)
	}
	return id
}

// waitPublished waits (bounded by the test's deadline) until the model is
// no longer publishing.
func (tr *transcript) waitPublished(id string) {
	tr.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := tr.ts.Client.WaitModel(ctx, id, 10*time.Millisecond); err != nil {
		tr.t.Fatal(err)
	}
}

// check compares the transcript with testdata/name, or rewrites it with -update.
func (tr *transcript) check(name string) {
	tr.t.Helper()
	checkGolden(tr.t, name, tr.buf.Bytes())
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got), run go test -update if intended:\n%s", path, diff)
	}
}

func newTranscript(t *testing.T, ts *testServer) *transcript {
	return &transcript{t: t, ts: ts, ids: map[string]string{}}
}

// TestModelCommands runs the model commands against a real server and
// compares their table and JSON output with testdata/models.golden.
func TestModelCommands(t *testing.T) {
	ts := MustStartServer(t, serverOptions{MaxFileSize: 1 << 20})
	MustWriteFiles(t, ts.Root, map[string]string{
		"resnet/model/config.json":    `{"model_type":"PyTorch","runtime":"python3.10"}`,
		"resnet/model/weights.bin":    strings.Repeat("w", 3000),
		"resnet/model/labels.txt":     "cat\ndog\n",
		"bert/config.json":            `{"model_type":"TensorFlow"}`,
		"bert/vocab.txt":              strings.Repeat("token\n", 100),
		"huge/model/blob.bin":         strings.Repeat("x", 1<<20+1),
		"badconfig/model/config.json": `[1, 2]`,
	})
	tr := newTranscript(t, ts)

	tr.ok("model", "import", filepath.Join(ts.Root, "resnet"), "--name", "resnet", "--version", "1.0.0", "--type", "pytorch", "--wait")
	resnet1 := tr.lastID()
	tr.ok("model", "import", filepath.Join(ts.Root, "resnet"), "--name", "resnet", "--version", "1.1.0", "--type", "PyTorch", "--wait", "--output", "json")
	resnet2 := tr.lastID()
	// Without --wait the command returns while the model is publishing.
	tr.ok("model", "import", filepath.Join(ts.Root, "resnet"), "--name=resnet", "--version=1.2.0", "--type=PyTorch", "--description", "third version")
	resnet3 := tr.lastID()
	tr.waitPublished(resnet3)
	tr.ok("model", "import", "--output", "json", "--name", "bert", "--version", "2.0.0", "--type", "TensorFlow", filepath.Join(ts.Root, "bert"))
	bert := tr.lastID()
	tr.waitPublished(bert)

	tr.ok("model", "list")
	tr.ok("model", "list", "--name", "resnet", "--sort-by", "model_version", "--order", "asc")
	tr.ok("model", "list", "--limit", "2", "--offset", "1")
	tr.ok("model", "list", "--status", "failed")
	tr.ok("model", "list", "--name", "bert", "--exact", "--output", "json")
	tr.ok("model", "show", resnet1)
	tr.ok("model", "show", bert, "--output", "json")

	// Imports that fail: refused at once, or failed by the import job.
	tr.fail(1, "model", "import", filepath.Join(ts.Root, "missing"), "--name", "gone", "--version", "1.0.0", "--type", "PyTorch")
	tr.fail(1, "model", "import", "obs://bucket/model", "--name", "gone", "--version", "1.0.0", "--type", "PyTorch")
	tr.fail(1, "model", "import", filepath.Join(ts.Root, "huge"), "--name", "huge", "--version", "1.0.0", "--type", "Custom", "--wait")
	tr.fail(1, "model", "import", filepath.Join(ts.Root, "badconfig"), "--name", "badconfig", "--version", "1.0.0", "--type", "Custom", "--wait", "--output", "json")
	tr.fail(1, "model", "import", filepath.Join(ts.Root, "resnet"), "--name", "resnet", "--version", "1.0.0", "--type", "PyTorch")
	tr.fail(1, "model", "show", "11111111-1111-4111-8111-111111111111")
	tr.fail(1, "model", "list", "--type", "Caffe", "--not-type", "PyTorch")

	// A deployed version is kept by a cascade; the others go.
	tr.ok("service", "deploy", "--name", "resnet-svc", "--model", resnet1)
	svc := tr.lastID()
	tr.fail(1, "model", "delete", resnet2, "--cascade")
	tr.ok("model", "list", "--name", "resnet")
	tr.fail(1, "model", "delete", resnet1, "--output", "json")
	tr.ok("service", "delete", svc)
	tr.ok("model", "delete", resnet1, "--output", "json")
	tr.ok("model", "delete", bert)
	tr.fail(1, "model", "delete", bert)
	tr.ok("model", "list", "--status", "published")
	tr.check("models.golden")
}

// TestServiceCommands runs the service commands against a real server and
// compares their output with testdata/services.golden.
func TestServiceCommands(t *testing.T) {
	ts := MustStartServer(t, serverOptions{CascadeLimit: 2})
	MustWriteFiles(t, ts.Root, map[string]string{"m/model/weights.bin": "weights"})
	tr := newTranscript(t, ts)
	var ids []string
	for _, v := range []string{"1.0.0", "1.0.1", "1.0.2"} {
		tr.ok("model", "import", filepath.Join(ts.Root, "m"), "--name", "m", "--version", v, "--type", "Custom", "--wait")
		ids = append(ids, tr.lastID())
	}

	tr.ok("service", "deploy", "--name", "one", "--model", ids[0], "--description", "first service")
	one := tr.lastID()
	tr.ok("service", "deploy", "--name", "three", "--model", ids[0], "--model", ids[1], "--model", ids[2], "--instances", "2", "--output", "json")
	three := tr.lastID()
	tr.ok("service", "deploy", "--name", "weighted", "--model", ids[1], "--weight", "70", "--model", ids[2], "--weight", "30", "--spec", "modelarts.vm.cpu.2u")
	weighted := tr.lastID()
	tr.fail(2, "service", "deploy", "--name", "bad", "--model", ids[1], "--weight", "70", "--model", ids[2])
	tr.fail(1, "service", "deploy", "--name", "one", "--model", ids[1])
	tr.fail(1, "service", "deploy", "--name", "odd", "--model", ids[1], "--weight", "99")

	tr.ok("service", "list")
	tr.ok("service", "list", "--model", ids[1], "--sort-by", "service_name", "--order", "asc")
	tr.ok("service", "list", "--name", "one", "--output", "json")
	tr.ok("service", "show", three)
	tr.ok("service", "show", weighted, "--output", "json")
	tr.ok("service", "stop", one)
	tr.ok("service", "stop", one, "--output", "json")
	tr.ok("service", "list", "--status", "stopped")
	tr.ok("service", "start", one)
	tr.ok("service", "events", one, "--order", "asc")
	tr.ok("service", "events", one, "--output", "json", "--type", "normal", "--limit", "1")
	tr.fail(1, "service", "delete", one, "11111111-1111-4111-8111-111111111111")
	tr.ok("service", "delete", one, three)
	tr.ok("service", "delete", weighted, "--output", "json")
	tr.ok("service", "list")
	tr.fail(1, "service", "show", one)
	// A cascade over the server's limit (2 here) says how many remain.
	tr.ok("model", "delete", ids[2], "--cascade")
	tr.ok("model", "delete", ids[1], "--cascade", "--output", "json")
	tr.check("services.golden")
}

// TestIAMCommands runs the project, user and credential commands as the
// admin and as a user, and compares their output with testdata/iam.golden.
func TestIAMCommands(t *testing.T) {
	ts := MustStartServer(t, serverOptions{})
	tr := newTranscript(t, ts)
	tr.iam = true

	tr.ok("project", "list")
	tr.ok("project", "create", "cn-north-4", "--description", "like a region", "--id", "cccccccccccccccccccccccccccccccc")
	tr.fail(1, "project", "create", "cn-north-4")
	tr.fail(1, "project", "create", "not a name")
	tr.ok("project", "list", "--output", "json")
	tr.ok("user", "create", "alice", "--projects", "cccccccccccccccccccccccccccccccc")
	tr.ok("user", "create", "bob", "--projects", testProject+",cccccccccccccccccccccccccccccccc", "--password", "--output", "json")
	var bob struct {
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(tr.last), &bob); err != nil || bob.Password == "" {
		t.Fatalf("user create --password --output json: %q %v", tr.last, err)
	}
	tr.fail(1, "user", "create", "carol", "--projects", "dddddddddddddddddddddddddddddddd")
	tr.ok("user", "list")
	tr.ok("credential", "create", "--user", "alice", "--description", "alice laptop")
	var created struct {
		Access string `json:"access"`
		Secret string `json:"secret"`
	}
	tr.ok("credential", "create", "--user", "alice", "--output", "json")
	if err := json.Unmarshal([]byte(tr.last), &created); err != nil || created.Secret == "" {
		t.Fatalf("credential create --output json: %q %v", tr.last, err)
	}
	tr.fail(1, "credential", "create", "--user", "nobody")
	tr.ok("credential", "list")

	// Alice, with her new key, reaches her project and only that.
	tr.env = map[string]string{"MODELREG_ACCESS_KEY": created.Access, "MODELREG_SECRET_KEY": created.Secret,
		"MODELREG_PROJECT_ID": "cccccccccccccccccccccccccccccccc"}
	tr.ok("project", "list")
	tr.ok("model", "list")
	tr.fail(1, "model", "list", "--project", testProject)
	tr.ok("credential", "list")
	tr.fail(1, "credential", "list", "--user", "admin")
	tr.fail(1, "project", "create", "mine")
	tr.fail(1, "user", "disable", "bob")
	tr.ok("credential", "revoke", created.Access)
	tr.fail(1, "model", "list")

	// Bob, a member of two projects, makes a key with a token scoped to
	// one: the key reaches that project only, and so does a key it makes.
	ctx := context.Background()
	anon, err := client.New(ts.URL, "cccccccccccccccccccccccccccccccc")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := anon.IssueToken(ctx, client.TokenRequest{UserName: "bob", Password: bob.Password, ProjectID: "cccccccccccccccccccccccccccccccc"})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := client.New(ts.URL, "cccccccccccccccccccccccccccccccc", client.WithToken(tok.Token))
	if err != nil {
		t.Fatal(err)
	}
	scoped, scopedSK, err := tc.CreateCredential(ctx, "", "made with a token")
	if err != nil {
		t.Fatal(err)
	}
	tr.env = map[string]string{"MODELREG_ACCESS_KEY": scoped.AccessKey, "MODELREG_SECRET_KEY": scopedSK,
		"MODELREG_PROJECT_ID": "cccccccccccccccccccccccccccccccc"}
	tr.ok("model", "list")
	tr.fail(1, "model", "list", "--project", testProject)
	tr.ok("project", "list")
	tr.ok("credential", "create", "--description", "made with the scoped key")
	tr.ok("credential", "list")

	// The admin disables bob: his keys stop working at once, until he is
	// enabled again; no one disables themselves.
	scopedEnv := tr.env
	tr.env = nil
	tr.ok("user", "disable", "bob")
	tr.env = scopedEnv
	tr.fail(1, "model", "list")
	tr.env = nil
	tr.ok("user", "list")
	tr.fail(1, "user", "disable", "admin")
	tr.fail(1, "user", "disable", "nobody")
	tr.fail(1, "user", "disable", "dddddddddddddddddddddddddddddddd")
	tr.fail(2, "user", "disable")
	tr.ok("user", "enable", "bob", "--output", "json")
	tr.env = scopedEnv
	tr.ok("model", "list")

	tr.env = nil
	tr.ok("credential", "list", "--user", "alice", "--output", "json")
	tr.fail(1, "credential", "revoke", "UNKNOWN0000000000000")
	tr.env = map[string]string{"MODELREG_ACCESS_KEY": testAdminAK, "MODELREG_SECRET_KEY": "not-the-secret-key-0123"}
	tr.fail(1, "model", "list")
	tr.env = map[string]string{"MODELREG_ACCESS_KEY": testAdminAK, "MODELREG_SECRET_KEY": ""}
	tr.fail(1, "model", "list")
	tr.check("iam.golden")
	if strings.Contains(tr.buf.String(), created.Secret) || strings.Contains(tr.buf.String(), testAdminSK) {
		t.Error("a secret key is in the transcript: the normalizer missed it")
	}
}

// TestCredentialsFile checks that the commands sign with the credentials
// file in the data dir when the environment has no access key.
func TestCredentialsFile(t *testing.T) {
	ts := MustStartServer(t, serverOptions{})
	dir := t.TempDir()
	path := filepath.Join(dir, auth.CredentialsFile)
	if err := auth.WriteCredentialsFile(path, auth.FileCredentials{ProjectID: testProject, AccessKey: testAdminAK, SecretKey: testAdminSK}); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		switch k {
		case "MODELREG_ACCESS_KEY", "MODELREG_SECRET_KEY", "MODELREG_PROJECT_ID":
			return ""
		case "MODELREG_DATA_DIR":
			return dir
		}
		return ts.getenv(k)
	}
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"modelreg", "project", "list", "--output", "json"}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("signed with the credentials file: %v", FormatError(err))
	}
	if !strings.Contains(out.String(), testProject) {
		t.Errorf("project list: %s", out.String())
	}
	os.WriteFile(path, []byte("access_key = x\n"), 0o600)
	err := Run(context.Background(), []string{"modelreg", "model", "list"}, getenv, io.Discard, io.Discard)
	if got := FormatError(err); !strings.Contains(got, "access_key and secret_key are required") {
		t.Errorf("a broken credentials file: %s", got)
	}
	// Without credentials the server refuses (it authenticates).
	os.Remove(path)
	err = Run(context.Background(), []string{"modelreg", "model", "list", "--project", testProject}, getenv, io.Discard, io.Discard)
	if got := FormatError(err); !strings.Contains(got, "ModelArts.0201") {
		t.Errorf("no credentials: %s", got)
	}
}

// TestUsage checks the help texts and the usage errors.
func TestUsage(t *testing.T) {
	ts := &testServer{Clock: &testClock{}, Root: "/nonexistent"}
	tr := newTranscript(t, ts)
	tr.fail(2)
	tr.ok("help")
	tr.ok("--help")
	tr.ok("help", "model")
	tr.ok("model", "import", "-h")
	tr.ok("model", "list", "--help")
	tr.ok("help", "model", "delete")
	tr.ok("service", "deploy", "-h")
	tr.ok("serve", "-h")
	tr.ok("migrate", "-h")
	tr.ok("help", "credential")
	tr.ok("user", "create", "-h")
	tr.ok("project", "create", "--help")
	tr.fail(2, "credential", "revoke")
	tr.fail(2, "project", "create")
	tr.fail(2, "frobnicate")
	tr.fail(2, "model", "frobnicate")
	tr.fail(2, "model")
	tr.ok("service", "-h")
	tr.fail(2, "help", "model", "frobnicate")
	tr.fail(2, "model", "list", "--frobnicate")
	tr.fail(2, "model", "list", "extra")
	tr.fail(2, "model", "list", "--output", "yaml")
	tr.fail(2, "model", "list", "--limit", "many")
	tr.fail(2, "model", "show")
	tr.fail(2, "model", "import", "dir", "--version", "1.0.0", "--type", "Custom")
	tr.fail(2, "service", "delete")
	tr.fail(2, "serve", "extra")
	tr.fail(2, "migrate", "frobnicate")
	tr.check("usage.golden")
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"modelreg", "version"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "modelreg ") {
		t.Errorf("version printed %q", out.String())
	}
}

// TestClientErrors checks the errors raised on the client side: no project,
// a bad project, an unreachable server.
func TestClientErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"NoProject", map[string]string{"MODELREG_DATA_DIR": dir}, nil,
			"Error: no project id: run 'modelreg login', pass --project, set MODELREG_PROJECT_ID, or point --data-dir at the server's data directory (no " + filepath.Join(dir, "project_id") + ")"},
		{"BadProject", nil, []string{"--project", "ABC"}, `Error: invalid project id "ABC": want 32 lower-case hex characters`},
		{"BadEndpoint", map[string]string{"MODELREG_PROJECT_ID": testProject}, []string{"--endpoint", "ftp://x"}, `Error: invalid endpoint "ftp://x": want an http:// or https:// URL such as http://127.0.0.1:8080`},
		{"NoScheme", map[string]string{"MODELREG_PROJECT_ID": testProject}, []string{"--endpoint", "registry:8080"}, `Error: invalid endpoint "registry:8080": it has no scheme; did you mean http://registry:8080?`},
		{"NoProfile", map[string]string{"MODELREG_PROJECT_ID": testProject, "XDG_CONFIG_HOME": dir}, []string{"--profile", "prod"},
			`Error: no profile "prod" in ` + filepath.Join(dir, "modelreg", "config") + `: create it with 'modelreg login --profile prod'`},
		{"Unreachable", map[string]string{"MODELREG_PROJECT_ID": testProject, "MODELREG_ENDPOINT": "http://127.0.0.1:1"}, nil,
			"Error: Cannot reach the server at 127.0.0.1:1: Get \"http://127.0.0.1:1/v1/" + testProject + "/models\": dial tcp 127.0.0.1:1: connect: connection refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"modelreg", "model", "list"}, tt.args...)
			err := Run(context.Background(), args, func(k string) string { return tt.env[k] }, io.Discard, io.Discard)
			if got := FormatError(err); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if ExitCode(err) != 1 {
				t.Errorf("exit code %d, want 1", ExitCode(err))
			}
		})
	}
}

// TestProjectFromDataDir checks that the client reads the project id the
// server keeps in its data dir.
func TestProjectFromDataDir(t *testing.T) {
	ts := MustStartServer(t, serverOptions{})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ProjectIDFile), []byte(testProject+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	getenv := func(k string) string {
		if k == "MODELREG_PROJECT_ID" {
			return ""
		}
		return ts.getenv(k)
	}
	err := Run(context.Background(), []string{"modelreg", "model", "list", "--data-dir", dir, "--output", "json"}, getenv, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var list modelreg.ModelList
	if err := json.Unmarshal(out.Bytes(), &list); err != nil || list.Models == nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
}

func TestParseInterleaved(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		pos     []string
		cascade bool
		output  string
	}{
		{nil, nil, false, ""},
		{[]string{"a"}, []string{"a"}, false, ""},
		{[]string{"a", "--cascade"}, []string{"a"}, true, ""},
		{[]string{"--cascade", "a", "--output", "json", "b"}, []string{"a", "b"}, true, "json"},
		{[]string{"a", "--output=json", "--", "--cascade"}, []string{"a", "--cascade"}, false, "json"},
		{[]string{"--", "-x"}, []string{"-x"}, false, ""},
		{[]string{"-", "b"}, []string{"-", "b"}, false, ""},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		cascade := fs.Bool("cascade", false, "")
		output := fs.String("output", "", "")
		pos, err := parseInterleaved(fs, tt.args)
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if !cmp.Equal(pos, tt.pos) || *cascade != tt.cascade || *output != tt.output {
			t.Errorf("%q: got %q %v %q, want %q %v %q", tt.args, pos, *cascade, *output, tt.pos, tt.cascade, tt.output)
		}
	}
}

func TestEvenWeights(t *testing.T) {
	for n, want := range map[int][]int{1: {100}, 2: {50, 50}, 3: {34, 33, 33}, 6: {17, 17, 17, 17, 16, 16}} {
		got := evenWeights(n)
		sum := 0
		for _, w := range got {
			sum += w
		}
		if !cmp.Equal(got, want) || sum != 100 {
			t.Errorf("evenWeights(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestSourceURL(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"/data/my model":        "file:///data/my%20model",
		"rel/dir":               "file://" + filepath.ToSlash(filepath.Join(wd, "rel/dir")),
		"obs://bucket/path":     "obs://bucket/path",
		"file:///data/m":        "file:///data/m",
		"s3://bucket/a?b=c":     "s3://bucket/a?b=c",
		"/data/a/../b":          "file:///data/b",
		"./c:d":                 "file://" + filepath.ToSlash(filepath.Join(wd, "c:d")),
		"https://example.com/m": "https://example.com/m",
	} {
		got, err := sourceURL(in)
		if err != nil || got != want {
			t.Errorf("sourceURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1048576": 1 << 20, "1MiB": 1 << 20, "20GiB": 20 << 30, "512 KiB": 512 << 10, "3MB": 3e6, "7B": 7, "1TiB": 1 << 40,
	} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5GiB", "GiB", "1PiB", "9999999TiB", "ten"} {
		if _, err := parseByteSize(in); err == nil {
			t.Errorf("parseByteSize(%q): no error", in)
		}
	}
}

func TestHumanSize(t *testing.T) {
	for in, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3000: "2.9 KiB", 1 << 20: "1.0 MiB", 20 << 30: "20.0 GiB", 5 << 40: "5.0 TiB"} {
		if got := humanSize(in); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatError(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
		code int
	}{
		{nil, "", 0},
		{errors.New("disk full\nreally"), "Error: disk full really", 1},
		{&UsageError{Msg: "missing --name", Cmd: "model import"}, "Error: missing --name (see 'modelreg model import -h')", 2},
		{&UsageError{Msg: `unknown command "x"`}, `Error: unknown command "x" (see 'modelreg help')`, 2},
		{&FailedError{Msg: "1 of 2 models not deleted"}, "Error: 1 of 2 models not deleted", 1},
		{fmt.Errorf("wrapped: %w", &UsageError{Msg: "m"}), "Error: m (see 'modelreg help')", 2},
		{modelreg.ModelNotFound("x"), "Error: Model (x) does not exist.", 1},
	} {
		if got := FormatError(tt.err); got != tt.want {
			t.Errorf("FormatError(%v) = %q, want %q", tt.err, got, tt.want)
		}
		if got := ExitCode(tt.err); got != tt.code {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.code)
		}
	}
}
