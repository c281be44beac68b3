package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/modelreg/modelreg"
)

// trashPageRows is how many trashed models one page of the trash shows.
const trashPageRows = 20

// handleProtection protects the model with a reason, or lifts its
// protection (PUT /modelreg/v1/{project_id}/models/{id}/protection), and
// goes back to the model's page. A refusal is an error page with its code.
func (c *Console) handleProtection(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	id := r.PathValue("model_id")
	protected := r.PostFormValue("protected") == "true"
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if _, err := c.apiClient(w, r, s).SetProtection(r.Context(), id, protected, reason); err != nil {
		c.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"models/"+url.PathEscape(id), http.StatusSeeOther)
}

type trashData struct {
	Q                    string
	Models               []*modelreg.TrashedModel
	Total, Page, Pages   int
	PrevQuery, NextQuery string
	Error                *pageError
	Done                 string // what the last action did
}

// handleTrash lists the project's trash (GET /modelreg/v1/{project_id}/trash),
// latest deleted first, by name substring (?q=) and page (?page=, from 0).
func (c *Console) handleTrash(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	// The notice of the last action is made from a fixed word and an id,
	// never from free text in the URL.
	q := r.URL.Query()
	done := ""
	if id := q.Get("id"); id != "" && (q.Get("done") == "restored" || q.Get("done") == "purged") {
		done = id + " " + q.Get("done")
	}
	c.renderTrash(w, r, s, http.StatusOK, nil, done)
}

func (c *Console) renderTrash(w http.ResponseWriter, r *http.Request, s *session, status int, pe *pageError, done string) {
	q := r.URL.Query()
	d := &trashData{Q: q.Get("q"), Error: pe, Done: done}
	d.Page, _ = strconv.Atoi(q.Get("page"))
	d.Page = max(d.Page, 0)
	list, err := c.apiClient(w, r, s).ListTrash(r.Context(), d.Q, trashPageRows, d.Page)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.Models, d.Total = list.Models, list.TotalCount
	d.Pages = (d.Total + trashPageRows - 1) / trashPageRows
	link := func(p int) string {
		v := url.Values{}
		if d.Q != "" {
			v.Set("q", d.Q)
		}
		if p > 0 {
			v.Set("page", strconv.Itoa(p))
		}
		return v.Encode()
	}
	if d.Page > 0 {
		d.PrevQuery = link(d.Page - 1)
	}
	if d.Page+1 < d.Pages {
		d.NextQuery = link(d.Page + 1)
	}
	c.render(w, r, status, "trash", &page{Title: "Trash", Nav: "trash", Session: s, Data: d})
}

// handleTrashAction restores a trashed model (POST …/trash/{id}/restore)
// or purges it for good (DELETE …/trash/{id}), then shows the trash again.
// A refusal — a restore whose name and version are taken again (409
// ModelArts.3002), a protected model's purge — shows the trash with the
// API's code.
func (c *Console) handleTrashAction(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	id := r.PathValue("model_id")
	cl := c.apiClient(w, r, s)
	var err error
	var done string
	switch r.PathValue("action") {
	case "restore":
		err, done = cl.RestoreModel(r.Context(), id), "restored"
	case "purge":
		err, done = cl.PurgeModel(r.Context(), id), "purged"
	default:
		c.renderError(w, r, s, http.StatusNotFound, modelreg.CodeResourceNotFound, "There is no such action.")
		return
	}
	if err != nil {
		if modelreg.ErrorCode(err) == modelreg.EUNAUTHORIZED {
			c.fail(w, r, s, err)
			return
		}
		c.renderTrash(w, r, s, statusOf(err), c.pageErr(w, err), "")
		return
	}
	http.Redirect(w, r, Prefix+"trash?"+url.Values{"done": {done}, "id": {id}}.Encode(), http.StatusSeeOther)
}

// handlePurgeConfirm asks before the whole trash is purged.
func (c *Console) handlePurgeConfirm(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	list, err := c.apiClient(w, r, s).ListTrash(r.Context(), "", 1, 0)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "trash_purge", &page{Title: "Empty the trash", Nav: "trash", Session: s, Data: list})
}

// handlePurgeAll empties the trash (DELETE /modelreg/v1/{project_id}/trash)
// and shows what was purged and what was kept (protected models).
func (c *Console) handlePurgeAll(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	res, err := c.apiClient(w, r, s).PurgeTrash(r.Context())
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "trash_purged", &page{Title: "Trash emptied", Nav: "trash", Session: s, Data: res})
}
