package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
)

// pagesOf lists the console's pages (GETs) for a signed-in user, given a
// model and a service of the project.
func pagesOf(modelID, modelName, serviceID, accessKey string) []string {
	return []string{
		"/console/models", "/console/models?q=" + url.QueryEscape(modelName) + "&type=PyTorch&status=published&sort=model_size&order=asc",
		"/console/names/" + url.PathEscape(modelName), "/console/models/" + modelID,
		"/console/models/" + modelID + "/delete", "/console/models/" + modelID + "/delete?cascade=true",
		"/console/services", "/console/services/" + serviceID, "/console/services/" + serviceID + "/stop",
		"/console/keys", "/console/keys/" + accessKey + "/revoke", "/console/projects", "/console/import", "/console/upload",
		"/console/trash", "/console/trash?q=" + url.QueryEscape(modelName) + "&page=1", "/console/trash/purge",
		"/console/events", "/console/events?action=model.delete&resource_id=" + url.QueryEscape(modelID) + "&since=2024-01-01T00:00&until=2999-01-01T00:00:00",
		"/console/cleanup",
		"/console/no-such-page",
	}
}

// TestSecurityHeaders: every console answer, signed in or not, page, error
// or static file, has the strict CSP and the other security headers; pages
// are not cached; the session cookie is HttpOnly and SameSite=Strict.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, nil)
	m := push(t, e.alice, "resnet", "1.0.0", map[string]string{"model/weights.bin": "weights"})
	svc := deploy(t, e.alice, "resnet-svc", m.ID)
	keys, err := e.alice.ListCredentials(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	check := func(path string, p page) {
		t.Helper()
		csp := p.header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s: CSP allows inline code: %q", path, csp)
		}
		if p.header.Get("X-Content-Type-Options") != "nosniff" || p.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: headers %v", path, p.header)
		}
		if p.header.Get("X-Request-Id") == "" {
			t.Errorf("GET %s: no X-Request-Id", path)
		}
		if strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
			if p.header.Get("Cache-Control") != "no-store" {
				t.Errorf("GET %s: Cache-Control %q", path, p.header.Get("Cache-Control"))
			}
			if strings.Contains(p.body, "<script>") || strings.Contains(p.body, " style=") || strings.Contains(p.body, "<style") || strings.Contains(p.body, " on") && strings.Contains(p.body, "onclick") {
				t.Errorf("GET %s: inline script or style in the page", path)
			}
		}
	}
	for _, path := range []string{"/", "/console/", "/console/signin", "/console/static/console.css", "/console/static/console.js", "/console/models"} {
		check(path, b.get(path))
	}
	signin := e.browser(t).get("/console/signin")
	if ck := signin.header.Get("Set-Cookie"); !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") || strings.Contains(ck, "Secure") {
		t.Errorf("anonymous cookie over plain HTTP: %q", ck)
	}
	// Behind a TLS-terminating proxy the cookie is Secure.
	for _, h := range []http.Header{{"X-Forwarded-Proto": {"https"}}, {"Forwarded": {"for=1.2.3.4;proto=https"}}} {
		if ck := e.browser(t).do(http.MethodGet, "/console/signin", nil, h).header.Get("Set-Cookie"); !strings.Contains(ck, "; Secure") {
			t.Errorf("cookie behind a TLS proxy (%v): %q", h, ck)
		}
	}
	p := b.signInPage("alice", password("alice"), "alpha")
	if ck := p.header.Get("Set-Cookie"); !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") || !strings.Contains(ck, "Path=/console/") {
		t.Errorf("session cookie: %q", ck)
	}
	if strings.Contains(p.header.Get("Location"), "token") || strings.Contains(p.header.Get("Location"), "password") {
		t.Errorf("a secret in a URL: %q", p.header.Get("Location"))
	}
	policy, err := e.alice.CreateCleanupPolicy(context.Background(), policyBody("res*", 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	paths := append(pagesOf(m.ID, m.Name, svc, keys[0].AccessKey), "/console/cleanup/"+policy, "/console/cleanup/"+policy+"/delete")
	for _, path := range paths {
		p := b.get(path)
		check(path, p)
		want := http.StatusOK
		if path == "/console/no-such-page" {
			want = http.StatusNotFound
		}
		if p.status != want {
			t.Errorf("GET %s: %d, want %d\n%s", path, p.status, want, p.body)
		}
	}
	dl := b.get("/console/models/" + m.ID + "/files/model/weights.bin")
	check("download", dl)
	if dl.status != http.StatusOK || dl.body != "weights" {
		t.Errorf("download: %d %q", dl.status, dl.body)
	}
	if p := b.get("/console/models/" + m.ID + "/files/model/nothing.bin"); p.status != http.StatusNotFound ||
		!strings.Contains(p.header.Get("Content-Type"), "text/html") || !strings.Contains(p.body, "ModelArts.") {
		t.Errorf("download of a missing file: %d %q\n%s", p.status, p.header.Get("Content-Type"), p.body)
	}
}

// TestCSRF: every state-changing request without the page's CSRF token is
// refused with 403 ModelArts.0108 and changes nothing.
func TestCSRF(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	m := push(t, e.alice, "resnet", "1.0.0", map[string]string{"a.txt": "a"})
	svc := deploy(t, e.alice, "svc", m.ID)
	keys, err := e.alice.ListCredentials(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	policy, err := e.alice.CreateCleanupPolicy(ctx, policyBody("*", 1, 0))
	if err != nil {
		t.Fatal(err)
	}

	// Sign-in itself needs the token of the sign-in form.
	anon := e.browser(t)
	anon.get("/console/signin")
	p := anon.post("/console/signin", url.Values{"user": {"alice"}, "password": {password("alice")}, "project": {"alpha"}})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, modelreg.CodeNotAuthorized) {
		t.Errorf("sign in without CSRF: %d\n%s", p.status, p.body)
	}

	b := e.browser(t)
	b.signIn("alice", "alpha")
	good := b.get("/console/keys").csrf(t)
	other := e.browser(t)
	other.signIn("alice", "alpha")
	foreign := other.get("/console/keys").csrf(t) // another session's token

	posts := []struct {
		path string
		form url.Values
	}{
		{"/console/keys", url.Values{"description": {"x"}}},
		{"/console/keys/" + keys[0].AccessKey + "/revoke", url.Values{}},
		{"/console/models/" + m.ID + "/delete", url.Values{"cascade": {"false"}}},
		{"/console/services/" + svc + "/stop", url.Values{}},
		{"/console/services/" + svc + "/delete", url.Values{}},
		{"/console/import", url.Values{"name": {"x"}, "version": {"1.0.0"}, "source_location": {"/tmp"}, "type": {"PyTorch"}}},
		{"/console/projects", url.Values{"project_name": {"alpha"}, "password": {password("alice")}}},
		{"/console/models/" + m.ID + "/protection", url.Values{"protected": {"true"}, "reason": {"x"}}},
		{"/console/trash/" + m.ID + "/restore", url.Values{}},
		{"/console/trash/" + m.ID + "/purge", url.Values{}},
		{"/console/trash/purge", url.Values{}},
		{"/console/cleanup", url.Values{"name_pattern": {"x"}, "keep_last": {"1"}, "keep_days": {"0"}}},
		{"/console/cleanup/" + policy + "/enabled", url.Values{"enabled": {"false"}}},
		{"/console/cleanup/" + policy + "/delete", url.Values{}},
		{"/console/signout", url.Values{}},
	}
	for _, tc := range posts {
		for name, token := range map[string]string{"none": "", "wrong": "x" + good, "other session's": foreign} {
			form := url.Values{}
			for k, v := range tc.form {
				form[k] = v
			}
			if token != "" {
				form.Set("csrf", token)
			}
			p := b.post(tc.path, form)
			if p.status != http.StatusForbidden || !strings.Contains(p.body, modelreg.CodeNotAuthorized) || !strings.Contains(p.body, p.header.Get("X-Request-Id")) {
				t.Errorf("POST %s with %s CSRF token: %d\n%s", tc.path, name, p.status, p.body)
			}
		}
	}
	// The upload calls of console.js carry it in a header.
	for _, path := range []string{"/console/api/uploads", "/console/api/uploads/x/commit"} {
		p := b.do(http.MethodPost, path, url.Values{}, nil)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, `"error_code":"ModelArts.0108"`) {
			t.Errorf("POST %s without CSRF header: %d %s", path, p.status, p.body)
		}
	}

	// Nothing changed.
	if ks, _ := e.alice.ListCredentials(ctx, ""); len(ks) != len(keys) || ks[0].Status != modelreg.CredentialActive {
		t.Errorf("keys changed: %+v", ks)
	}
	if _, err := e.alice.GetModel(ctx, m.ID); err != nil {
		t.Errorf("model gone: %v", err)
	}
	if s, err := e.alice.GetService(ctx, svc); err != nil || s.Status == modelreg.ServiceStopped {
		t.Errorf("service: %+v %v", s, err)
	}
	if l, _ := e.alice.ListModels(ctx, modelreg.ModelFilter{}); l.TotalCount != 1 {
		t.Errorf("%d models, want 1", l.TotalCount)
	}
	if ps, _ := e.alice.ListCleanupPolicies(ctx); len(ps) != 1 || ps[0].ID != policy || !ps[0].Enabled {
		t.Errorf("cleanup policies changed: %+v", ps)
	}
	if p := b.get("/console/models"); p.status != http.StatusOK {
		t.Errorf("signed out by a CSRF-less POST: %d", p.status)
	}

	// With the token, the same POST works.
	p = b.post("/console/keys", url.Values{"csrf": {good}, "description": {"made in the console"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "shown this once") {
		t.Errorf("POST /console/keys with the token: %d\n%s", p.status, p.body)
	}
	if p.header.Get("Cache-Control") != "no-store" {
		t.Errorf("the page with a secret is cacheable: %q", p.header.Get("Cache-Control"))
	}
}

// TestSessionExpiry: the session ends with its token. Once the API finds
// the token expired, pages send the user to sign in again with 0202.
func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser(t)
	b.signIn("alice", "alpha")
	if p := b.get("/console/models"); p.status != http.StatusOK {
		t.Fatalf("models: %d", p.status)
	}
	e.clk.Advance(e.auth.TokenTTL() + time.Minute)
	p := b.get("/console/models")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/signin?expired=1" {
		t.Fatalf("models after the token expired: %d %q", p.status, p.header.Get("Location"))
	}
	if ck := p.header.Get("Set-Cookie"); !strings.Contains(ck, "Max-Age=0") {
		t.Errorf("the expired session's cookie is kept: %q", ck)
	}
	if p := b.get("/console/signin?expired=1"); !strings.Contains(p.body, modelreg.CodeTokenExpired) {
		t.Errorf("sign-in page does not say the session expired:\n%s", p.body)
	}
	// Without a session every page goes to the sign-in form, and the JSON
	// calls get a 401.
	if p := b.get("/console/keys"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/console/signin") {
		t.Errorf("keys without a session: %d %q", p.status, p.header.Get("Location"))
	}
	if p := b.do(http.MethodPost, "/console/api/uploads", url.Values{}, nil); p.status != http.StatusUnauthorized {
		t.Errorf("upload call without a session: %d", p.status)
	}
}

// TestSignOut: signing out revokes the token, so the cookie is worthless
// even if it was copied.
func TestSignOut(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser(t)
	b.signIn("alice", "alpha")
	u, _ := url.Parse(e.srv.URL + "/console/")
	stolen := b.hc.Jar.Cookies(u)
	p := b.post("/console/signout", url.Values{"csrf": {b.get("/console/models").csrf(t)}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/signin?signedout=1" {
		t.Fatalf("sign out: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	thief := e.browser(t)
	thief.hc.Jar.SetCookies(u, stolen)
	if p := thief.get("/console/models"); p.status != http.StatusSeeOther {
		t.Errorf("a copied cookie still works after sign-out: %d", p.status)
	}
}

// TestOtherProject: the console reaches exactly what the API lets the
// token reach: another project's model, service and key are unknown, and
// switching to a project the user is not a member of is refused with the
// API's code.
func TestOtherProject(t *testing.T) {
	e := newEnv(t, nil)
	mb := push(t, e.bob, "secret-model", "1.0.0", map[string]string{"f": "x"})
	sb := deploy(t, e.bob, "secret-svc", mb.ID)
	bobKeys, err := e.bob.ListCredentials(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	b.signIn("alice", "alpha")
	for path, code := range map[string]string{
		"/console/models/" + mb.ID:                          modelreg.CodeModelNotFound,
		"/console/models/" + mb.ID + "/delete":              modelreg.CodeModelNotFound,
		"/console/models/" + mb.ID + "/files/f":             modelreg.CodeModelNotFound,
		"/console/services/" + sb:                           modelreg.CodeServiceNotFound,
		"/console/keys/" + bobKeys[0].AccessKey + "/revoke": modelreg.CodeResourceNotFound,
	} {
		p := b.get(path)
		if p.status != http.StatusNotFound || !strings.Contains(p.body, code) || !strings.Contains(p.body, p.header.Get("X-Request-Id")) {
			t.Errorf("GET %s: %d, want 404 %s with the request id\n%s", path, p.status, code, p.body)
		}
	}
	if p := b.get("/console/models?q=secret"); !strings.Contains(p.body, "0 models match") {
		t.Errorf("bob's model is listed to alice:\n%s", p.body)
	}
	csrf := b.get("/console/keys").csrf(t)
	for path, form := range map[string]url.Values{
		"/console/models/" + mb.ID + "/delete":              {"cascade": {"false"}},
		"/console/services/" + sb + "/delete":               {},
		"/console/keys/" + bobKeys[0].AccessKey + "/revoke": {},
	} {
		form.Set("csrf", csrf)
		if p := b.post(path, form); p.status != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404\n%s", path, p.status, p.body)
		}
	}
	if _, err := e.bob.GetModel(context.Background(), mb.ID); err != nil {
		t.Errorf("bob's model: %v", err)
	}
	// Alice is not a member of beta: the API refuses the token.
	p := b.post("/console/projects", url.Values{"csrf": {csrf}, "project_name": {"beta"}, "password": {password("alice")}})
	if p.status < 400 || !strings.Contains(p.body, "ModelArts.") || !strings.Contains(p.body, p.header.Get("X-Request-Id")) {
		t.Errorf("switch to beta: %d\n%s", p.status, p.body)
	}
	if p := b.get("/console/models"); p.status != http.StatusOK || !strings.Contains(p.body, ">alpha<") {
		t.Errorf("session changed by a refused switch: %d", p.status)
	}
	// An admin sees every project and switches with the password.
	admin := e.browser(t)
	admin.signIn("admin", "alpha")
	pp := admin.get("/console/projects")
	if !strings.Contains(pp.body, "alpha") || !strings.Contains(pp.body, "beta") {
		t.Errorf("admin's projects:\n%s", pp.body)
	}
}

// TestActions: the console's actions do what the same API calls do, and
// show the API's refusals with their codes.
func TestActions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	v1 := push(t, e.alice, "gpt", "1.0.0", map[string]string{"a": "1"})
	push(t, e.alice, "gpt", "2.0.0", map[string]string{"a": "2"})
	push(t, e.alice, "gpt", "3.0.0", map[string]string{"a": "3"})
	svc := deploy(t, e.alice, "svc", v1.ID)
	b := e.browser(t)
	b.signIn("alice", "alpha")
	csrf := b.get("/console/models").csrf(t)
	post := func(path string, form url.Values) page {
		t.Helper()
		form.Set("csrf", csrf)
		return b.post(path, form)
	}

	// Import: the model exists, publishing, and the page goes to it.
	p := post("/console/import", url.Values{"name": {"imported"}, "version": {"1.0.0"}, "source_location": {"/models/x"}, "type": {"PyTorch"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/console/models/") {
		t.Fatalf("import: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	id := strings.TrimPrefix(p.header.Get("Location"), "/console/models/")
	if m, err := e.alice.GetModel(ctx, id); err != nil || m.Status != modelreg.ModelPublishing || m.SourceLocation != "/models/x" {
		t.Errorf("imported model: %+v %v", m, err)
	}
	// A refused import shows the API's code and keeps the form.
	p = post("/console/import", url.Values{"name": {"imported"}, "version": {"1.0.0"}, "source_location": {"/models/x"}, "type": {"PyTorch"}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, modelreg.CodeModelExists) || !strings.Contains(p.body, `value="/models/x"`) {
		t.Errorf("duplicate import: %d\n%s", p.status, p.body)
	}

	// A cascade without the typed name deletes nothing.
	p = post("/console/models/"+v1.ID+"/delete", url.Values{"cascade": {"true"}, "confirm_name": {"gp"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, modelreg.CodeInvalidArgument) {
		t.Errorf("cascade without the name: %d\n%s", p.status, p.body)
	}
	if l, _ := e.alice.ListModels(ctx, modelreg.ModelFilter{Name: "gpt", ExactMatch: true}); l.TotalCount != 3 {
		t.Errorf("%d versions of gpt after a refused cascade, want 3", l.TotalCount)
	}
	// With it: the deployed version stays (3009), the others go.
	p = post("/console/models/"+v1.ID+"/delete", url.Values{"cascade": {"true"}, "confirm_name": {"gpt"}})
	deleted := regexp.MustCompile(`(?s)<ul id="deleted">(.*?)</ul>`).FindStringSubmatch(p.body)
	if p.status != http.StatusOK || !strings.Contains(p.body, modelreg.CodeModelDeployed) || deleted == nil || strings.Count(deleted[1], "<li>") != 2 {
		t.Errorf("cascade: %d\n%s", p.status, p.body)
	}
	if l, _ := e.alice.ListModels(ctx, modelreg.ModelFilter{Name: "gpt", ExactMatch: true}); l.TotalCount != 1 || l.Models[0].ID != v1.ID {
		t.Errorf("versions after the cascade: %+v", l)
	}

	// Services: stop, start, delete.
	for _, tc := range []struct{ action, status string }{{"stop", modelreg.ServiceStopped}, {"start", modelreg.ServiceDeploying}} {
		if p := post("/console/services/"+svc+"/"+tc.action, url.Values{}); p.status != http.StatusSeeOther {
			t.Fatalf("%s: %d\n%s", tc.action, p.status, p.body)
		}
		if s, err := e.alice.GetService(ctx, svc); err != nil || (s.Status != tc.status && s.Status != modelreg.ServiceRunning) {
			t.Errorf("after %s: %+v %v", tc.action, s, err)
		}
	}
	if p := post("/console/services/"+svc+"/delete", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("delete service: %d\n%s", p.status, p.body)
	}
	if _, err := e.alice.GetService(ctx, svc); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
		t.Errorf("service after delete: %v", err)
	}
	if p := post("/console/services/"+svc+"/explode", url.Values{}); p.status != http.StatusNotFound {
		t.Errorf("unknown action: %d", p.status)
	}

	// Keys: create shows the secret once; it works; revoke ends it.
	p = post("/console/keys", url.Values{"description": {"ci"}})
	m := regexp.MustCompile(`id="new-ak">([^<]+)<.*id="new-sk">([^<]+)<`).FindStringSubmatch(strings.ReplaceAll(p.body, "\n", " "))
	if m == nil {
		t.Fatalf("no new key in\n%s", p.body)
	}
	if strings.Contains(b.get("/console/keys").body, m[2]) {
		t.Error("the secret is shown again")
	}
	if p := post("/console/keys/"+m[1]+"/revoke", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d\n%s", p.status, p.body)
	}
	ks, _ := e.alice.ListCredentials(ctx, "")
	if !revoked(ks, m[1]) {
		t.Errorf("key %s not revoked: %+v", m[1], ks)
	}
}
