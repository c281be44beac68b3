package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
)

// modelsPageRows is how many models one page of the models list reads
// (they are then grouped by name).
const modelsPageRows = 30

// modelGroup is one name on the models page.
type modelGroup struct {
	Name      string
	Versions  int                      // all versions of the name (matching the filters)
	Newest    *modelreg.ModelSummary   // the newest of them
	OnPage    []*modelreg.ModelSummary // its versions on this page
	Deployed  bool                     // a version (matching the filters) is used by a service
	Protected bool                     // a version (matching the filters) is protected
}

// modelsData is the models page.
type modelsData struct {
	Query                     url.Values
	Q, In, Type, Status, Sort string
	Order                     string
	Types, Statuses           []string
	Groups                    []*modelGroup
	Total                     int
	NextMarker, NextQuery     string
	FirstQuery                string
	Paged                     bool
}

// handleModels lists the project's models, grouped by name, in two API
// calls whatever the page holds: the model list (GET
// /v1/{project_id}/models with the page's filters, sort and marker), then
// the aggregates of the names on the page (GET
// /modelreg/v1/{project_id}/model-names with the same filters): each
// name's version count, newest version, and whether any version is
// deployed or protected. A name whose versions are spread over the sort
// order can appear on more than one page (docs/decisions.md, "The
// console's models page").
func (c *Console) handleModels(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	q := r.URL.Query()
	d := &modelsData{Q: q.Get("q"), In: q.Get("in"), Type: q.Get("type"), Status: q.Get("status"), Sort: q.Get("sort"),
		Order: q.Get("order"), Types: modelreg.ModelTypes, Statuses: modelreg.ModelStatuses}
	if d.In != "description" {
		d.In = "name"
	}
	if d.Sort == "" {
		d.Sort = modelreg.ModelSortCreateAt
	}
	if d.Order == "" {
		d.Order = "desc"
	}
	f := modelreg.ModelFilter{Type: d.Type, Status: d.Status, Marker: q.Get("marker"), Page: modelreg.Page{SortBy: d.Sort, Order: d.Order, Limit: modelsPageRows}}
	if d.In == "description" {
		f.Description = d.Q
	} else {
		f.Name = d.Q
	}
	cl := c.apiClient(w, r, s)
	list, err := cl.ListModels(r.Context(), f)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.Total = list.TotalCount
	byName := map[string]*modelGroup{}
	var names []string
	for _, m := range list.Models {
		g := byName[m.Name]
		if g == nil {
			g = &modelGroup{Name: m.Name, Newest: m}
			byName[m.Name] = g
			d.Groups = append(d.Groups, g)
			names = append(names, m.Name)
		}
		g.OnPage = append(g.OnPage, m)
		g.Versions = len(g.OnPage) // until the aggregates say
	}
	if len(names) > 0 {
		// The versions the filters match: the list's own, less the name
		// substring (each name is given exactly).
		agg, err := cl.ModelNames(r.Context(), modelreg.ModelNameFilter{Names: names, Description: f.Description, Type: f.Type, Status: f.Status})
		if err != nil {
			c.fail(w, r, s, err)
			return
		}
		// A name is missing only when its versions went between the two
		// calls: the page then shows what the list read.
		for _, a := range agg.Names {
			if g := byName[a.Name]; g != nil {
				g.Versions, g.Newest, g.Deployed, g.Protected = a.VersionCount, a.Newest, a.Deployed, a.Protected
			}
		}
	}
	keep := url.Values{}
	for _, k := range []string{"q", "in", "type", "status", "sort", "order"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	d.FirstQuery = keep.Encode()
	d.Paged = q.Get("marker") != ""
	if list.NextMarker != "" {
		keep.Set("marker", list.NextMarker)
		d.NextQuery = keep.Encode()
	}
	c.render(w, r, http.StatusOK, "models", &page{Title: "Models", Nav: "models", Session: s, Data: d})
}

// deployed reports whether a service uses the model: GET
// /v1/{project_id}/services?model_id=.
func (c *Console) deployed(r *http.Request, cl *client.Client, modelID string) (bool, error) {
	sl, err := cl.ListServices(r.Context(), modelreg.ServiceFilter{ModelID: modelID, Page: modelreg.Page{Limit: 1}})
	if err != nil {
		return false, err
	}
	return sl.TotalCount > 0, nil
}

// versionRow is a version on a name's page.
type versionRow struct {
	*modelreg.ModelSummary
	Deployed, Protected bool
}

type versionsData struct {
	Name      string
	Total     int
	Rows      []versionRow
	NextQuery string
	Paged     bool
}

// handleVersions lists the versions of one name, newest first, by marker.
func (c *Console) handleVersions(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	name := r.PathValue("name")
	cl := c.apiClient(w, r, s)
	list, err := cl.ListModels(r.Context(), modelreg.ModelFilter{Name: name, ExactMatch: true, Marker: r.URL.Query().Get("marker"), Page: modelreg.Page{Limit: modelsPageRows, SortBy: modelreg.ModelSortCreateAt, Order: "desc"}})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d := &versionsData{Name: name, Total: list.TotalCount, Paged: r.URL.Query().Get("marker") != ""}
	for _, m := range list.Models {
		dep, err := c.deployed(r, cl, m.ID)
		if err != nil {
			c.fail(w, r, s, err)
			return
		}
		p, err := cl.GetProtection(r.Context(), m.ID)
		if err != nil {
			c.fail(w, r, s, err)
			return
		}
		d.Rows = append(d.Rows, versionRow{ModelSummary: m, Deployed: dep, Protected: p.Protected})
	}
	if list.NextMarker != "" {
		d.NextQuery = url.Values{"marker": {list.NextMarker}}.Encode()
	}
	c.render(w, r, http.StatusOK, "versions", &page{Title: "Versions of " + name, Nav: "models", Session: s, Data: d})
}

// field is one field of a model as the details page lists it.
type field struct {
	Name, Value string
}

type modelData struct {
	Model      *modelreg.Model
	Fields     []field
	Files      *modelreg.ModelFileList
	FilesErr   *pageError
	Services   []*modelreg.Service
	Deployed   bool
	Protection *modelreg.ModelProtection
	Audit      *auditBox // its latest audit events (events.go)
}

// handleModel shows every field of a model (GET /v1/{project_id}/models/{id}),
// its files (the files extension) and the services that use it.
func (c *Console) handleModel(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	id := r.PathValue("model_id")
	cl := c.apiClient(w, r, s)
	m, err := cl.GetModel(r.Context(), id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d := &modelData{Model: m, Fields: fieldsOf(m)}
	if m.Status == modelreg.ModelPublished {
		if d.Files, err = cl.ModelFiles(r.Context(), id); err != nil {
			d.FilesErr = c.pageErr(w, err)
		}
	}
	sl, err := cl.ListServices(r.Context(), modelreg.ServiceFilter{ModelID: id, Page: modelreg.Page{Limit: 100}})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.Services = sl.Services
	d.Deployed = sl.TotalCount > 0
	if d.Protection, err = cl.GetProtection(r.Context(), id); err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.Audit = c.resourceEvents(w, r, cl, id)
	c.render(w, r, http.StatusOK, "model", &page{Title: m.Name + " " + m.Version, Nav: "models", Session: s, Data: d})
}

// fieldsOf lists every field of the model as the API shows it, in the
// order of its JSON document, nested values as compact JSON.
func fieldsOf(m *modelreg.Model) []field {
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	var out []field
	if _, err := dec.Token(); err != nil { // {
		return nil
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return out
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return out
		}
		v := string(raw)
		var str string
		if json.Unmarshal(raw, &str) == nil {
			v = str
		}
		out = append(out, field{Name: k.(string), Value: v})
	}
	return out
}

// handleDownload streams a file of a model from the files extension (GET
// /modelreg/v1/{project_id}/models/{id}/files/{path}) to the browser. An
// error is shown as a page.
func (c *Console) handleDownload(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	target := "/modelreg/v1/" + s.ProjectID + "/models/" + url.PathEscape(r.PathValue("model_id")) + "/files/" +
		escapeFilePath(r.PathValue("path"))
	c.forward(w, r, s, http.MethodGet, target, true)
}

// proxy forwards a console.js upload call to the push extension route of
// the session's project (route is relative to /modelreg/v1/{project_id}/
// with the request's wildcards), streaming both bodies. The answer is the
// API's, JSON errors included, for console.js to show.
func (c *Console) proxy(route string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := sessionFrom(r.Context())
		p := route
		for _, name := range []string{"upload_id", "path..."} {
			v := r.PathValue(strings.TrimSuffix(name, "..."))
			if name == "path..." {
				v = escapeFilePath(v)
			} else {
				v = url.PathEscape(v)
			}
			p = strings.ReplaceAll(p, "{"+name+"}", v)
		}
		c.forward(w, r, s, r.Method, "/modelreg/v1/"+s.ProjectID+"/"+p, false)
	}
}

// forward serves an API request for the session in-process, writing the
// answer straight to w (so a file streams, and the API's deadlines reach
// the connection). With page set, an error answer becomes an error page.
func (c *Console) forward(w http.ResponseWriter, r *http.Request, s *session, method, target string, page bool) {
	in, err := http.NewRequestWithContext(r.Context(), method, target, r.Body)
	if err != nil {
		c.renderError(w, r, s, http.StatusBadRequest, modelreg.CodeInvalidArgument, "Invalid path.")
		return
	}
	in.RemoteAddr, in.RequestURI, in.Host = r.RemoteAddr, in.URL.RequestURI(), r.Host
	in.ContentLength = r.ContentLength
	for _, h := range []string{"Content-Type", "X-Content-Sha256", "Range", "If-Range"} {
		if v := r.Header.Get(h); v != "" {
			in.Header.Set(h, v)
		}
	}
	in.Header.Set("X-Auth-Token", s.Token)
	in.Header.Set("X-Request-Id", requestID(w))
	if !page {
		c.api.ServeHTTP(w, in)
		return
	}
	ew := &errorCatcher{ResponseWriter: w}
	c.api.ServeHTTP(ew, in)
	if ew.failed {
		var eb struct {
			Code string `json:"error_code"`
			Msg  string `json:"error_msg"`
		}
		_ = json.Unmarshal(ew.body, &eb)
		if ew.status == http.StatusUnauthorized {
			c.fail(w, r, s, modelreg.Errorf(modelreg.EUNAUTHORIZED, eb.Code, "%s", eb.Msg))
			return
		}
		w.Header().Del("Content-Length")
		c.renderErrorPage(w, r, s, &pageError{Status: ew.status, Code: eb.Code, Message: eb.Msg, RequestID: requestID(w)})
	}
}

// errorCatcher passes a successful answer through and keeps an error
// answer's body, for an error page.
type errorCatcher struct {
	http.ResponseWriter
	status int
	failed bool
	body   []byte
}

func (e *errorCatcher) WriteHeader(status int) {
	if e.status != 0 {
		return
	}
	e.status = status
	if status >= 400 {
		e.failed = true
		return
	}
	e.ResponseWriter.WriteHeader(status)
}

func (e *errorCatcher) Write(b []byte) (int, error) {
	if e.status == 0 {
		e.WriteHeader(http.StatusOK)
	}
	if e.failed {
		if len(e.body) < 64<<10 {
			e.body = append(e.body, b...)
		}
		return len(b), nil
	}
	return e.ResponseWriter.Write(b)
}

// Unwrap lets the API's stream deadlines reach the connection.
func (e *errorCatcher) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// deletePlan is what the delete dialog shows before anything is deleted.
type deletePlan struct {
	Model   *modelreg.Model
	ETag    string // of the model as read before the preview, sent back as If-Match
	Cascade bool
	Limit   int
	Items   []planItem // the models the call would work on, as the server answers
	Beyond  int        // versions the cascade limit leaves out (remaining_count)
	Source  string     // where the plan comes from
}

// planItem is one model of a delete plan and what would happen to it.
type planItem struct {
	ID, Version string
	Goes        bool
	Code, Why   string // why it stays: the server's code and message
}

// previewDelete returns what deleting the model would do: the server's own
// answer to the delete with ?dry_run=true (ARCHITECTURE §4a), the same
// store call rolled back, so deployed (ModelArts.3009) and protected
// (ModelReg.3101) versions and the cascade limit are as the delete will
// see them. Versions are looked up by id among the name's versions for
// display only.
func (c *Console) previewDelete(r *http.Request, cl *client.Client, m *modelreg.Model, etag string, cascade bool) (*deletePlan, error) {
	plan := &deletePlan{Model: m, ETag: etag, Cascade: cascade, Limit: c.cascadeLimit,
		Source: "The server's own preview of this delete (dry run): nothing has changed yet."}
	res, err := cl.PreviewDeleteModel(r.Context(), m.ID, cascade)
	if err != nil {
		return nil, err
	}
	versions := map[string]string{m.ID: m.Version}
	if cascade {
		list, err := cl.ListModels(r.Context(), modelreg.ModelFilter{Name: m.Name, ExactMatch: true, Page: modelreg.Page{Limit: min(c.cascadeLimit, modelreg.MaxListLimit), SortBy: modelreg.ModelSortCreateAt, Order: "asc"}})
		if err != nil {
			return nil, err
		}
		for _, v := range list.Models {
			versions[v.ID] = v.Version
		}
	}
	version := func(id string) string {
		if v, ok := versions[id]; ok {
			return v
		}
		return "?"
	}
	for _, id := range res.Success {
		plan.Items = append(plan.Items, planItem{ID: id, Version: version(id), Goes: true})
	}
	for _, f := range res.Failed {
		msg := f.ErrorMsg
		if msg == "" {
			msg = f.ErrorMessage
		}
		plan.Items = append(plan.Items, planItem{ID: f.ModelID, Version: version(f.ModelID), Code: f.ErrorCode, Why: whyStays(f.ErrorCode, msg)})
	}
	plan.Beyond = res.RemainingCount
	return plan, nil
}

// whyStays words a refusal of the preview for the dialog.
func whyStays(code, msg string) string {
	if code == modelreg.CodeModelDeployed {
		return "used by a service"
	}
	return msg
}

type deleteData struct {
	Plan   *deletePlan
	Result *modelreg.DeleteResult
	Error  *pageError
}

// handleDeleteDialog shows the delete dialog: the server's preview first,
// then the confirmation (with the typed name for a cascade). The model's
// ETag is read before the preview and goes with the confirmation.
func (c *Console) handleDeleteDialog(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	cl := c.apiClient(w, r, s)
	m, etag, err := cl.GetModelETag(r.Context(), r.PathValue("model_id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	cascade, _ := strconv.ParseBool(r.URL.Query().Get("cascade"))
	c.renderDeleteDialog(w, r, s, cl, m, etag, cascade, http.StatusOK, nil)
}

// renderDeleteDialog previews the delete and shows the dialog, with pe
// (why the last confirmation did nothing) when not nil.
func (c *Console) renderDeleteDialog(w http.ResponseWriter, r *http.Request, s *session, cl *client.Client, m *modelreg.Model, etag string, cascade bool, status int, pe *pageError) {
	plan, err := c.previewDelete(r, cl, m, etag, cascade)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	title := "Delete " + m.Name + " " + m.Version
	if cascade {
		title = "Delete " + m.Name
	}
	c.render(w, r, status, "delete", &page{Title: title, Nav: "models", Session: s, Data: &deleteData{Plan: plan, Error: pe}})
}

// handleDelete deletes the model (DELETE /v1/{project_id}/models/{id},
// ?cascade=true for every version) with If-Match of the ETag the dialog
// read before its preview, and shows the API's answer: what was deleted,
// and each failure with its code. A model changed since the preview
// (412 ModelReg.0412) shows the dialog again with a fresh preview.
func (c *Console) handleDelete(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	cl := c.apiClient(w, r, s)
	id := r.PathValue("model_id")
	m, etag, err := cl.GetModelETag(r.Context(), id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	cascade := r.PostFormValue("cascade") == "true"
	if cascade && r.PostFormValue("confirm_name") != m.Name {
		pe := &pageError{Status: http.StatusBadRequest, Code: modelreg.CodeInvalidArgument, RequestID: requestID(w),
			Message: "Type the model name " + strconv.Quote(m.Name) + " to delete all its versions."}
		c.renderDeleteDialog(w, r, s, cl, m, etag, cascade, http.StatusBadRequest, pe)
		return
	}
	ctx := r.Context()
	if seen := r.PostFormValue("etag"); seen != "" {
		ctx = client.WithIfMatch(ctx, seen)
	}
	res, err := cl.DeleteModel(ctx, id, cascade)
	if modelreg.ErrorCode(err) == modelreg.EPRECONDITION {
		pe := c.pageErr(w, err)
		pe.Message += " The model changed after the preview you confirmed: nothing was deleted. Check the new preview below and confirm again."
		c.renderDeleteDialog(w, r, s, cl, m, etag, cascade, http.StatusPreconditionFailed, pe)
		return
	}
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "deleted", &page{Title: "Delete result", Nav: "models", Session: s,
		Data: &deleteData{Plan: &deletePlan{Model: m, Cascade: cascade}, Result: res}})
}

// importData is the import form.
type importData struct {
	In    modelreg.ModelImport
	Types []string
	Error *pageError
}

func (c *Console) handleImportForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "import", &page{Title: "Import a model", Nav: "import",
		Data: &importData{In: modelreg.ModelImport{Type: "PyTorch"}, Types: modelreg.ModelTypes}})
}

// handleImport imports a model from a source location (POST
// /v1/{project_id}/models) and goes to its page.
func (c *Console) handleImport(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	in := modelreg.ModelImport{Name: strings.TrimSpace(r.PostFormValue("name")), Version: strings.TrimSpace(r.PostFormValue("version")),
		SourceLocation: strings.TrimSpace(r.PostFormValue("source_location")), Type: r.PostFormValue("type"),
		Runtime: strings.TrimSpace(r.PostFormValue("runtime")), Description: r.PostFormValue("description")}
	id, err := c.apiClient(w, r, s).ImportModel(r.Context(), &in)
	if err != nil {
		if modelreg.ErrorCode(err) == modelreg.EUNAUTHORIZED {
			c.fail(w, r, s, err)
			return
		}
		c.render(w, r, statusOf(err), "import", &page{Title: "Import a model", Nav: "import",
			Data: &importData{In: in, Types: modelreg.ModelTypes, Error: c.pageErr(w, err)}})
		return
	}
	http.Redirect(w, r, Prefix+"models/"+url.PathEscape(id), http.StatusSeeOther)
}

func (c *Console) handleUploadPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "upload", &page{Title: "Upload a model", Nav: "upload",
		Data: &importData{In: modelreg.ModelImport{Type: "PyTorch"}, Types: modelreg.ModelTypes}})
}
