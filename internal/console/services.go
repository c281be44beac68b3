package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/modelreg/modelreg"
)

// servicesPageSize is how many services one page lists.
const servicesPageSize = 30

type servicesData struct {
	Services             []*modelreg.Service
	Total                int
	Page                 int
	PrevQuery, NextQuery string
}

// handleServices lists the project's services (GET
// /v1/{project_id}/services), by page.
func (c *Console) handleServices(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pg = max(pg, 0)
	sl, err := c.apiClient(w, r, s).ListServices(r.Context(), modelreg.ServiceFilter{Page: modelreg.Page{Offset: pg, Limit: servicesPageSize}})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d := &servicesData{Services: sl.Services, Total: sl.TotalCount, Page: pg}
	if pg > 0 {
		d.PrevQuery = url.Values{"page": {strconv.Itoa(pg - 1)}}.Encode()
	}
	if (pg+1)*servicesPageSize < sl.TotalCount {
		d.NextQuery = url.Values{"page": {strconv.Itoa(pg + 1)}}.Encode()
	}
	c.render(w, r, http.StatusOK, "services", &page{Title: "Services", Nav: "services", Session: s, Data: d})
}

type serviceData struct {
	Service *modelreg.Service
	Events  []*modelreg.ServiceEvent
	Action  string // the action to confirm, on the confirmation page
	Error   *pageError
	Audit   *auditBox // its latest audit events (events.go)
}

// handleService shows a service with its config and events.
func (c *Console) handleService(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	d, err := c.serviceData(w, r, s)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.Audit = c.resourceEvents(w, r, c.apiClient(w, r, s), d.Service.ID)
	c.render(w, r, http.StatusOK, "service", &page{Title: "Service " + d.Service.Name, Nav: "services", Session: s, Data: d})
}

func (c *Console) serviceData(w http.ResponseWriter, r *http.Request, s *session) (*serviceData, error) {
	cl := c.apiClient(w, r, s)
	id := r.PathValue("service_id")
	svc, err := cl.GetService(r.Context(), id)
	if err != nil {
		return nil, err
	}
	ev, err := cl.ListServiceEvents(r.Context(), id, modelreg.EventFilter{Page: modelreg.Page{Limit: 50}})
	if err != nil {
		return nil, err
	}
	return &serviceData{Service: svc, Events: ev.Events}, nil
}

// serviceActions are the actions of the service page.
var serviceActions = map[string]bool{"start": true, "stop": true, "delete": true}

// handleServiceConfirm asks to confirm start, stop or delete.
func (c *Console) handleServiceConfirm(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	action := r.PathValue("action")
	if !serviceActions[action] {
		c.renderError(w, r, s, http.StatusNotFound, modelreg.CodeResourceNotFound, "There is no such page in the console.")
		return
	}
	d, err := c.serviceData(w, r, s)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.Action = action
	c.render(w, r, http.StatusOK, "service_confirm", &page{Title: strings.ToUpper(action[:1]) + action[1:] + " " + d.Service.Name,
		Nav: "services", Session: s, Data: d})
}

// handleServiceAction starts or stops a service (PUT
// /v1/{project_id}/services/{id} with a status) or deletes it (DELETE).
func (c *Console) handleServiceAction(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	action, id := r.PathValue("action"), r.PathValue("service_id")
	cl := c.apiClient(w, r, s)
	var err error
	switch action {
	case "start":
		err = cl.StartService(r.Context(), id)
	case "stop":
		err = cl.StopService(r.Context(), id)
	case "delete":
		err = cl.DeleteServices(r.Context(), id)
	default:
		c.renderError(w, r, s, http.StatusNotFound, modelreg.CodeResourceNotFound, "There is no such page in the console.")
		return
	}
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if action == "delete" {
		http.Redirect(w, r, Prefix+"services", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, Prefix+"services/"+url.PathEscape(id), http.StatusSeeOther)
}

type keysData struct {
	Keys    []*modelreg.Credential
	Created *modelreg.Credential
	Secret  string // the new key's secret, shown once
	Key     *modelreg.Credential
}

// handleKeys lists the user's access keys (GET
// /v3.0/OS-CREDENTIAL/credentials), without secrets.
func (c *Console) handleKeys(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	ks, err := c.apiClient(w, r, s).ListCredentials(r.Context(), "")
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "keys", &page{Title: "Access keys", Nav: "keys", Session: s, Data: &keysData{Keys: ks}})
}

// handleKeyCreate creates an access key for the user (POST
// /v3.0/OS-CREDENTIAL/credentials) and shows its secret, this once: the
// answer is not cached and the secret is in no URL.
func (c *Console) handleKeyCreate(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	cl := c.apiClient(w, r, s)
	cred, secret, err := cl.CreateCredential(r.Context(), "", r.PostFormValue("description"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	ks, err := cl.ListCredentials(r.Context(), "")
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "keys", &page{Title: "Access keys", Nav: "keys", Session: s,
		Data: &keysData{Keys: ks, Created: cred, Secret: secret}})
}

// handleKeyRevokeConfirm asks to confirm a revocation.
func (c *Console) handleKeyRevokeConfirm(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	ak := r.PathValue("access_key")
	ks, err := c.apiClient(w, r, s).ListCredentials(r.Context(), "")
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	for _, k := range ks {
		if k.AccessKey == ak {
			c.render(w, r, http.StatusOK, "key_revoke", &page{Title: "Revoke " + ak, Nav: "keys", Session: s, Data: &keysData{Key: k}})
			return
		}
	}
	c.fail(w, r, s, modelreg.CredentialNotFound(ak))
}

// handleKeyRevoke revokes an access key (DELETE
// /v3.0/OS-CREDENTIAL/credentials/{ak}).
func (c *Console) handleKeyRevoke(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	if err := c.apiClient(w, r, s).RevokeCredential(r.Context(), r.PathValue("access_key")); err != nil {
		c.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"keys", http.StatusSeeOther)
}
