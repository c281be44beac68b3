package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/modelreg/modelreg"
)

var (
	reAuditRows = regexp.MustCompile(`(?s)<table class="audit">.*?<tbody>(.*?)</tbody>`)
	reNextPage  = regexp.MustCompile(`href="/console/events\?([^"]*)" id="next-page"`)
)

// auditRows returns the rows of the page's audit table, "" when it has none.
func auditRows(p page) []string {
	m := reAuditRows.FindStringSubmatch(p.body)
	if m == nil {
		return nil
	}
	return strings.Split(strings.TrimSuffix(strings.TrimSpace(m[1]), "</tr>"), "</tr>")
}

// TestEventsPage: the audit events page lists the project's events newest
// first with who, what, on which resource, the outcome and code, the
// request id and the source address; its filters (action, resource id,
// actor, since/until) and marker paging are the API's; a bad filter is
// shown with its code and request id above the form; another project's
// events are not there. A model's and a service's pages show their latest
// events with a link to the filtered events page.
func TestEventsPage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, withTrash)
	// Signed in first: signing in is an event too (token.issue), and the
	// checks below want the deletes to be the newest ones.
	b := e.browser(t)
	b.signIn("alice", "alpha")
	v1 := push(t, e.alice, "gpt", "1.0.0", map[string]string{"a": "1"})
	v2 := push(t, e.alice, "gpt", "2.0.0", map[string]string{"a": "2"})
	svc := deploy(t, e.alice, "svc", v2.ID)
	if _, err := e.alice.DeleteModel(ctx, v1.ID, false); err != nil {
		t.Fatal(err)
	}
	if res, err := e.alice.DeleteModel(ctx, v2.ID, false); err != nil || len(res.Failed) != 1 {
		t.Fatalf("delete of a deployed model: %+v %v", res, err)
	}
	mb := push(t, e.bob, "bobs-model", "1.0.0", map[string]string{"a": "b"})
	keys, err := e.alice.ListCredentials(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	p := b.get("/console/events")
	rows := auditRows(p)
	if p.status != http.StatusOK || len(rows) < 6 || !strings.Contains(p.body, `aria-current="page">Events<`) {
		t.Fatalf("events: %d, %d rows\n%s", p.status, len(rows), p.body)
	}
	if strings.Contains(p.body, "bobs-model") || strings.Contains(p.body, mb.ID) {
		t.Error("bob's event is listed to alice")
	}
	// Newest first: the refused delete, then the delete.
	if !strings.Contains(rows[0], modelreg.ActionModelDeleteRefused) || !strings.Contains(rows[1], modelreg.ActionModelDelete) {
		t.Errorf("first rows:\n%s\n%s", rows[0], rows[1])
	}
	for _, want := range []string{"failure", modelreg.CodeModelDeployed, "alice", keys[0].AccessKey, "127.0.0.1", v2.ID, "gpt"} {
		if !strings.Contains(rows[0], want) {
			t.Errorf("the refused delete's row lacks %q:\n%s", want, rows[0])
		}
	}
	// The request id shown is the API call's.
	evs, err := e.alice.ListEvents(ctx, modelreg.AuditFilter{Action: modelreg.ActionModelDelete})
	if err != nil || len(evs.Events) != 1 {
		t.Fatalf("delete events: %+v %v", evs, err)
	}
	if ev := evs.Events[0]; ev.RequestID == "" || !strings.Contains(rows[1], ev.RequestID) || !strings.Contains(rows[1], "success") {
		t.Errorf("the delete's row lacks its request id %q:\n%s", ev.RequestID, rows[1])
	}

	// Filters.
	for q, want := range map[string]int{
		"action=model.delete&resource_id=" + v1.ID:              1,
		"action=model.delete&resource_id=" + v2.ID:              0,
		"resource_id=" + v2.ID:                                  3, // import, publish, refused delete
		"actor=" + keys[0].AccessKey + "&action=service.create": 1,
		"actor=bob": 0,
		"action=model.delete&since=2000-01-01T00:00&until=2999-12-31": 1,
		"action=model.delete&until=2000-01-01T00:00:00":               0,
		"action=model.delete&since=2999-01-01":                        0,
	} {
		p := b.get("/console/events?" + q)
		if got := len(auditRows(p)); p.status != http.StatusOK || got != want {
			t.Errorf("events?%s: %d, %d rows, want %d\n%s", q, p.status, got, want, p.body)
		}
		if want == 0 && !strings.Contains(p.body, `id="no-events"`) {
			t.Errorf("events?%s: no notice of no events", q)
		}
		v, _ := url.ParseQuery(q)
		if ri := v.Get("resource_id"); ri != "" && !strings.Contains(p.body, `id="resource_id" name="resource_id" value="`+ri+`"`) {
			t.Errorf("events?%s: the form does not keep the filter", q)
		}
	}
	// Bad filters: the code and request id above the form, no table.
	for q, code := range map[string]string{
		"since=yesterday":                           modelreg.CodeInvalidArgument,
		"until=2024-13-01":                          modelreg.CodeInvalidArgument,
		"action=model.explode":                      modelreg.CodeInvalidArgument,
		"since=2024-02-01&until=2024-01-01":         modelreg.CodeInvalidArgument,
		"marker=not-an-event":                       modelreg.CodeInvalidArgument,
		"actor=" + strings.Repeat("x", 129):         modelreg.CodeInvalidArgument,
		"resource_id=" + strings.Repeat("x", 129):   modelreg.CodeInvalidArgument,
		"since=1969-12-31T23:59:59&until=2024-01-1": modelreg.CodeInvalidArgument,
	} {
		p := b.get("/console/events?" + q)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, code) || !strings.Contains(p.body, p.header.Get("X-Request-Id")) ||
			!strings.Contains(p.body, `id="filter"`) || auditRows(p) != nil {
			t.Errorf("events?%s: %d\n%s", q, p.status, p.body)
		}
	}

	// Paging by marker: 60 more events, two pages of 50, then the rest.
	for range 30 {
		if _, err := e.alice.SetProtection(ctx, v2.ID, true, "x"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.alice.SetProtection(ctx, v2.ID, false, ""); err != nil {
			t.Fatal(err)
		}
	}
	all, err := e.alice.ListEvents(ctx, modelreg.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	next, pages := "", 0
	for {
		p := b.get("/console/events?" + next)
		pages++
		for _, row := range auditRows(p) {
			for _, ev := range all.Events {
				if strings.Contains(row, ev.RequestID) && strings.Contains(row, ev.Action) {
					seen[ev.ID] = true
				}
			}
		}
		m := reNextPage.FindStringSubmatch(p.body)
		if m == nil {
			break
		}
		next = html.UnescapeString(m[1])
		if pages > 1 && !strings.Contains(p.body, `id="first-page"`) {
			t.Error("no link back to the newest events")
		}
		if pages > 5 {
			t.Fatal("more pages than events")
		}
	}
	// Each protect/unprotect pair shares no request id with another, so
	// every event is matched by its own row.
	if pages != (len(all.Events)+49)/50 || len(seen) != len(all.Events) {
		t.Errorf("%d pages, %d of %d events seen", pages, len(seen), len(all.Events))
	}
	// Paged with filters: the next link keeps them.
	p = b.get("/console/events?action=model.protect")
	if m := reNextPage.FindStringSubmatch(p.body); len(auditRows(p)) != 30 || m != nil {
		t.Errorf("protect events: %d rows, next %v", len(auditRows(p)), m)
	}

	// The model's page: its latest events, and the link to all of them.
	p = b.get("/console/models/" + v2.ID)
	box := regexp.MustCompile(`(?s)<div id="audit-events">(.*?)</div>\s*<h2>`).FindStringSubmatch(p.body)
	if p.status != http.StatusOK || box == nil {
		t.Fatalf("model page: %d\n%s", p.status, p.body)
	}
	if n := strings.Count(box[1], "<tr>") - 1; n != 10 || !strings.Contains(box[1], modelreg.ActionModelUnprotect) ||
		!strings.Contains(box[1], `href="/console/events?resource_id=`+v2.ID+`" id="all-events"`) {
		t.Errorf("model's events (%d rows):\n%s", n, box[1])
	}
	// The service's page too.
	p = b.get("/console/services/" + svc)
	if !strings.Contains(p.body, `id="audit-events"`) || !strings.Contains(p.body, modelreg.ActionServiceCreate) ||
		!strings.Contains(p.body, `href="/console/events?resource_id=`+svc+`"`) {
		t.Errorf("service page:\n%s", p.body)
	}
}

// TestCleanupPages: a policy is created from the form (a refused one keeps
// the form and shows the API's code), listed, previewed — every version of
// the matching names with what a run does and why, nothing deleted —,
// disabled and deleted after a confirmation, each change an audit event.
func TestCleanupPages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	v1 := push(t, e.alice, "gpt", "1.0.0", map[string]string{"a": "1"})
	v2 := push(t, e.alice, "gpt", "2.0.0", map[string]string{"a": "2"})
	v3 := push(t, e.alice, "gpt", "3.0.0", map[string]string{"a": "3"})
	v4 := push(t, e.alice, "gpt", "4.0.0", map[string]string{"a": "4"})
	other := push(t, e.alice, "bert", "1.0.0", map[string]string{"a": "5"})
	deploy(t, e.alice, "svc", v1.ID)
	if _, err := e.alice.SetProtection(ctx, v2.ID, true, "golden"); err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	b.signIn("alice", "alpha")
	p := b.get("/console/cleanup")
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="no-policies"`) || !strings.Contains(p.body, `aria-current="page">Cleanup<`) {
		t.Fatalf("cleanup: %d\n%s", p.status, p.body)
	}
	csrf := p.csrf(t)
	post := func(path string, form url.Values) page {
		t.Helper()
		form.Set("csrf", csrf)
		return b.post(path, form)
	}

	// Refused: the API's code, the form kept, nothing created.
	for _, tc := range []struct {
		form url.Values
		code string
	}{
		{url.Values{"name_pattern": {"gp["}, "keep_last": {"1"}, "keep_days": {"0"}}, modelreg.CodeParamInvalid},
		{url.Values{"name_pattern": {"gpt"}, "keep_last": {"0"}, "keep_days": {"0"}}, modelreg.CodeParamInvalid},
		{url.Values{"name_pattern": {"gpt"}, "keep_last": {"two"}, "keep_days": {"0"}}, modelreg.CodeParamInvalid},
		{url.Values{"name_pattern": {"gpt"}, "keep_last": {"1"}, "keep_days": {"-1"}}, modelreg.CodeParamInvalid},
		{url.Values{"name_pattern": {"gpt"}, "keep_last": {""}, "keep_days": {"0"}}, modelreg.CodeParamRequired},
		{url.Values{"name_pattern": {""}, "keep_last": {"1"}, "keep_days": {"0"}}, modelreg.CodeParamInvalid},
	} {
		p := post("/console/cleanup", tc.form)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, tc.code) || !strings.Contains(p.body, p.header.Get("X-Request-Id")) ||
			!strings.Contains(p.body, `value="`+html.EscapeString(tc.form.Get("name_pattern"))+`"`) {
			t.Errorf("create %v: %d\n%s", tc.form, p.status, p.body)
		}
	}
	if ps, _ := e.alice.ListCleanupPolicies(ctx); len(ps) != 0 {
		t.Fatalf("refused creates made policies: %+v", ps)
	}

	p = post("/console/cleanup", url.Values{"name_pattern": {"g*"}, "keep_last": {"1"}, "keep_days": {"0"}, "enabled": {"false"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/console/cleanup?done=created") {
		t.Fatalf("create: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	ps, err := e.alice.ListCleanupPolicies(ctx)
	if err != nil || len(ps) != 1 || ps[0].NamePattern != "g*" || ps[0].KeepLast != 1 || ps[0].KeepDays != 0 || ps[0].Enabled {
		t.Fatalf("policies: %+v %v", ps, err)
	}
	id := ps[0].ID
	p = b.get(p.header.Get("Location"))
	if !strings.Contains(p.body, "Policy "+id+" created.") || !strings.Contains(p.body, `href="/console/cleanup/`+id+`"`) {
		t.Errorf("list after create:\n%s", p.body)
	}

	// The preview: v4 newest, v3 deleted, v2 protected, v1 deployed; bert
	// does not match.
	p = b.get("/console/cleanup/" + id)
	m := regexp.MustCompile(`(?s)<table id="preview">.*?<tbody>(.*?)</tbody>`).FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		t.Fatalf("preview: %d\n%s", p.status, p.body)
	}
	rows := strings.Split(strings.TrimSuffix(strings.TrimSpace(m[1]), "</tr>"), "</tr>")
	want := []struct{ id, version, what string }{
		{v4.ID, "4.0.0", "newest"}, {v3.ID, "3.0.0", "would delete it"}, {v2.ID, "2.0.0", "protected"}, {v1.ID, "1.0.0", "deployed"},
	}
	if len(rows) != len(want) || strings.Contains(m[1], other.ID) {
		t.Fatalf("preview rows:\n%s", m[1])
	}
	for i, w := range want {
		if !strings.Contains(rows[i], w.id) || !strings.Contains(rows[i], ">"+w.version+"<") || !strings.Contains(rows[i], w.what) {
			t.Errorf("row %d, want %v:\n%s", i, w, rows[i])
		}
	}
	if !strings.Contains(p.body, "delete <strong>1</strong> version and keep <strong>3</strong>") ||
		!strings.Contains(p.body, "among the 1 newest versions of its name") || !strings.Contains(p.body, "used by a service") {
		t.Errorf("preview summary:\n%s", p.body)
	}
	if l, _ := e.alice.ListModels(ctx, modelreg.ModelFilter{Name: "gpt", ExactMatch: true}); l.TotalCount != 4 {
		t.Errorf("%d versions after the preview, want 4", l.TotalCount)
	}
	// Young versions stay as "recent".
	recent, err := e.alice.CreateCleanupPolicy(ctx, policyBody("gpt", 1, 30))
	if err != nil {
		t.Fatal(err)
	}
	p = b.get("/console/cleanup/" + recent)
	if n := strings.Count(p.body, ">recent</span> younger than 30 days"); n != 3 || !strings.Contains(p.body, "delete <strong>0</strong> versions") {
		t.Errorf("preview with keep_days: %d recent\n%s", n, p.body)
	}
	if err := e.alice.DeleteCleanupPolicy(ctx, recent); err != nil {
		t.Fatal(err)
	}

	// Enable, then delete after the confirmation.
	if p := post("/console/cleanup/"+id+"/enabled", url.Values{"enabled": {"true"}}); p.status != http.StatusSeeOther {
		t.Fatalf("enable: %d\n%s", p.status, p.body)
	}
	if pol, err := e.alice.GetCleanupPolicy(ctx, id); err != nil || !pol.Enabled {
		t.Errorf("after enable: %+v %v", pol, err)
	}
	p = b.get("/console/cleanup/" + id + "/delete")
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="confirm-delete"`) || !strings.Contains(p.body, "g*") {
		t.Fatalf("delete dialog: %d\n%s", p.status, p.body)
	}
	if _, err := e.alice.GetCleanupPolicy(ctx, id); err != nil {
		t.Errorf("the dialog deleted the policy: %v", err)
	}
	p = post("/console/cleanup/"+id+"/delete", url.Values{})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/cleanup?done=deleted&id="+id {
		t.Fatalf("delete: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if _, err := e.alice.GetCleanupPolicy(ctx, id); modelreg.ErrorAPICode(err) != modelreg.CodePolicyNotFound {
		t.Errorf("policy after delete: %v", err)
	}
	// Gone: its pages and actions answer the API's 404.
	for _, p := range []page{b.get("/console/cleanup/" + id), b.get("/console/cleanup/" + id + "/delete"),
		post("/console/cleanup/"+id+"/delete", url.Values{}), post("/console/cleanup/"+id+"/enabled", url.Values{"enabled": {"false"}})} {
		if p.status != http.StatusNotFound || !strings.Contains(p.body, modelreg.CodePolicyNotFound) || !strings.Contains(p.body, p.header.Get("X-Request-Id")) {
			t.Errorf("gone policy: %d\n%s", p.status, p.body)
		}
	}
	// Each change is an audit event, on the events page.
	p = b.get("/console/events?resource_id=" + id)
	got := strings.Join(auditRows(p), "")
	for _, a := range []string{modelreg.ActionCleanupPolicyCreate, modelreg.ActionCleanupPolicyUpdate, modelreg.ActionCleanupPolicyDelete} {
		if !strings.Contains(got, a) {
			t.Errorf("events of the policy lack %s:\n%s", a, got)
		}
	}
	// A preview of many versions looks up at most 300 of them; the others
	// are listed by their id.
	bulk := make([]modelreg.BulkModel, 302)
	for i := range bulk {
		bulk[i] = modelreg.BulkModel{ModelImport: modelreg.ModelImport{Name: "many", Version: fmt.Sprintf("%d.%d.%d", i/100, i/10%10, i%10), Type: "TensorFlow"}}
	}
	if _, err := e.alice.CreateModels(ctx, bulk); err != nil {
		t.Fatal(err)
	}
	many, err := e.alice.CreateCleanupPolicy(ctx, policyBody("many", 1000, 0))
	if err != nil {
		t.Fatal(err)
	}
	p = b.get("/console/cleanup/" + many)
	if p.status != http.StatusOK || !strings.Contains(p.body, "2 versions are shown by their id only") ||
		strings.Count(p.body, `<th scope="row">many</th>`) != 300 || strings.Count(p.body, "<tr>") != 303 {
		t.Errorf("preview of 302 versions: %d, %d rows by name", p.status, strings.Count(p.body, `<th scope="row">many</th>`))
	}

	// Another project's policy is unknown to alice.
	pb, err := e.bob.CreateCleanupPolicy(ctx, policyBody("*", 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if p := b.get("/console/cleanup/" + pb); p.status != http.StatusNotFound || !strings.Contains(p.body, modelreg.CodePolicyNotFound) {
		t.Errorf("bob's policy: %d\n%s", p.status, p.body)
	}
	if p := post("/console/cleanup/"+pb+"/delete", url.Values{}); p.status != http.StatusNotFound {
		t.Errorf("delete bob's policy: %d", p.status)
	}
}

// policyBody is the body of a policy creation.
func policyBody(pattern string, keepLast, keepDays int) modelreg.CleanupPolicyBody {
	return modelreg.CleanupPolicyBody{NamePattern: &pattern, KeepLast: &keepLast, KeepDays: &keepDays}
}

// TestPagerLinks: a pager's link carries its query as it is: following the
// models page's "Next page" shows the next models (the marker was once
// escaped into a single query value, "marker%3d…", so every next page was
// the first one again).
func TestPagerLinks(t *testing.T) {
	e := newEnv(t, nil)
	bulk := make([]modelreg.BulkModel, 35)
	for i := range bulk {
		bulk[i] = modelreg.BulkModel{ModelImport: modelreg.ModelImport{Name: "m-" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26)),
			Version: "1.0.0", Type: "TensorFlow"}}
	}
	if _, err := e.alice.CreateModels(context.Background(), bulk); err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	b.signIn("alice", "alpha")
	first := b.get("/console/models")
	m := regexp.MustCompile(`href="/console/models\?([^"]*)" id="next"`).FindStringSubmatch(first.body)
	if m == nil || !strings.HasPrefix(html.UnescapeString(m[1]), "marker=") {
		t.Fatalf("next link: %v", m)
	}
	second := b.get("/console/models?" + html.UnescapeString(m[1]))
	if second.status != http.StatusOK || !strings.Contains(second.body, "First page") || strings.Contains(second.body, `id="next"`) {
		t.Errorf("second page: %d\n%s", second.status, second.body)
	}
}
