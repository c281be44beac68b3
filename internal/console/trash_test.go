package console_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/modelreg/modelreg"
)

// TestDeletePreview: the delete dialog shows the server's dry-run preview
// (deployed 3009 and protected 3101 versions stay, the cascade limit's
// remainder), deletes nothing, and the confirmation carries the ETag read
// before it: a model changed meanwhile is a 412 that deletes nothing.
func TestDeletePreview(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, withTrash)
	v1 := push(t, e.alice, "gpt", "1.0.0", map[string]string{"a": "1"})
	v2 := push(t, e.alice, "gpt", "2.0.0", map[string]string{"a": "2"})
	v3 := push(t, e.alice, "gpt", "3.0.0", map[string]string{"a": "3"})
	deploy(t, e.alice, "svc", v1.ID)
	if _, err := e.alice.SetProtection(ctx, v2.ID, true, "golden model"); err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	b.signIn("alice", "alpha")

	p := b.get("/console/models/" + v3.ID + "/delete?cascade=true")
	plan := regexp.MustCompile(`(?s)<table id="plan">(.*?)</table>`).FindStringSubmatch(p.body)
	if p.status != http.StatusOK || plan == nil {
		t.Fatalf("dialog: %d\n%s", p.status, p.body)
	}
	for _, want := range []string{modelreg.CodeModelDeployed, modelreg.CodeModelProtected, "golden model", "dry run"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the preview lacks %q:\n%s", want, plan[1])
		}
	}
	if strings.Count(plan[1], ">deleted<") != 1 || !strings.Contains(plan[1], "3.0.0") {
		t.Errorf("preview rows:\n%s", plan[1])
	}
	if l, _ := e.alice.ListModels(ctx, modelreg.ModelFilter{Name: "gpt", ExactMatch: true}); l.TotalCount != 3 {
		t.Errorf("%d versions after the preview, want 3", l.TotalCount)
	}

	// The one-version dialog: a stale ETag is refused with 412, nothing goes.
	p = b.get("/console/models/" + v3.ID + "/delete")
	etag := regexp.MustCompile(`name="etag" value="([^"]*)"`).FindStringSubmatch(p.body)
	if etag == nil || etag[1] == "" {
		t.Fatalf("no etag in the dialog:\n%s", p.body)
	}
	csrf := p.csrf(t)
	if _, err := e.alice.SetProtection(ctx, v3.ID, true, "changed meanwhile"); err != nil {
		t.Fatal(err)
	}
	p = b.post("/console/models/"+v3.ID+"/delete", url.Values{"csrf": {csrf}, "cascade": {"false"}, "etag": {html.UnescapeString(etag[1])}})
	if p.status != http.StatusPreconditionFailed || !strings.Contains(p.body, modelreg.CodePreconditionFailed) || !strings.Contains(p.body, `id="plan"`) {
		t.Errorf("stale etag: %d\n%s", p.status, p.body)
	}
	if _, err := e.alice.GetModel(ctx, v3.ID); err != nil {
		t.Errorf("model after a refused delete: %v", err)
	}
	// The fresh dialog's ETag deletes it.
	if _, err := e.alice.SetProtection(ctx, v3.ID, false, ""); err != nil {
		t.Fatal(err)
	}
	p = b.get("/console/models/" + v3.ID + "/delete")
	etag = regexp.MustCompile(`name="etag" value="([^"]*)"`).FindStringSubmatch(p.body)
	p = b.post("/console/models/"+v3.ID+"/delete", url.Values{"csrf": {csrf}, "cascade": {"false"}, "etag": {html.UnescapeString(etag[1])}})
	if p.status != http.StatusOK || !strings.Contains(p.body, `<ul id="deleted">`) {
		t.Errorf("delete: %d\n%s", p.status, p.body)
	}
	// Deleting the protected one is refused with 3101.
	p = b.get("/console/models/" + v2.ID + "/delete")
	etag = regexp.MustCompile(`name="etag" value="([^"]*)"`).FindStringSubmatch(p.body)
	p = b.post("/console/models/"+v2.ID+"/delete", url.Values{"csrf": {csrf}, "cascade": {"false"}, "etag": {html.UnescapeString(etag[1])}})
	if !strings.Contains(p.body, modelreg.CodeModelProtected) {
		t.Errorf("protected delete: %d\n%s", p.status, p.body)
	}
	if _, err := e.alice.GetModel(ctx, v2.ID); err != nil {
		t.Errorf("protected model after delete: %v", err)
	}
}

// TestProtectionAndTrash: protect and unprotect from the model page (who
// and when shown), the trash page lists, searches, restores (409 3002 when
// the name and version are taken again), purges one and empties; every new
// form refuses a POST without the CSRF token.
func TestProtectionAndTrash(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, withTrash)
	m := push(t, e.alice, "bert", "1.0.0", map[string]string{"a": "1"})
	b := e.browser(t)
	b.signIn("alice", "alpha")
	csrf := b.get("/console/models").csrf(t)

	// CSRF-less POSTs change nothing.
	for _, path := range []string{"/console/models/" + m.ID + "/protection", "/console/trash/" + m.ID + "/restore",
		"/console/trash/" + m.ID + "/purge", "/console/trash/purge"} {
		if p := b.post(path, url.Values{"protected": {"true"}}); p.status != http.StatusForbidden {
			t.Errorf("POST %s without CSRF: %d", path, p.status)
		}
	}
	if pr, _ := e.alice.GetProtection(ctx, m.ID); pr.Protected {
		t.Error("protected by a CSRF-less POST")
	}
	// A bad reason is the API's 400 with its code, and changes nothing.
	if p := b.post("/console/models/"+m.ID+"/protection", url.Values{"csrf": {csrf}, "protected": {"true"}, "reason": {"bad\x01reason"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "ModelArts.") {
		t.Errorf("bad reason: %d\n%s", p.status, p.body)
	}
	if pr, _ := e.alice.GetProtection(ctx, m.ID); pr.Protected {
		t.Error("protected by a refused request")
	}
	// The trash's notice is never free text from the URL.
	if p := b.get("/console/trash?done=hacked&id=x"); strings.Contains(p.body, "hacked") || strings.Contains(p.body, `id="done"`) {
		t.Errorf("free text in the notice:\n%s", p.body)
	}

	if p := b.post("/console/models/"+m.ID+"/protection", url.Values{"csrf": {csrf}, "protected": {"true"}, "reason": {"in production"}}); p.status != http.StatusSeeOther {
		t.Fatalf("protect: %d\n%s", p.status, p.body)
	}
	p := b.get("/console/models/" + m.ID)
	if !strings.Contains(p.body, "in production") || !strings.Contains(p.body, "by "+e.users["alice"].ID) || !strings.Contains(p.body, `id="unprotect"`) {
		t.Errorf("model page after protect:\n%s", p.body)
	}
	if p := b.get("/console/names/bert"); !strings.Contains(p.body, `<span class="badge">protected</span>`) {
		t.Errorf("versions page lacks the protected marker:\n%s", p.body)
	}
	if p := b.post("/console/models/"+m.ID+"/protection", url.Values{"csrf": {csrf}, "protected": {"false"}}); p.status != http.StatusSeeOther {
		t.Fatalf("unprotect: %d\n%s", p.status, p.body)
	}
	if pr, _ := e.alice.GetProtection(ctx, m.ID); pr.Protected {
		t.Error("still protected")
	}

	// Trash: delete, list, search, restore.
	other := push(t, e.alice, "other", "1.0.0", map[string]string{"a": "1"})
	for _, id := range []string{m.ID, other.ID} {
		if _, err := e.alice.DeleteModel(ctx, id, false); err != nil {
			t.Fatal(err)
		}
	}
	p = b.get("/console/trash")
	if p.status != http.StatusOK || !strings.Contains(p.body, "restore-"+m.ID) || !strings.Contains(p.body, "restore-"+other.ID) {
		t.Fatalf("trash: %d\n%s", p.status, p.body)
	}
	if p := b.get("/console/trash?q=ber"); strings.Contains(p.body, "restore-"+other.ID) || !strings.Contains(p.body, "restore-"+m.ID) {
		t.Errorf("trash search:\n%s", p.body)
	}
	// Taken again: the restore is refused with 3002.
	again := push(t, e.alice, "bert", "1.0.0", map[string]string{"a": "2"})
	p = b.post("/console/trash/"+m.ID+"/restore", url.Values{"csrf": {csrf}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, modelreg.CodeModelExists) {
		t.Errorf("restore over a taken name: %d\n%s", p.status, p.body)
	}
	if _, err := e.alice.DeleteModel(ctx, again.ID, false); err != nil {
		t.Fatal(err)
	}
	p = b.post("/console/trash/"+m.ID+"/restore", url.Values{"csrf": {csrf}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("restore: %d\n%s", p.status, p.body)
	}
	if p := b.get(p.header.Get("Location")); !strings.Contains(p.body, m.ID+" restored") {
		t.Errorf("no notice after the restore:\n%s", p.body)
	}
	if _, err := e.alice.GetModel(ctx, m.ID); err != nil {
		t.Errorf("restored model: %v", err)
	}
	// Purge one, then empty the rest.
	if p := b.post("/console/trash/"+other.ID+"/purge", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("purge: %d\n%s", p.status, p.body)
	}
	if l, _ := e.alice.ListTrash(ctx, "", 0, 0); l.TotalCount != 1 || l.Models[0].ID != again.ID {
		t.Errorf("trash after purge: %+v", l)
	}
	if p := b.get("/console/trash/purge"); !strings.Contains(p.body, `id="confirm-purge"`) {
		t.Errorf("purge confirmation:\n%s", p.body)
	}
	if p := b.post("/console/trash/purge", url.Values{"csrf": {csrf}}); p.status != http.StatusOK || !strings.Contains(p.body, again.ID) {
		t.Errorf("empty: %d\n%s", p.status, p.body)
	}
	if l, _ := e.alice.ListTrash(ctx, "", 0, 0); l.TotalCount != 0 {
		t.Errorf("trash after emptying: %+v", l)
	}
}
