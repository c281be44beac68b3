package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/auth"
)

// TestAuthUserDisable checks PATCH /v3/users/{user_id}: a disabled user's
// access key, token and password are refused at once (the local credential
// cache is emptied), its tokens are gone for good, enabling it again
// restores its key and password, and only an admin may do it, never to
// itself.
func TestAuthUserDisable(t *testing.T) { eachStore(t, testAuthUserDisable) }

func testAuthUserDisable(t *testing.T) {
	e := MustServeAuth(t, auth.LimiterConfig{AddrRate: 1000, AddrBurst: 1000, KeyRate: 1000, KeyBurst: 1000})
	ctx := context.Background()
	adminC := e.mustClient(t, projectA, client.WithSigner(e.adminSig.Sign))
	anon := e.mustClient(t, projectA)
	login := func() (*client.Token, error) {
		return anon.IssueToken(ctx, client.TokenRequest{UserName: "alice", Password: e.alice.password, ProjectName: "alpha"})
	}
	tok, err := login()
	if err != nil {
		t.Fatal(err)
	}
	tokC := e.mustClient(t, projectA, client.WithToken(tok.Token))

	// Fill the credential cache with alice's key and token.
	if err := e.auth.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Client{e.c, tokC} {
		if _, err := c.ListModels(ctx, modelreg.ModelFilter{}); err != nil {
			t.Fatal(err)
		}
	}
	if e.auth.CacheLen() == 0 {
		t.Fatal("the credential cache is empty: the test would not show that disabling empties it")
	}

	u, err := adminC.SetUserEnabled(ctx, e.alice.user.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != e.alice.user.ID || u.Name != "alice" || !u.Disabled {
		t.Errorf("the disabled user: %+v", u)
	}
	if n := e.auth.CacheLen(); n != 0 {
		t.Errorf("after disabling, the credential cache still has %d entries", n)
	}
	refused := func(what string, err error, code string) {
		t.Helper()
		if client.StatusCode(err) != http.StatusUnauthorized || modelreg.ErrorAPICode(err) != code {
			t.Errorf("%s: %v, want 401 %s", what, err, code)
		}
	}
	_, err = e.c.ListModels(ctx, modelreg.ModelFilter{})
	refused("the disabled user's access key", err, modelreg.CodeAKSKInvalid)
	_, err = tokC.ListModels(ctx, modelreg.ModelFilter{})
	refused("the disabled user's token", err, modelreg.CodeTokenInvalid)
	_, err = login()
	refused("the disabled user's password", err, modelreg.CodeAuthCheckFailed)
	if _, err := e.cb.ListModels(ctx, modelreg.ModelFilter{}); err != nil {
		t.Errorf("bob while alice is disabled: %v", err)
	}
	us, err := adminC.ListUsers(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if u.Disabled != (u.Name == "alice") {
			t.Errorf("GET /v3/users: %s disabled=%v", u.Name, u.Disabled)
		}
	}
	r := e.do(t, e.signed(t, e.adminSig, "GET", "/v3/users?name=alice", nil))
	if r.status != http.StatusOK || !strings.Contains(r.body, `"enabled":false`) {
		t.Errorf("GET /v3/users?name=alice: %d %s", r.status, r.body)
	}

	// Disabling again changes nothing; enabling restores the key and the
	// password, not the tokens.
	if _, err := adminC.SetUserEnabled(ctx, e.alice.user.ID, false); err != nil {
		t.Errorf("disabling twice: %v", err)
	}
	u, err = adminC.SetUserEnabled(ctx, e.alice.user.ID, true)
	if err != nil || u.Disabled {
		t.Fatalf("enabling: %+v, %v", u, err)
	}
	if _, err := e.c.ListModels(ctx, modelreg.ModelFilter{}); err != nil {
		t.Errorf("the access key after enabling: %v", err)
	}
	_, err = tokC.ListModels(ctx, modelreg.ModelFilter{})
	refused("a token of before the disable", err, modelreg.CodeTokenInvalid)
	tok2, err := login()
	if err != nil {
		t.Fatalf("the password after enabling: %v", err)
	}
	if _, err := e.mustClient(t, projectA, client.WithToken(tok2.Token)).ListModels(ctx, modelreg.ModelFilter{}); err != nil {
		t.Errorf("a new token after enabling: %v", err)
	}

	// Refusals, each changing nothing.
	for _, tc := range []struct {
		name   string
		signer *auth.Signer
		id     string
		body   string
		status int
		code   string
	}{
		{"NotAdmin", e.aliceSig, e.bob.user.ID, `{"user":{"enabled":false}}`, 403, modelreg.CodeNotAuthorized},
		{"NotAdminEnabling", e.aliceSig, e.alice.user.ID, `{"user":{"enabled":true}}`, 403, modelreg.CodeNotAuthorized},
		{"Self", e.adminSig, e.admin.user.ID, `{"user":{"enabled":false}}`, 400, modelreg.CodeInvalidArgument},
		{"UnknownUser", e.adminSig, "ffffffffffffffffffffffffffffffff", `{"user":{"enabled":false}}`, 404, modelreg.CodeResourceNotFound},
		{"BadID", e.adminSig, "alice", `{"user":{"enabled":false}}`, 400, modelreg.CodeInvalidArgument},
		{"UpperCaseID", e.adminSig, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", `{"user":{"enabled":false}}`, 400, modelreg.CodeInvalidArgument},
		{"NoUser", e.adminSig, e.bob.user.ID, `{}`, 400, modelreg.CodeInvalidArgument},
		{"NullUser", e.adminSig, e.bob.user.ID, `{"user":null}`, 400, modelreg.CodeInvalidArgument},
		{"NoEnabled", e.adminSig, e.bob.user.ID, `{"user":{}}`, 400, modelreg.CodeInvalidArgument},
		{"NullEnabled", e.adminSig, e.bob.user.ID, `{"user":{"enabled":null}}`, 400, modelreg.CodeInvalidArgument},
		{"StringEnabled", e.adminSig, e.bob.user.ID, `{"user":{"enabled":"false"}}`, 400, modelreg.CodeInvalidArgument},
		{"OtherField", e.adminSig, e.bob.user.ID, `{"user":{"enabled":false,"name":"robert"}}`, 400, modelreg.CodeInvalidArgument},
		{"UserNotObject", e.adminSig, e.bob.user.ID, `{"user":[false]}`, 400, modelreg.CodeParamInvalid},
		{"NotJSON", e.adminSig, e.bob.user.ID, `enabled=false`, 400, modelreg.CodeParamInvalid},
		{"Trailing", e.adminSig, e.bob.user.ID, `{"user":{"enabled":false}} {}`, 400, modelreg.CodeParamInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := adminC.ListUsers(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			r := e.do(t, e.signed(t, tc.signer, "PATCH", "/v3/users/"+tc.id, []byte(tc.body)))
			wantError(t, r, tc.status, tc.code)
			after, err := adminC.ListUsers(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			for i := range after {
				if after[i].Disabled != before[i].Disabled {
					t.Errorf("%s changed from disabled=%v to %v", after[i].Name, before[i].Disabled, after[i].Disabled)
				}
			}
		})
	}
	for _, c := range []*client.Client{e.cb, adminC} {
		if _, err := c.ListModels(ctx, modelreg.ModelFilter{}); err != nil {
			t.Errorf("after the refusals: %v", err)
		}
	}
}

// signed returns a request signed by s; body may be nil.
func (e *authEnv) signed(t *testing.T, s *auth.Signer, method, target string, body []byte) *http.Request {
	t.Helper()
	r := e.request(t, method, target, body)
	if err := s.Sign(r, body); err != nil {
		t.Fatal(err)
	}
	return r
}
