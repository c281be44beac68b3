package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/auth"
	"github.com/modelreg/modelreg/internal/blob/disk"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/importer"
	"github.com/modelreg/modelreg/internal/sqlite"
)

const (
	projectA = "0123456789abcdef0123456789abcdef" // alpha: alice and admin
	projectB = "fedcba9876543210fedcba9876543210" // beta: bob
)

// clock is the authenticator's clock: real time plus an offset a test can
// move forward, so tokens expire without waiting.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// env is a real server (the API with its console) over SQLite and a disk
// blob store, on a loopback port, with two projects and three users.
type env struct {
	store modelreg.Store
	srv   *httptest.Server
	auth  *auth.Authenticator
	clk   *clock
	alice *client.Client // alice's access key, project alpha
	bob   *client.Client // bob's access key, project beta
	users map[string]*modelreg.User
}

// password is every test user's password: name + "-password".
func password(name string) string { return name + "-password" }

// newEnv starts a server over store (a fresh SQLite one when nil); opts
// change the server's configuration (withTrash).
func newEnv(t testing.TB, store modelreg.Store, opts ...func(*httpapi.Config)) *env {
	t.Helper()
	ctx := context.Background()
	if store == nil {
		var err error
		store, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), sqlite.Options{Synchronous: "NORMAL"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
	}
	key := make([]byte, auth.MasterKeySize)
	for i := range key {
		key[i] = byte(i)
	}
	keys, err := auth.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	a, err := auth.New(auth.Config{Store: store, Keyring: keys, Now: clk.Now, PasswordIterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := disk.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := httpapi.Config{
		Store: store, Auth: a, Blobs: blobs, Logger: slog.New(slog.DiscardHandler),
		Uploads: importer.NewUploads(importer.UploadConfig{Store: store, Blobs: blobs, Logger: slog.New(slog.DiscardHandler)}),
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv := httptest.NewServer(httpapi.NewServer(cfg))
	t.Cleanup(srv.Close)
	e := &env{store: store, srv: srv, auth: a, clk: clk, users: map[string]*modelreg.User{}}
	for _, p := range []*modelreg.Project{{ID: projectA, Name: "alpha"}, {ID: projectB, Name: "beta"}} {
		if err := store.CreateProject(ctx, p); err != nil && modelreg.ErrorCode(err) != modelreg.ECONFLICT {
			t.Fatal(err)
		}
	}
	e.alice = e.user(t, "alice", false, projectA)
	e.bob = e.user(t, "bob", false, projectB)
	e.user(t, "admin", true, projectA)
	return e
}

// withTrash turns the server's trash on (a day's retention).
func withTrash(cfg *httpapi.Config) { cfg.TrashRetention = 24 * time.Hour }

// user creates a user with a password and an access key, and returns a
// client signing with the key.
func (e *env) user(t testing.TB, name string, admin bool, project string) *client.Client {
	t.Helper()
	ctx := context.Background()
	hash, err := e.auth.HashPassword(password(name))
	if err != nil {
		t.Fatal(err)
	}
	u := &modelreg.User{Name: name, Admin: admin, PasswordHash: hash, ProjectIDs: []string{project}}
	if err := e.store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	e.users[name] = u
	cred, sk, err := e.auth.NewCredential(ctx, u.ID, name+" key", "", "")
	if err != nil {
		t.Fatal(err)
	}
	signer := &auth.Signer{AccessKey: cred.AccessKey, SecretKey: sk, Now: e.clk.Now}
	c, err := client.New(e.srv.URL, project, client.WithSigner(signer.Sign))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// push uploads a model folder of files (path → content) with c.
func push(t testing.TB, c *client.Client, name, version string, files map[string]string) *modelreg.Model {
	t.Helper()
	dir := t.TempDir()
	for p, s := range files {
		f := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := c.Push(context.Background(), dir, &modelreg.ModelImport{Name: name, Version: version, Type: "PyTorch",
		Description: "pushed by the test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// deploy creates a service using model id.
func deploy(t testing.TB, c *client.Client, name, modelID string) string {
	t.Helper()
	res, err := c.CreateService(context.Background(), &modelreg.ServiceCreate{Name: name, InferType: modelreg.InferRealTime,
		Config: []modelreg.ServiceConfig{{ModelID: modelID, Specification: "modelarts.vm.cpu.2u", InstanceCount: 1, Weight: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.ServiceID
}

// browser is a cookie-keeping HTTP client of the console that does not
// follow redirects.
type browser struct {
	t    testing.TB
	base string
	hc   *http.Client
}

func (e *env) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: e.srv.URL, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is an answer of the console.
type page struct {
	status int
	header http.Header
	body   string
}

var reCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the page's first form.
func (p page) csrf(t testing.TB) string {
	t.Helper()
	m := reCSRF.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", p.body)
	}
	return m[1]
}

func (b *browser) do(method, path string, form url.Values, header http.Header) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do(http.MethodGet, path, nil, nil) }

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	return b.do(http.MethodPost, path, form, nil)
}

// signIn signs in through the form and fails the test unless it worked.
func (b *browser) signIn(user, project string) {
	b.t.Helper()
	p := b.signInPage(user, password(user), project)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/models" {
		b.t.Fatalf("sign in as %s: %d %s\n%s", user, p.status, p.header.Get("Location"), p.body)
	}
}

func (b *browser) signInPage(user, pw, project string) page {
	b.t.Helper()
	form := b.get("/console/signin")
	return b.post("/console/signin", url.Values{"csrf": {form.csrf(b.t)}, "user": {user}, "password": {pw}, "project": {project}})
}
