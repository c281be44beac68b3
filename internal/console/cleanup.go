package console

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/modelreg/modelreg"
)

// previewLookups is the most versions the preview page looks up one by one
// for their names and versions (the API's preview gives only the ids of
// the versions a policy keeps); beyond it, rows show the model id.
const previewLookups = 300

// policyForm is the values of the create form, kept when it is refused.
type policyForm struct {
	NamePattern, KeepLast, KeepDays string
	Enabled                         bool
}

type cleanupData struct {
	Policies []*modelreg.CleanupPolicy
	Form     policyForm
	Error    *pageError
	Done     string
	Policy   *modelreg.CleanupPolicy // on the delete confirmation
}

// handleCleanup lists the project's cleanup policies (GET
// /modelreg/v1/{project_id}/cleanup-policies) with the form to create one.
func (c *Console) handleCleanup(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	q := r.URL.Query()
	done := ""
	// Made from a fixed word and an id, never from free text in the URL.
	if id := q.Get("id"); id != "" && slices.Contains([]string{"created", "deleted", "enabled", "disabled"}, q.Get("done")) {
		done = "Policy " + id + " " + q.Get("done") + "."
	}
	c.renderCleanup(w, r, s, http.StatusOK, &cleanupData{Form: policyForm{KeepLast: "5", KeepDays: "30", Enabled: true}, Done: done})
}

func (c *Console) renderCleanup(w http.ResponseWriter, r *http.Request, s *session, status int, d *cleanupData) {
	ps, err := c.apiClient(w, r, s).ListCleanupPolicies(r.Context())
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.Policies = ps
	c.render(w, r, status, "cleanup", &page{Title: "Cleanup policies", Nav: "cleanup", Session: s, Data: d})
}

// intField reads a number of the form: a value that is not one is sent as
// it is wrong (-1), so that the API refuses it with its own code and
// message, naming the field.
func intField(v string) *int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		n = -1
	}
	return &n
}

// handleCleanupCreate creates a policy (POST
// /modelreg/v1/{project_id}/cleanup-policies) and shows the list again; a
// refusal keeps the form, with the API's code above it.
func (c *Console) handleCleanupCreate(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	form := policyForm{NamePattern: r.PostFormValue("name_pattern"), KeepLast: r.PostFormValue("keep_last"),
		KeepDays: r.PostFormValue("keep_days"), Enabled: r.PostFormValue("enabled") == "true"}
	body := modelreg.CleanupPolicyBody{NamePattern: &form.NamePattern, KeepLast: intField(form.KeepLast),
		KeepDays: intField(form.KeepDays), Enabled: &form.Enabled}
	if strings.TrimSpace(form.KeepLast) == "" {
		body.KeepLast = nil // missing: the API says which field is required
	}
	if strings.TrimSpace(form.KeepDays) == "" {
		body.KeepDays = nil
	}
	id, err := c.apiClient(w, r, s).CreateCleanupPolicy(r.Context(), body)
	if err != nil {
		if modelreg.ErrorCode(err) == modelreg.EUNAUTHORIZED {
			c.fail(w, r, s, err)
			return
		}
		pe := c.pageErr(w, err)
		c.renderCleanup(w, r, s, pe.Status, &cleanupData{Form: form, Error: pe})
		return
	}
	http.Redirect(w, r, Prefix+"cleanup?"+url.Values{"done": {"created"}, "id": {id}}.Encode(), http.StatusSeeOther)
}

// previewRow is a version on the preview page.
type previewRow struct {
	ID, Name, Version string
	CreateAt          int64
	Delete            bool
	Reason            string // why it stays: newest, recent, deployed, protected
	Why               string // the reason in words
}

type previewData struct {
	Policy         *modelreg.CleanupPolicy
	Rows           []previewRow
	ToDelete, Kept int
	NotLookedUp    int // rows shown by id only
	Error          *pageError
}

// handleCleanupPolicy shows a policy and its preview (POST
// /modelreg/v1/{project_id}/cleanup-policies/{id}/preview, which changes
// nothing): every version of the names it matches, which a run would
// delete and why it keeps the others. The kept versions are looked up
// (GET /v1/{project_id}/models/{id}) for their names and versions.
func (c *Console) handleCleanupPolicy(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	id := r.PathValue("policy_id")
	cl := c.apiClient(w, r, s)
	p, err := cl.GetCleanupPolicy(r.Context(), id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	pv, err := cl.PreviewCleanupPolicy(r.Context(), id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d := &previewData{Policy: p, ToDelete: len(pv.ToDelete), Kept: len(pv.Kept)}
	lookups := 0
	lookup := func(row *previewRow) {
		if lookups >= previewLookups {
			d.NotLookedUp++
			return
		}
		lookups++
		m, err := cl.GetModel(r.Context(), row.ID)
		if err != nil {
			if modelreg.ErrorCode(err) != modelreg.ENOTFOUND && d.Error == nil {
				d.Error = c.pageErr(w, err)
			}
			return // deleted meanwhile: shown by its id
		}
		row.Name, row.Version, row.CreateAt = m.Name, m.Version, m.CreateAt
	}
	for _, k := range pv.Kept {
		row := previewRow{ID: k.ID, Reason: k.Reason, Why: keepReason(p, k.Reason)}
		lookup(&row)
		d.Rows = append(d.Rows, row)
	}
	for _, del := range pv.ToDelete {
		row := previewRow{ID: del.ID, Name: del.Name, Version: del.Version, Delete: true}
		lookup(&row)
		d.Rows = append(d.Rows, row)
	}
	// As a run sees them: by name, newest first (rows not looked up last).
	slices.SortStableFunc(d.Rows, func(a, b previewRow) int {
		if (a.Name == "") != (b.Name == "") {
			if a.Name == "" {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(b.CreateAt, a.CreateAt)
	})
	c.render(w, r, http.StatusOK, "cleanup_policy", &page{Title: "Cleanup policy " + p.NamePattern, Nav: "cleanup", Session: s, Data: d})
}

// keepReason says in words why policy p keeps a version.
func keepReason(p *modelreg.CleanupPolicy, reason string) string {
	switch reason {
	case modelreg.KeepNewest:
		return "among the " + strconv.Itoa(p.KeepLast) + " newest versions of its name"
	case modelreg.KeepRecent:
		return "younger than " + strconv.Itoa(p.KeepDays) + " days"
	case modelreg.KeepDeployed:
		return "used by a service"
	case modelreg.KeepProtected:
		return "protected against deletion"
	}
	return reason
}

// handleCleanupDeleteConfirm asks before a policy is deleted.
func (c *Console) handleCleanupDeleteConfirm(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	p, err := c.apiClient(w, r, s).GetCleanupPolicy(r.Context(), r.PathValue("policy_id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "cleanup_delete", &page{Title: "Delete cleanup policy " + p.NamePattern, Nav: "cleanup", Session: s,
		Data: &cleanupData{Policy: p}})
}

// handleCleanupDelete deletes a policy (DELETE
// /modelreg/v1/{project_id}/cleanup-policies/{id}); the models it matched
// are not touched.
func (c *Console) handleCleanupDelete(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	id := r.PathValue("policy_id")
	if err := c.apiClient(w, r, s).DeleteCleanupPolicy(r.Context(), id); err != nil {
		c.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"cleanup?"+url.Values{"done": {"deleted"}, "id": {id}}.Encode(), http.StatusSeeOther)
}

// handleCleanupEnabled turns a policy's runs on or off (PUT
// /modelreg/v1/{project_id}/cleanup-policies/{id} with enabled).
func (c *Console) handleCleanupEnabled(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	id := r.PathValue("policy_id")
	on := r.PostFormValue("enabled") == "true"
	if _, err := c.apiClient(w, r, s).UpdateCleanupPolicy(r.Context(), id, modelreg.CleanupPolicyBody{Enabled: &on}); err != nil {
		c.fail(w, r, s, err)
		return
	}
	done := "disabled"
	if on {
		done = "enabled"
	}
	http.Redirect(w, r, Prefix+"cleanup?"+url.Values{"done": {done}, "id": {id}}.Encode(), http.StatusSeeOther)
}
