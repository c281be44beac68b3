package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/auth"
	"github.com/modelreg/modelreg/internal/httpapi"
)

// authClock is the authenticator's clock in the auth tests: set by hand.
type authClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *authClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *authClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// identity is a user with an access key, as the tests use it.
type identity struct {
	user     *modelreg.User
	ak, sk   string
	password string
}

// authEnv is a testEnv whose server authenticates: projectA ("alpha") and
// projectB ("beta"); alice (member of A), bob (member of B) and admin
// (an admin, member of A), each with an access key and a password. e.c
// signs as alice, e.cb as bob.
type authEnv struct {
	*testEnv
	clk                *authClock
	auth               *auth.Authenticator
	alice, bob, admin  identity
	aliceSig, adminSig *auth.Signer
}

// testLimits lets a client fail 5 times at once, then once a minute.
var testLimits = auth.LimiterConfig{AddrRate: 1.0 / 60, AddrBurst: 5, KeyRate: 1.0 / 60, KeyBurst: 3}

// MustServeAuth starts a server with authentication over a fresh store,
// with opts applied to its configuration.
func MustServeAuth(t *testing.T, limits auth.LimiterConfig, opts ...option) *authEnv {
	t.Helper()
	clk := &authClock{t: time.Date(2024, 3, 8, 12, 0, 0, 0, time.UTC)}
	key := make([]byte, auth.MasterKeySize)
	for i := range key {
		key[i] = byte(i)
	}
	keys, err := auth.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	var a *auth.Authenticator
	te := MustServe(t, func(cfg *httpapi.Config) {
		a, err = auth.New(auth.Config{Store: cfg.Store, Keyring: keys, Now: clk.Now, PasswordIterations: 1000,
			Limiter: auth.NewLimiter(limits)})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Auth = a
		for _, o := range opts {
			o(cfg)
		}
	})
	e := &authEnv{testEnv: te, clk: clk, auth: a}
	ctx := context.Background()
	for _, p := range []*modelreg.Project{{ID: projectA, Name: "alpha"}, {ID: projectB, Name: "beta"}} {
		if err := te.store.CreateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	e.alice = e.mustIdentity(t, "alice", false, projectA)
	e.bob = e.mustIdentity(t, "bob", false, projectB)
	e.admin = e.mustIdentity(t, "admin", true, projectA)
	e.aliceSig = &auth.Signer{AccessKey: e.alice.ak, SecretKey: e.alice.sk, Now: clk.Now}
	e.adminSig = &auth.Signer{AccessKey: e.admin.ak, SecretKey: e.admin.sk, Now: clk.Now}
	e.c = e.mustClient(t, projectA, client.WithSigner(e.aliceSig.Sign))
	e.cb = e.mustClient(t, projectB, client.WithSigner((&auth.Signer{AccessKey: e.bob.ak, SecretKey: e.bob.sk, Now: clk.Now}).Sign))
	return e
}

// mustIdentity creates a user with a password and an access key.
func (e *authEnv) mustIdentity(t *testing.T, name string, admin bool, projects ...string) identity {
	t.Helper()
	id := identity{password: name + "-password"}
	hash, err := e.auth.HashPassword(id.password)
	if err != nil {
		t.Fatal(err)
	}
	id.user = &modelreg.User{Name: name, Admin: admin, PasswordHash: hash, ProjectIDs: projects}
	if err := e.store.CreateUser(context.Background(), id.user); err != nil {
		t.Fatal(err)
	}
	c, sk, err := e.auth.NewCredential(context.Background(), id.user.ID, name+" key", "", "")
	if err != nil {
		t.Fatal(err)
	}
	id.ak, id.sk = c.AccessKey, sk
	return id
}

// mustClient returns a client of the test server for project.
func (e *authEnv) mustClient(t *testing.T, project string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(e.srv.URL, project, append([]client.Option{client.WithHTTPClient(e.hc)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// request builds a request to the test server; body may be nil.
func (e *authEnv) request(t *testing.T, method, target string, body []byte) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, e.srv.URL+target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// do sends r and reads the response.
func (e *authEnv) do(t *testing.T, r *http.Request) rawResponse {
	t.Helper()
	resp, err := e.hc.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// wantError checks a response's status and ModelArts code and that it has
// a request id.
func wantError(t *testing.T, r rawResponse, status int, code string) {
	t.Helper()
	got, msg := decodeErrorBody(t, r.body)
	if r.status != status || got != code {
		t.Errorf("got %d %s (%s), want %d %s", r.status, got, msg, status, code)
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
}

var importBody = []byte(`{"model_name":"m","model_version":"1.0.0","model_type":"TensorFlow","source_location":"obs://b/m"}`)

// TestAuthNegative sends requests that must be refused, each with the
// ModelArts code of its failure, and checks that none changed anything.
func TestAuthNegative(t *testing.T) { eachStore(t, testAuthNegative) }

func testAuthNegative(t *testing.T) {
	e := MustServeAuth(t, auth.LimiterConfig{AddrRate: 1000, AddrBurst: 1000, KeyRate: 1000, KeyBurst: 1000})
	MustImport(t, e.c, newImport("existing", "1.0.0"))
	models := "/v1/" + projectA + "/models"
	sign := func(s *auth.Signer, r *http.Request, body []byte) *http.Request {
		t.Helper()
		if err := s.Sign(r, body); err != nil {
			t.Fatal(err)
		}
		return r
	}
	token, err := e.c.IssueToken(context.Background(), client.TokenRequest{UserName: "alice", Password: e.alice.password, ProjectName: "alpha"})
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		req    func() *http.Request
		status int
		code   string
	}{
		{"NoCredential", func() *http.Request { return e.request(t, "GET", models, nil) }, 401, modelreg.CodeTokenMissing},
		{"DateWithoutAuthorization", func() *http.Request {
			r := e.request(t, "GET", models, nil)
			r.Header.Set("X-Sdk-Date", e.clk.Now().Format(auth.DateFormat))
			return r
		}, 401, modelreg.CodeNoAuthorization},
		{"MalformedAuthorization", func() *http.Request {
			r := sign(e.aliceSig, e.request(t, "GET", models, nil), nil)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Access=", "Acces=", 1))
			return r
		}, 401, modelreg.CodeAKSKInvalid},
		{"OtherScheme", func() *http.Request {
			r := e.request(t, "GET", models, nil)
			r.Header.Set("Authorization", "Bearer "+token.Token)
			return r
		}, 401, modelreg.CodeAKSKInvalid},
		{"WrongSK", func() *http.Request {
			s := &auth.Signer{AccessKey: e.alice.ak, SecretKey: e.bob.sk, Now: e.clk.Now}
			return sign(s, e.request(t, "GET", models, nil), nil)
		}, 401, modelreg.CodeAuthCheckFailed},
		{"UnknownAK", func() *http.Request {
			s := &auth.Signer{AccessKey: "UNKNOWNACCESSKEY0000", SecretKey: e.alice.sk, Now: e.clk.Now}
			return sign(s, e.request(t, "GET", models, nil), nil)
		}, 401, modelreg.CodeAKSKInvalid},
		{"StaleDate", func() *http.Request {
			s := &auth.Signer{AccessKey: e.alice.ak, SecretKey: e.alice.sk, Now: func() time.Time { return e.clk.Now().Add(-15*time.Minute - time.Second) }}
			return sign(s, e.request(t, "POST", models, importBody), importBody)
		}, 401, modelreg.CodeAuthCheckFailed},
		{"FutureDate", func() *http.Request {
			s := &auth.Signer{AccessKey: e.alice.ak, SecretKey: e.alice.sk, Now: func() time.Time { return e.clk.Now().Add(15*time.Minute + time.Second) }}
			return sign(s, e.request(t, "POST", models, importBody), importBody)
		}, 401, modelreg.CodeAuthCheckFailed},
		{"MalformedDate", func() *http.Request {
			r := sign(e.aliceSig, e.request(t, "GET", models, nil), nil)
			r.Header.Set("X-Sdk-Date", "2024-03-08T12:00:00Z")
			return r
		}, 401, modelreg.CodeAKSKInvalid},
		{"TamperedBody", func() *http.Request {
			r := sign(e.aliceSig, e.request(t, "POST", models, importBody), importBody)
			tampered := bytes.Replace(importBody, []byte(`"m"`), []byte(`"x"`), 1)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(tampered)), int64(len(tampered))
			return r
		}, 401, modelreg.CodeAuthCheckFailed},
		{"TamperedContentHash", func() *http.Request {
			r := sign(e.aliceSig, e.request(t, "POST", models, importBody), importBody)
			r.Header.Set("X-Sdk-Content-Sha256", auth.PayloadHash([]byte("{}")))
			return r
		}, 401, modelreg.CodeAuthCheckFailed},
		{"UnsignedPayloadAddedAfterSigning", func() *http.Request {
			r := sign(e.aliceSig, e.request(t, "POST", models, importBody), importBody)
			r.Header.Set("X-Sdk-Content-Sha256", auth.UnsignedPayload)
			return r
		}, 401, modelreg.CodeAuthCheckFailed},
		{"TamperedQuery", func() *http.Request {
			r := sign(e.aliceSig, e.request(t, "DELETE", models+"/"+modelreg.NewID()+"?cascade=false", nil), nil)
			r.URL.RawQuery = "cascade=true"
			return r
		}, 401, modelreg.CodeAuthCheckFailed},
		{"TamperedPath", func() *http.Request {
			r := sign(e.aliceSig, e.request(t, "GET", models+"/"+modelreg.NewID(), nil), nil)
			r.URL.Path = models + "/" + modelreg.NewID()
			return r
		}, 401, modelreg.CodeAuthCheckFailed},
		{"TamperedMethod", func() *http.Request {
			r := sign(e.aliceSig, e.request(t, "GET", models+"/"+modelreg.NewID(), nil), nil)
			r.Method = "DELETE"
			return r
		}, 401, modelreg.CodeAuthCheckFailed},
		{"SignedHeaderChanged", func() *http.Request {
			r := e.request(t, "GET", models, nil)
			r.Header.Set("X-Custom", "signed value")
			sign(e.aliceSig, r, nil)
			r.Header.Set("X-Custom", "other value")
			return r
		}, 401, modelreg.CodeAuthCheckFailed},
		{"SignatureOverOtherHeaders", func() *http.Request {
			// A valid signature over host;x-sdk-date presented as one
			// over more headers.
			r := e.request(t, "GET", models, nil)
			r.Header.Set("X-Custom", "v")
			sign(e.aliceSig, r, nil)
			az, err := auth.ParseAuthorization(r.Header.Get("Authorization"))
			if err != nil {
				t.Fatal(err)
			}
			az.SignedHeaders = []string{"host", "x-sdk-date"}
			r.Header.Set("Authorization", az.String())
			return r
		}, 401, modelreg.CodeAuthCheckFailed},
		{"SignedHeaderMissing", func() *http.Request {
			r := e.request(t, "GET", models, nil)
			r.Header.Set("X-Custom", "v")
			sign(e.aliceSig, r, nil)
			r.Header.Del("X-Custom")
			return r
		}, 401, modelreg.CodeAuthCheckFailed},
		{"HostChanged", func() *http.Request {
			r := sign(e.aliceSig, e.request(t, "GET", models, nil), nil)
			r.Host = "other.example:80"
			return r
		}, 401, modelreg.CodeAuthCheckFailed},
		{"TokenAndSignature", func() *http.Request {
			r := sign(e.aliceSig, e.request(t, "GET", models, nil), nil)
			r.Header.Set("X-Auth-Token", token.Token)
			return r
		}, 401, modelreg.CodeAKSKInvalid},
		{"UnknownToken", func() *http.Request {
			r := e.request(t, "GET", models, nil)
			r.Header.Set("X-Auth-Token", "mrt_"+strings.Repeat("A", 43))
			return r
		}, 401, modelreg.CodeTokenInvalid},
		{"EmptyToken", func() *http.Request {
			r := e.request(t, "GET", models, nil)
			r.Header.Set("X-Auth-Token", "")
			return r
		}, 401, modelreg.CodeTokenMissing},
		{"OtherProjectAKSK", func() *http.Request {
			return sign(e.aliceSig, e.request(t, "GET", "/v1/"+projectB+"/models", nil), nil)
		}, 403, modelreg.CodeProjectMismatch},
		{"OtherProjectToken", func() *http.Request {
			r := e.request(t, "POST", "/v1/"+projectB+"/models", importBody)
			r.Header.Set("X-Auth-Token", token.Token)
			return r
		}, 403, modelreg.CodeProjectMismatch},
		{"OtherProjectModelNames", func() *http.Request {
			return sign(e.aliceSig, e.request(t, "GET", "/modelreg/v1/"+projectB+"/model-names?model_name=a", nil), nil)
		}, 403, modelreg.CodeProjectMismatch},
		{"ProjectHeaderMismatch", func() *http.Request {
			r := e.request(t, "POST", models, importBody)
			r.Header.Set("X-Project-Id", projectB)
			return sign(e.aliceSig, r, importBody)
		}, 403, modelreg.CodeProjectMismatch},
		{"UnknownRouteUnauthenticated", func() *http.Request { return e.request(t, "GET", "/nowhere", nil) }, 401, modelreg.CodeTokenMissing},
		// Syntax errors are 400s before authentication, signed or not.
		{"MalformedQuery", func() *http.Request { return e.request(t, "GET", models+"?a=%zz", nil) }, 400, modelreg.CodeInvalidArgument},
		{"MalformedQuerySigned", func() *http.Request {
			r := sign(e.aliceSig, e.request(t, "GET", models, nil), nil)
			r.URL.RawQuery = "a=%zz"
			return r
		}, 400, modelreg.CodeInvalidArgument},
		{"SemicolonQueryToken", func() *http.Request {
			r := e.request(t, "GET", models+"?limit=1;offset=2", nil)
			r.Header.Set("X-Auth-Token", token.Token)
			return r
		}, 400, modelreg.CodeInvalidArgument},
		{"DotDotPath", func() *http.Request { return e.request(t, "GET", "/v1/../x/models", nil) }, 400, modelreg.CodeInvalidArgument},
		{"DotDotPathSigned", func() *http.Request {
			r := e.request(t, "POST", "/v1/"+projectB+"/../"+projectA+"/models", importBody)
			r.Header.Set("X-Auth-Token", token.Token)
			return r
		}, 400, modelreg.CodeInvalidArgument},
		{"DoubleSlashPath", func() *http.Request { return e.request(t, "GET", "/"+models, nil) }, 400, modelreg.CodeInvalidArgument},
		{"TokenRouteDotPath", func() *http.Request { return e.request(t, "POST", "/v3/./auth/tokens", []byte("{}")) }, 400, modelreg.CodeInvalidArgument},
		{"IAMUnauthenticated", func() *http.Request { return e.request(t, "GET", "/v3/projects", nil) }, 401, modelreg.CodeTokenMissing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, e.testEnv)
			wantError(t, e.do(t, tc.req()), tc.status, tc.code)
			if diff := diffState(before, snapshot(t, e.testEnv)); diff != "" {
				t.Errorf("state changed:\n%s", diff)
			}
		})
	}

	// The same requests, untampered, succeed.
	for _, r := range []*http.Request{
		sign(e.aliceSig, e.request(t, "POST", models, importBody), importBody),
		func() *http.Request {
			r := e.request(t, "GET", models+"?model_name=a%20b&limit=5", nil)
			r.Header.Set("X-Project-Id", projectA)
			r.Header.Set("X-Custom", "  spaced  ")
			return sign(e.aliceSig, r, nil)
		}(),
		func() *http.Request { // an unsigned header may change
			r := sign(e.aliceSig, e.request(t, "GET", models, nil), nil)
			r.Header.Set("Accept-Language", "fr")
			return r
		}(),
		func() *http.Request {
			s := &auth.Signer{AccessKey: e.alice.ak, SecretKey: e.alice.sk, Now: func() time.Time { return e.clk.Now().Add(-15 * time.Minute) }}
			return sign(s, e.request(t, "GET", models, nil), nil)
		}(),
		func() *http.Request {
			r := e.request(t, "GET", models, nil)
			r.Header.Set("X-Auth-Token", token.Token)
			return r
		}(),
	} {
		if resp := e.do(t, r); resp.status != http.StatusOK {
			t.Errorf("%s %s: %d %s", r.Method, r.URL, resp.status, resp.body)
		}
	}
}

// diffState compares two snapshots.
func diffState(a, b state) string {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if bytes.Equal(ja, jb) {
		return ""
	}
	return string(ja) + "\n!=\n" + string(jb)
}

// TestAuthIsolation checks that a credential reaches only its projects and
// that another project's resources are unknown, not forbidden.
func TestAuthIsolation(t *testing.T) { eachStore(t, testAuthIsolation) }

func testAuthIsolation(t *testing.T) {
	e := MustServeAuth(t, testLimits)
	ctx := context.Background()
	mine := MustImportPublished(t, e.testEnv, e.c, "mine", "1.0.0")
	svc := MustDeploy(t, e.c, "svc", mine)
	theirs := MustImport(t, e.cb, newImport("theirs", "1.0.0"))

	// Bob cannot name alice's project...
	bobInA := e.mustClient(t, projectA, client.WithSigner((&auth.Signer{AccessKey: e.bob.ak, SecretKey: e.bob.sk, Now: e.clk.Now}).Sign))
	for name, call := range map[string]func() error{
		"list":    func() error { _, err := bobInA.ListModels(ctx, modelreg.ModelFilter{}); return err },
		"get":     func() error { _, err := bobInA.GetModel(ctx, mine); return err },
		"delete":  func() error { _, err := bobInA.DeleteModel(ctx, mine, true); return err },
		"service": func() error { _, err := bobInA.GetService(ctx, svc); return err },
	} {
		err := call()
		if client.StatusCode(err) != 403 || modelreg.ErrorAPICode(err) != modelreg.CodeProjectMismatch {
			t.Errorf("bob %s in alice's project: %v", name, err)
		}
	}
	// ...and in his own project, alice's model and service do not exist.
	if _, err := e.cb.GetModel(ctx, mine); client.StatusCode(err) != 404 || modelreg.ErrorAPICode(err) != modelreg.CodeModelNotFound {
		t.Errorf("alice's model from bob's project: %v", err)
	}
	if _, err := e.cb.DeleteModel(ctx, mine, false); client.StatusCode(err) != 404 {
		t.Errorf("delete of alice's model from bob's project: %v", err)
	}
	if _, err := e.cb.GetService(ctx, svc); client.StatusCode(err) != 404 || modelreg.ErrorAPICode(err) != modelreg.CodeServiceNotFound {
		t.Errorf("alice's service from bob's project: %v", err)
	}
	if _, err := e.c.GetModel(ctx, theirs); client.StatusCode(err) != 404 {
		t.Errorf("bob's model from alice's project: %v", err)
	}
	// Everything is still there, owned by who created it.
	m, err := e.c.GetModel(ctx, mine)
	if err != nil || m.Owner != e.alice.user.ID {
		t.Errorf("alice's model: %+v, %v", m, err)
	}
	s, err := e.c.GetService(ctx, svc)
	if err != nil || s.Owner != e.alice.user.ID {
		t.Errorf("alice's service: %+v, %v", s, err)
	}
}

// TestAuthTokens covers POST and DELETE /v3/auth/tokens: issue, use,
// expiry, revoke and replay.
func TestAuthTokens(t *testing.T) { eachStore(t, testAuthTokens) }

func testAuthTokens(t *testing.T) {
	e := MustServeAuth(t, auth.LimiterConfig{AddrRate: 1000, AddrBurst: 1000, KeyRate: 1000, KeyBurst: 1000})
	ctx := context.Background()
	anon := e.mustClient(t, projectA)

	t.Run("Issue", func(t *testing.T) {
		body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","password":"alice-password","domain":{"name":"anything"}}}},"scope":{"project":{"name":"alpha"}}}}`
		r := e.do(t, e.request(t, "POST", "/v3/auth/tokens", []byte(body)))
		if r.status != http.StatusCreated {
			t.Fatalf("%d %s", r.status, r.body)
		}
		tok := r.header.Get("X-Subject-Token")
		if !strings.HasPrefix(tok, "mrt_") || len(tok) < 40 {
			t.Errorf("X-Subject-Token %q", tok)
		}
		var got struct {
			Token struct {
				Methods   []string `json:"methods"`
				ExpiresAt string   `json:"expires_at"`
				IssuedAt  string   `json:"issued_at"`
				User      struct {
					ID, Name string
					Domain   struct{ ID, Name string }
				} `json:"user"`
				Project struct {
					ID, Name string
					Domain   struct{ ID, Name string }
				} `json:"project"`
				Catalog []any `json:"catalog"`
			} `json:"token"`
		}
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatal(err)
		}
		tk := got.Token
		if tk.ExpiresAt != "2024-03-09T12:00:00.000000Z" || tk.IssuedAt != "2024-03-08T12:00:00.000000Z" ||
			tk.User.ID != e.alice.user.ID || tk.User.Name != "alice" || tk.Project.ID != projectA || tk.Project.Name != "alpha" ||
			tk.Project.Domain.ID != "default" || len(tk.Methods) != 1 || tk.Methods[0] != "password" || tk.Catalog == nil {
			t.Errorf("token body %s", r.body)
		}
		if strings.Contains(e.logs.String(), tok) || strings.Contains(e.logs.String(), "alice-password") {
			t.Error("the token or the password is in the logs")
		}
		// By user id and project id too.
		if _, err := anon.IssueToken(ctx, client.TokenRequest{UserID: e.alice.user.ID, Password: e.alice.password, ProjectID: projectA}); err != nil {
			t.Error(err)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			in     client.TokenRequest
			status int
			code   string
		}{
			{"WrongPassword", client.TokenRequest{UserName: "alice", Password: "nope-nope", ProjectName: "alpha"}, 401, modelreg.CodeAuthCheckFailed},
			{"UnknownUser", client.TokenRequest{UserName: "mallory", Password: "whatever1", ProjectName: "alpha"}, 401, modelreg.CodeAuthCheckFailed},
			{"NotAMember", client.TokenRequest{UserName: "alice", Password: e.alice.password, ProjectName: "beta"}, 401, modelreg.CodeAuthCheckFailed},
			{"UnknownProject", client.TokenRequest{UserName: "alice", Password: e.alice.password, ProjectName: "gamma"}, 401, modelreg.CodeAuthCheckFailed},
			{"NoScope", client.TokenRequest{UserName: "alice", Password: e.alice.password}, 400, modelreg.CodeNoProjectScope},
			{"NoPassword", client.TokenRequest{UserName: "alice", ProjectName: "alpha"}, 400, modelreg.CodeInvalidArgument},
		} {
			_, err := anon.IssueToken(ctx, tc.in)
			if client.StatusCode(err) != tc.status || modelreg.ErrorAPICode(err) != tc.code {
				t.Errorf("%s: %v, want %d %s", tc.name, err, tc.status, tc.code)
			}
		}
		r := e.do(t, e.request(t, "POST", "/v3/auth/tokens", []byte(`{"auth":{"identity":{"methods":["token"],"token":{"id":"x"}}}}`)))
		wantError(t, r, 400, modelreg.CodeInvalidArgument)
	})

	t.Run("AuditEvents", func(t *testing.T) {
		tok, err := anon.IssueToken(ctx, client.TokenRequest{UserName: "alice", Password: e.alice.password, ProjectName: "alpha"})
		if err != nil {
			t.Fatal(err)
		}
		c := e.mustClient(t, projectA, client.WithToken(tok.Token))
		if err := c.RevokeToken(ctx, tok.Token); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(tok.Token))
		id := hex.EncodeToString(sum[:])[:16]
		for _, action := range []string{modelreg.ActionTokenIssue, modelreg.ActionTokenRevoke} {
			list, err := e.c.ListEvents(ctx, modelreg.AuditFilter{Action: action, ResourceID: id})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Events) != 1 {
				t.Fatalf("%s events of token %s: %+v", action, id, list.Events)
			}
			ev := list.Events[0]
			if ev.ResourceType != modelreg.ResourceToken || ev.Actor.UserName != "alice" || ev.ProjectID != projectA ||
				ev.RequestID == "" || ev.Outcome != modelreg.OutcomeSuccess {
				t.Errorf("%s event: %+v", action, ev)
			}
			if b, _ := json.Marshal(ev); strings.Contains(string(b), tok.Token) {
				t.Errorf("%s event carries the token: %s", action, b)
			}
		}
	})

	t.Run("ExpireRevokeReplay", func(t *testing.T) {
		tok, err := anon.IssueToken(ctx, client.TokenRequest{UserName: "alice", Password: e.alice.password, ProjectName: "alpha"})
		if err != nil {
			t.Fatal(err)
		}
		c := e.mustClient(t, projectA, client.WithToken(tok.Token))
		if _, err := c.ImportModel(ctx, newImport("by-token", "1.0.0")); err != nil {
			t.Fatal(err)
		}
		// Bob cannot revoke alice's token: for him it does not exist.
		if err := e.cb.RevokeToken(ctx, tok.Token); client.StatusCode(err) != 404 {
			t.Errorf("bob revokes alice's token: %v", err)
		}
		if err := c.RevokeToken(ctx, tok.Token); err != nil {
			t.Fatal(err)
		}
		_, err = c.ListModels(ctx, modelreg.ModelFilter{})
		if client.StatusCode(err) != 401 || modelreg.ErrorAPICode(err) != modelreg.CodeTokenInvalid {
			t.Errorf("replayed token after revoke: %v", err)
		}

		tok2, err := anon.IssueToken(ctx, client.TokenRequest{UserName: "alice", Password: e.alice.password, ProjectName: "alpha"})
		if err != nil {
			t.Fatal(err)
		}
		c2 := e.mustClient(t, projectA, client.WithToken(tok2.Token))
		e.clk.Advance(24*time.Hour - time.Second)
		if _, err := c2.ListModels(ctx, modelreg.ModelFilter{}); err != nil {
			t.Errorf("a token one second before expiry: %v", err)
		}
		e.clk.Advance(time.Second)
		_, err = c2.ListModels(ctx, modelreg.ModelFilter{})
		if client.StatusCode(err) != 401 || modelreg.ErrorAPICode(err) != modelreg.CodeTokenExpired {
			t.Errorf("expired token: %v", err)
		}
	})
}

// TestAuthCredentials covers the access key routes and revocation.
func TestAuthCredentials(t *testing.T) { eachStore(t, testAuthCredentials) }

func testAuthCredentials(t *testing.T) {
	e := MustServeAuth(t, testLimits)
	ctx := context.Background()
	adminC := e.mustClient(t, projectA, client.WithSigner(e.adminSig.Sign))

	// Alice makes herself a second key, sees her keys only, and cannot
	// make one for bob.
	c2, sk, err := e.c.CreateCredential(ctx, "", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	if c2.UserID != e.alice.user.ID || c2.Status != modelreg.CredentialActive || !modelreg.ValidSecretKey(sk) {
		t.Fatalf("new credential %+v", c2)
	}
	mine, err := e.c.ListCredentials(ctx, "")
	if err != nil || len(mine) != 2 {
		t.Fatalf("alice's keys: %v, %v", mine, err)
	}
	if _, err := e.c.ListCredentials(ctx, e.bob.user.ID); client.StatusCode(err) != 403 || modelreg.ErrorAPICode(err) != modelreg.CodeNotAuthorized {
		t.Errorf("alice lists bob's keys: %v", err)
	}
	if _, _, err := e.c.CreateCredential(ctx, e.bob.user.ID, ""); client.StatusCode(err) != 403 {
		t.Errorf("alice creates a key for bob: %v", err)
	}
	if err := e.c.RevokeCredential(ctx, e.bob.ak); client.StatusCode(err) != 404 {
		t.Errorf("alice revokes bob's key: %v", err)
	}
	all, err := adminC.ListCredentials(ctx, "")
	if err != nil || len(all) != 4 {
		t.Fatalf("every key: %v, %v", all, err)
	}

	// The new key works, and stops working once revoked.
	laptop := e.mustClient(t, projectA, client.WithSigner((&auth.Signer{AccessKey: c2.AccessKey, SecretKey: sk, Now: e.clk.Now}).Sign))
	if _, err := laptop.ListModels(ctx, modelreg.ModelFilter{}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.RevokeCredential(ctx, c2.AccessKey); err != nil {
		t.Fatal(err)
	}
	_, err = laptop.ListModels(ctx, modelreg.ModelFilter{})
	if client.StatusCode(err) != 401 || modelreg.ErrorAPICode(err) != modelreg.CodeAKSKInvalid {
		t.Errorf("a revoked key: %v", err)
	}
	mine, _ = e.c.ListCredentials(ctx, "")
	if len(mine) != 2 || mine[1].Status != modelreg.CredentialInactive || mine[1].RevokeAt == 0 {
		t.Errorf("after the revoke: %+v", mine[1])
	}
	// The admin revokes bob's key.
	if err := adminC.RevokeCredential(ctx, e.bob.ak); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cb.ListModels(ctx, modelreg.ModelFilter{}); client.StatusCode(err) != 401 {
		t.Errorf("bob's revoked key: %v", err)
	}

	if strings.Contains(e.logs.String(), sk) || strings.Contains(e.logs.String(), e.alice.sk) {
		t.Error("a secret key is in the logs")
	}
}

// TestAuthCredentialScope checks that a key made with a project-scoped
// token has the token's scope: carol, a member of A and B, gets a token
// for A and makes a key with it; the key reaches A and not B, lists A
// only, shows its project in the credential list, and a key it makes is
// scoped too. A key made with an unscoped key reaches both.
func TestAuthCredentialScope(t *testing.T) { eachStore(t, testAuthCredentialScope) }

func testAuthCredentialScope(t *testing.T) {
	e := MustServeAuth(t, testLimits)
	ctx := context.Background()
	carol := e.mustIdentity(t, "carol", false, projectA, projectB)
	carolSig := &auth.Signer{AccessKey: carol.ak, SecretKey: carol.sk, Now: e.clk.Now}
	anon := e.mustClient(t, projectA)
	tok, err := anon.IssueToken(ctx, client.TokenRequest{UserName: "carol", Password: carol.password, ProjectName: "alpha"})
	if err != nil {
		t.Fatal(err)
	}
	tc := e.mustClient(t, projectA, client.WithToken(tok.Token))
	scoped, sk, err := tc.CreateCredential(ctx, "", "made with a token for alpha")
	if err != nil {
		t.Fatal(err)
	}
	if scoped.ProjectID != projectA {
		t.Errorf("the key made with a token for A has project %q", scoped.ProjectID)
	}
	scopedSig := &auth.Signer{AccessKey: scoped.AccessKey, SecretKey: sk, Now: e.clk.Now}
	inA := e.mustClient(t, projectA, client.WithSigner(scopedSig.Sign))
	inB := e.mustClient(t, projectB, client.WithSigner(scopedSig.Sign))
	MustImport(t, e.cb, newImport("bobs", "1.0.0"))
	if _, err := inA.ListModels(ctx, modelreg.ModelFilter{}); err != nil {
		t.Errorf("the scoped key in A: %v", err)
	}
	if _, err := inB.ListModels(ctx, modelreg.ModelFilter{}); client.StatusCode(err) != 403 || modelreg.ErrorAPICode(err) != modelreg.CodeProjectMismatch {
		t.Errorf("the scoped key reads B: %v", err)
	}
	if _, err := inB.ImportModel(ctx, newImport("x", "1.0.0")); client.StatusCode(err) != 403 {
		t.Errorf("the scoped key writes B: %v", err)
	}
	if ps, err := inA.ListProjects(ctx, ""); err != nil || len(ps) != 1 || ps[0].ID != projectA {
		t.Errorf("the scoped key's projects: %+v, %v", ps, err)
	}
	// A key made with the scoped key is scoped too.
	second, sk2, err := inA.CreateCredential(ctx, "", "made with the scoped key")
	if err != nil || second.ProjectID != projectA {
		t.Fatalf("a key made by the scoped key: %+v, %v", second, err)
	}
	inB2 := e.mustClient(t, projectB, client.WithSigner((&auth.Signer{AccessKey: second.AccessKey, SecretKey: sk2, Now: e.clk.Now}).Sign))
	if _, err := inB2.ListModels(ctx, modelreg.ModelFilter{}); client.StatusCode(err) != 403 {
		t.Errorf("the key made by the scoped key reads B: %v", err)
	}
	// A key made with carol's unscoped key reaches both projects.
	carolA := e.mustClient(t, projectA, client.WithSigner(carolSig.Sign))
	wide, skw, err := carolA.CreateCredential(ctx, "", "made with a key")
	if err != nil || wide.ProjectID != "" {
		t.Fatalf("a key made by an unscoped key: %+v, %v", wide, err)
	}
	wideB := e.mustClient(t, projectB, client.WithSigner((&auth.Signer{AccessKey: wide.AccessKey, SecretKey: skw, Now: e.clk.Now}).Sign))
	if _, err := wideB.ListModels(ctx, modelreg.ModelFilter{}); err != nil {
		t.Errorf("the unscoped key in B: %v", err)
	}
	// The credential list shows each key's scope, in the wire format too.
	list, err := carolA.ListCredentials(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	scopes := map[string]string{}
	for _, c := range list {
		scopes[c.AccessKey] = c.ProjectID
	}
	want := map[string]string{carol.ak: "", scoped.AccessKey: projectA, second.AccessKey: projectA, wide.AccessKey: ""}
	if fmt.Sprint(scopes) != fmt.Sprint(want) {
		t.Errorf("credential scopes %v, want %v", scopes, want)
	}
	r := e.request(t, "GET", "/v3.0/OS-CREDENTIAL/credentials", nil)
	if err := carolSig.Sign(r, nil); err != nil {
		t.Fatal(err)
	}
	if body := e.do(t, r).body; !strings.Contains(body, `"project_id":"`+projectA+`"`) {
		t.Errorf("the credential list does not show the scope: %s", body)
	}
}

// TestAuthAdmin covers the project and user routes.
func TestAuthAdmin(t *testing.T) { eachStore(t, testAuthAdmin) }

func testAuthAdmin(t *testing.T) {
	e := MustServeAuth(t, testLimits)
	ctx := context.Background()
	adminC := e.mustClient(t, projectA, client.WithSigner(e.adminSig.Sign))

	ps, err := e.c.ListProjects(ctx, "")
	if err != nil || len(ps) != 1 || ps[0].ID != projectA || ps[0].Name != "alpha" {
		t.Errorf("alice's projects: %+v, %v", ps, err)
	}
	ps, err = adminC.ListProjects(ctx, "")
	if err != nil || len(ps) != 2 {
		t.Errorf("the admin's projects: %+v, %v", ps, err)
	}
	ps, err = adminC.ListProjects(ctx, "beta")
	if err != nil || len(ps) != 1 || ps[0].ID != projectB {
		t.Errorf("project beta: %+v, %v", ps, err)
	}

	if err := e.c.CreateProject(ctx, &modelreg.Project{Name: "gamma"}); client.StatusCode(err) != 403 || modelreg.ErrorAPICode(err) != modelreg.CodeNotAuthorized {
		t.Errorf("alice creates a project: %v", err)
	}
	if err := e.c.CreateUser(ctx, &modelreg.User{Name: "eve"}, ""); client.StatusCode(err) != 403 {
		t.Errorf("alice creates a user: %v", err)
	}
	if _, err := e.c.ListUsers(ctx, ""); client.StatusCode(err) != 403 {
		t.Errorf("alice lists users: %v", err)
	}

	gamma := &modelreg.Project{Name: "gamma", Description: "third"}
	if err := adminC.CreateProject(ctx, gamma); err != nil {
		t.Fatal(err)
	}
	if !modelreg.ValidProjectID(gamma.ID) {
		t.Fatalf("created %+v", gamma)
	}
	if err := adminC.CreateProject(ctx, &modelreg.Project{Name: "gamma"}); client.StatusCode(err) != 409 {
		t.Errorf("a second gamma: %v", err)
	}
	// The creator is a member and can use it at once.
	inGamma := e.mustClient(t, gamma.ID, client.WithSigner(e.adminSig.Sign))
	if _, err := inGamma.ImportModel(ctx, newImport("g", "1.0.0")); err != nil {
		t.Errorf("the admin in its new project: %v", err)
	}

	carol := &modelreg.User{Name: "carol", ProjectIDs: []string{gamma.ID}}
	if err := adminC.CreateUser(ctx, carol, "carol-password"); err != nil {
		t.Fatal(err)
	}
	if err := adminC.CreateUser(ctx, &modelreg.User{Name: "dave"}, "short"); client.StatusCode(err) != 400 {
		t.Errorf("a short password: %v", err)
	}
	if err := adminC.CreateUser(ctx, &modelreg.User{Name: "dave", ProjectIDs: []string{"ffffffffffffffffffffffffffffffff"}}, ""); client.StatusCode(err) != 404 {
		t.Errorf("a user in an unknown project: %v", err)
	}
	us, err := adminC.ListUsers(ctx, "carol")
	if err != nil || len(us) != 1 || us[0].ID != carol.ID || len(us[0].ProjectIDs) != 1 {
		t.Errorf("carol: %+v, %v", us, err)
	}
	anon := e.mustClient(t, gamma.ID)
	tok, err := anon.IssueToken(ctx, client.TokenRequest{UserName: "carol", Password: "carol-password", ProjectName: "gamma"})
	if err != nil {
		t.Fatal(err)
	}
	carolC := e.mustClient(t, gamma.ID, client.WithToken(tok.Token))
	list, err := carolC.ListModels(ctx, modelreg.ModelFilter{})
	if err != nil || list.TotalCount != 1 {
		t.Errorf("carol's view of gamma: %+v, %v", list, err)
	}
	// A token sees its own project only.
	ps, err = carolC.ListProjects(ctx, "")
	if err != nil || len(ps) != 1 || ps[0].ID != gamma.ID {
		t.Errorf("carol's projects: %+v, %v", ps, err)
	}
}

// TestAuthLimiter checks that repeated failures are slowed down with 429
// and Retry-After, and that only failures are: an attacker spraying bad
// signatures for alice's access key (from one address, and from many)
// never locks out alice's correctly signed requests, nor bob's.
func TestAuthLimiter(t *testing.T) { eachStore(t, testAuthLimiter) }

func testAuthLimiter(t *testing.T) {
	e := MustServeAuth(t, testLimits)
	models := "/v1/" + projectA + "/models"
	wrong := &auth.Signer{AccessKey: e.alice.ak, SecretKey: e.bob.sk, Now: e.clk.Now}
	send := func(s *auth.Signer, from string) rawResponse {
		r := e.request(t, "GET", models, nil)
		if err := s.Sign(r, nil); err != nil {
			t.Fatal(err)
		}
		return e.serveFrom(t, r, from)
	}
	good := func(from string) {
		t.Helper()
		if r := send(e.aliceSig, from); r.status != 200 {
			t.Errorf("alice's signed request from %s: %d %s", from, r.status, r.body)
		}
	}
	// The key's bucket holds 3 failures; the 4th is a 429.
	for range 3 {
		wantError(t, send(wrong, "192.0.2.1"), 401, modelreg.CodeAuthCheckFailed)
	}
	r := send(wrong, "192.0.2.1")
	wantError(t, r, 429, modelreg.CodeBusy)
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Alice's own requests pass, from the attacker's address too.
	good("192.0.2.1")
	good("198.51.100.7")
	// Many addresses spraying the key: each bad request is refused (429,
	// the key's bucket is empty), alice is not.
	for i := range 50 {
		wantError(t, send(wrong, "203.0.113."+strconv.Itoa(i)), 429, modelreg.CodeBusy)
		if i%10 == 0 {
			good("198.51.100.7")
		}
	}
	// One address failing with unknown tokens empties its bucket (5):
	// then its failures are 429, and its valid requests still pass.
	for range 5 {
		r := e.request(t, "GET", models, nil)
		r.Header.Set("X-Auth-Token", "mrt_nope")
		wantError(t, e.serveFrom(t, r, "192.0.2.99"), 401, modelreg.CodeTokenInvalid)
	}
	r2 := e.request(t, "GET", models, nil)
	r2.Header.Set("X-Auth-Token", "mrt_nope")
	wantError(t, e.serveFrom(t, r2, "192.0.2.99"), 429, modelreg.CodeBusy)
	wantError(t, e.serveFrom(t, e.request(t, "GET", models, nil), "192.0.2.99"), 429, modelreg.CodeBusy)
	good("192.0.2.99")
	rb := e.request(t, "GET", "/v1/"+projectB+"/models", nil)
	if err := (&auth.Signer{AccessKey: e.bob.ak, SecretKey: e.bob.sk, Now: e.clk.Now}).Sign(rb, nil); err != nil {
		t.Fatal(err)
	}
	if r := e.serveFrom(t, rb, "192.0.2.99"); r.status != 200 {
		t.Errorf("bob from a slowed address: %d %s", r.status, r.body)
	}
	// After waiting, a bad signature is a 401 again.
	e.clk.Advance(time.Hour)
	wantError(t, send(wrong, "192.0.2.1"), 401, modelreg.CodeAuthCheckFailed)
	metrics := e.do(t, e.request(t, "GET", "/metrics", nil)).body
	if !strings.Contains(metrics, `modelreg_auth_failures_total{code="ModelArts.6101"}`) {
		t.Error("no auth failure metrics")
	}
}

// serveFrom sends r straight to the server's handler as if from the
// address from, and reads the response.
func (e *authEnv) serveFrom(t *testing.T, r *http.Request, from string) rawResponse {
	t.Helper()
	r.RemoteAddr = net.JoinHostPort(from, "40000")
	r.RequestURI = r.URL.RequestURI()
	w := httptest.NewRecorder()
	e.api.ServeHTTP(w, r)
	return rawResponse{status: w.Code, header: w.Result().Header, body: w.Body.String()}
}

// TestAuthPasswordLimiter checks that password guesses for one user drain
// one bucket however the user is named (name, id, id and name), that a
// guess is refused unchecked once it is empty, and that an address alice
// authenticated from before keeps a budget of its own: guessing from
// elsewhere does not lock her out.
func TestAuthPasswordLimiter(t *testing.T) { eachStore(t, testAuthPasswordLimiter) }

func testAuthPasswordLimiter(t *testing.T) {
	e := MustServeAuth(t, testLimits)
	token := func(user map[string]string, password, from string) rawResponse {
		user["password"] = password
		body, err := json.Marshal(map[string]any{"auth": map[string]any{
			"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": user}},
			"scope":    map[string]any{"project": map[string]string{"name": "alpha"}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return e.serveFrom(t, e.request(t, "POST", "/v3/auth/tokens", body), from)
	}
	// Alice logs in from her usual address.
	if r := token(map[string]string{"name": "alice"}, e.alice.password, "198.51.100.7"); r.status != 201 {
		t.Fatalf("alice: %d %s", r.status, r.body)
	}
	// Three guesses (the key bucket), each naming alice another way, each
	// from another address.
	id := e.alice.user.ID
	for i, user := range []map[string]string{{"name": "alice"}, {"id": id}, {"id": id, "name": "alice"}} {
		wantError(t, token(user, "guess-"+strconv.Itoa(i), "203.0.113."+strconv.Itoa(i)), 401, modelreg.CodeAuthCheckFailed)
	}
	// The bucket is empty for every way of naming her, and for the right
	// password from a new address: a guess is refused unchecked.
	for _, user := range []map[string]string{{"name": "alice"}, {"id": id}, {"id": id, "name": "alice"}} {
		wantError(t, token(user, "guess-x", "203.0.113.50"), 429, modelreg.CodeBusy)
		wantError(t, token(user, e.alice.password, "203.0.113.51"), 429, modelreg.CodeBusy)
	}
	// A name that is not alice's with her id is a wrong guess at alice.
	e.clk.Advance(61 * time.Second) // one failure refilled
	wantError(t, token(map[string]string{"id": id, "name": "bob"}, e.alice.password, "203.0.113.60"), 401, modelreg.CodeAuthCheckFailed)
	wantError(t, token(map[string]string{"name": "alice"}, e.alice.password, "203.0.113.61"), 429, modelreg.CodeBusy)
	// From her known address alice still gets in, however she names
	// herself.
	for _, user := range []map[string]string{{"name": "alice"}, {"id": id}, {"id": id, "name": "alice"}} {
		if r := token(user, e.alice.password, "198.51.100.7"); r.status != 201 {
			t.Errorf("alice from her address (%v): %d %s", user, r.status, r.body)
		}
	}
	// Bob is not affected.
	if r := token(map[string]string{"name": "bob"}, e.bob.password, "203.0.113.0"); r.status != 201 && !strings.Contains(r.body, "no access") {
		t.Errorf("bob: %d %s", r.status, r.body)
	}
	// An unknown user behaves as a known one: a bucket of its own.
	for range 3 {
		wantError(t, token(map[string]string{"name": "mallory"}, "guess", "192.0.2.200"), 401, modelreg.CodeAuthCheckFailed)
	}
	wantError(t, token(map[string]string{"name": "mallory"}, "guess", "192.0.2.201"), 429, modelreg.CodeBusy)
}

// TestAuthTrustedProxies checks that X-Forwarded-For is believed only from
// a trusted proxy: from one, the client's address (the rightmost hop that
// is not a trusted proxy) is the limiter's and the access log's; from
// anyone else it is ignored.
func TestAuthTrustedProxies(t *testing.T) { eachStore(t, testAuthTrustedProxies) }

func testAuthTrustedProxies(t *testing.T) {
	e := MustServeAuth(t, testLimits, func(cfg *httpapi.Config) {
		cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	})
	models := "/v1/" + projectA + "/models"
	fail := func(from, xff string) rawResponse {
		r := e.request(t, "GET", models, nil)
		r.Header.Set("X-Auth-Token", "mrt_nope")
		r.Header.Set("User-Agent", "xff-test")
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		return e.serveFrom(t, r, from)
	}
	// Behind the proxy, a broken script at 192.0.2.1 empties its own
	// bucket (5), not the proxy's: 192.0.2.2 through the same proxy still
	// gets 401s.
	for range 5 {
		wantError(t, fail("10.1.1.1", "192.0.2.1"), 401, modelreg.CodeTokenInvalid)
	}
	wantError(t, fail("10.1.1.1", "192.0.2.1"), 429, modelreg.CodeBusy)
	wantError(t, fail("10.1.1.1", "192.0.2.2"), 401, modelreg.CodeTokenInvalid)
	// The rightmost untrusted hop counts: a spoofed leftmost entry, and
	// trusted hops (a second proxy) to its right, change nothing.
	wantError(t, fail("10.1.1.1", "198.51.100.1, 192.0.2.1, 10.2.2.2"), 429, modelreg.CodeBusy)
	wantError(t, fail("fd00::1", "192.0.2.1"), 429, modelreg.CodeBusy)
	// From an untrusted peer X-Forwarded-For is ignored: the peer is the
	// client, whatever the header says.
	for range 5 {
		wantError(t, fail("198.51.100.9", "192.0.2.77"), 401, modelreg.CodeTokenInvalid)
	}
	wantError(t, fail("198.51.100.9", "192.0.2.78"), 429, modelreg.CodeBusy)
	wantError(t, fail("10.1.1.1", "192.0.2.77"), 401, modelreg.CodeTokenInvalid)
	// A proxy that forwards no header, or a garbage one, is the client.
	wantError(t, fail("10.9.9.9", ""), 401, modelreg.CodeTokenInvalid)
	wantError(t, fail("10.9.9.9", "not-an-address"), 401, modelreg.CodeTokenInvalid)
	// The access log records the client's address and the proxy's.
	logs := e.logs.String()
	if !strings.Contains(logs, `"client_ip":"192.0.2.2","user_agent":"xff-test"`) || !strings.Contains(logs, `"peer":"10.1.1.1"`) {
		t.Errorf("the access log lacks the forwarded client or the peer:\n%s", logs)
	}
	if strings.Contains(logs, `"client_ip":"192.0.2.77","user_agent":"xff-test"}`) && strings.Contains(logs, `"peer":"198.51.100.9"`) {
		t.Error("X-Forwarded-For believed from an untrusted peer")
	}
}

// TestAuthPublicRoutes checks what needs no credential.
func TestAuthPublicRoutes(t *testing.T) { eachStore(t, testAuthPublicRoutes) }

func testAuthPublicRoutes(t *testing.T) {
	e := MustServeAuth(t, testLimits)
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if r := e.do(t, e.request(t, "GET", p, nil)); r.status != 200 {
			t.Errorf("%s: %d", p, r.status)
		}
	}
	// A POST to a probe is not a public route.
	wantError(t, e.do(t, e.request(t, "POST", "/healthz", []byte("{}"))), 401, modelreg.CodeTokenMissing)
}

// TestAuthLogsNoSecrets drives every kind of credential through the server
// and checks that the logs (Debug and up) hold none of the secrets, and
// name the user of each request.
func TestAuthLogsNoSecrets(t *testing.T) { eachStore(t, testAuthLogsNoSecrets) }

func testAuthLogsNoSecrets(t *testing.T) {
	e := MustServeAuth(t, testLimits)
	ctx := context.Background()
	anon := e.mustClient(t, projectA)
	tok, err := anon.IssueToken(ctx, client.TokenRequest{UserName: "alice", Password: e.alice.password, ProjectName: "alpha"})
	if err != nil {
		t.Fatal(err)
	}
	tc := e.mustClient(t, projectA, client.WithToken(tok.Token))
	if _, err := tc.ListModels(ctx, modelreg.ModelFilter{}); err != nil {
		t.Fatal(err)
	}
	_, sk, err := e.c.CreateCredential(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	MustImport(t, e.c, newImport("m", "1.0.0"))
	anon.IssueToken(ctx, client.TokenRequest{UserName: "alice", Password: "a-wrong-password", ProjectName: "alpha"})
	wrong := e.mustClient(t, projectA, client.WithSigner((&auth.Signer{AccessKey: e.alice.ak, SecretKey: "guessed-secret-key-0000", Now: e.clk.Now}).Sign))
	wrong.ListModels(ctx, modelreg.ModelFilter{})
	if err := tc.RevokeToken(ctx, tok.Token); err != nil {
		t.Fatal(err)
	}
	tc.ListModels(ctx, modelreg.ModelFilter{})

	logs := e.logs.String()
	for name, secret := range map[string]string{
		"alice's secret key": e.alice.sk, "the new secret key": sk, "the token": tok.Token,
		"the token's hash": auth.HashToken(tok.Token), "the password": e.alice.password,
		"the wrong password": "a-wrong-password", "the guessed key": "guessed-secret-key-0000",
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("%s is in the logs", name)
		}
	}
	if !strings.Contains(logs, `"user":"alice","access_key":"`+e.alice.ak+`"`) {
		t.Errorf("the access log does not name the user and key:\n%s", logs)
	}
}

// TestAuthMalformedRequests checks that a malformed query string or path
// is a 400 ModelArts.0101 answered before authentication, with or without
// a credential, and that neither it nor a 413 counts as an authentication
// failure: not in the metrics, not against the limiter.
func TestAuthMalformedRequests(t *testing.T) { eachStore(t, testAuthMalformedRequests) }

func testAuthMalformedRequests(t *testing.T) {
	e := MustServeAuth(t, testLimits, func(cfg *httpapi.Config) { cfg.MaxBodyBytes = 64 })
	models := "/v1/" + projectA + "/models"
	for _, target := range []string{models + "?a=%zz", models + "?limit=1;offset=2", "/v1/../x/models", models + "/./x"} {
		t.Run(target, func(t *testing.T) {
			for _, signed := range []bool{false, true} {
				// More than the address bucket (5) and the key bucket (3)
				// hold: a 401 would turn into a 429.
				for range 6 {
					r := e.request(t, "GET", models, nil)
					if signed {
						if err := e.aliceSig.Sign(r, nil); err != nil {
							t.Fatal(err)
						}
					}
					u, err := url.Parse(e.srv.URL + target)
					if err != nil {
						t.Fatal(err)
					}
					r.URL = u
					resp := e.do(t, r)
					wantError(t, resp, 400, modelreg.CodeInvalidArgument)
					if _, msg := decodeErrorBody(t, resp.body); !strings.Contains(msg, "query") && !strings.Contains(msg, "path") {
						t.Errorf("the message does not name the query or path: %s", msg)
					}
				}
			}
		})
	}
	// A signed body over the limit is a 413, not an authentication failure.
	big := bytes.Repeat([]byte("x"), 100)
	for range 6 {
		r := e.request(t, "POST", models, big)
		if err := e.aliceSig.Sign(r, big); err != nil {
			t.Fatal(err)
		}
		wantError(t, e.do(t, r), 413, modelreg.CodeRequestTooLarge)
	}
	// Nothing was counted: a bad signature is still a 401, not a 429.
	wrong := &auth.Signer{AccessKey: e.alice.ak, SecretKey: e.bob.sk, Now: e.clk.Now}
	r := e.request(t, "GET", models, nil)
	if err := wrong.Sign(r, nil); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do(t, r), 401, modelreg.CodeAuthCheckFailed)
	metrics := e.do(t, e.request(t, "GET", "/metrics", nil)).body
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "modelreg_auth_failures_total{") && !strings.Contains(line, modelreg.CodeAuthCheckFailed) {
			t.Errorf("counted as an authentication failure: %s", line)
		}
	}
	if !strings.Contains(metrics, `modelreg_auth_failures_total{code="`+modelreg.CodeAuthCheckFailed+`"} 1`) {
		t.Errorf("the one bad signature is not counted once:\n%s", metrics)
	}
}
