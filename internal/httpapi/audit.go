package httpapi

import (
	"net/http"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/webhook"
)

// modelreg's audit trail, webhooks and cleanup policies (ARCHITECTURE §4a).

// auditContext puts what the audit trail records about the request (its
// id and the client's address, after --trusted-proxies) into its context,
// for the stores' events.
func (s *Server) auditContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := modelreg.NewContextWithRequestMeta(r.Context(), modelreg.RequestMeta{
			RequestID: requestIDFrom(r.Context()), SourceIP: clientIP(r)})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// handleEventList lists a project's audit events, newest first: GET
// /modelreg/v1/{project_id}/events with action, resource_id, actor, since,
// until (ms), limit (≤ 1000) and marker.
func (s *Server) handleEventList(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := parseQuery(r)
	f := modelreg.AuditFilter{ProjectID: projectID, Action: q.str("action"), ResourceID: q.str("resource_id"),
		Actor: q.str("actor"), Since: q.int64("since"), Until: q.int64("until"), Marker: q.str("marker")}
	_, present := q.values["limit"]
	f.Limit = q.int("limit")
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	if present && f.Limit == 0 {
		s.error(w, r, modelreg.Invalid("Invalid parameter limit: must be 1 to 1000."))
		return
	}
	if err := f.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	evs, next, err := s.store.FindAuditEvents(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, modelreg.AuditList{Events: evs, NextMarker: next})
}

// webhookCreated is the response of POST …/webhooks.
type webhookCreated struct {
	WebhookID string `json:"webhook_id"`
}

// webhookList is the response of GET …/webhooks.
type webhookList struct {
	Webhooks []*modelreg.Webhook `json:"webhooks"`
}

// handleWebhookCreate subscribes a URL to a project's events: POST
// /modelreg/v1/{project_id}/webhooks {"url","secret","events","description"}.
func (s *Server) handleWebhookCreate(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	c, err := decode[modelreg.WebhookCreate](s, w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := c.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	if err := webhook.CheckDestination(r.Context(), c.URL, s.webhookAllowPrivate); err != nil {
		s.error(w, r, err)
		return
	}
	hook := &modelreg.Webhook{ID: modelreg.NewID(), ProjectID: projectID, URL: c.URL, Events: c.Events,
		Description: c.Description, CreatedBy: ownerOf(r)}
	hook.SecretSealed = webhook.Seal(s.secrets, hook.ID, c.Secret)
	if err := s.store.CreateWebhook(r.Context(), hook); err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, webhookCreated{WebhookID: hook.ID})
}

// handleWebhookList lists a project's webhooks, secrets left out: GET
// /modelreg/v1/{project_id}/webhooks.
func (s *Server) handleWebhookList(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	hooks, err := s.store.FindWebhooks(r.Context(), projectID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, webhookList{Webhooks: hooks})
}

// handleWebhookDelete deletes a webhook and its pending deliveries: DELETE
// /modelreg/v1/{project_id}/webhooks/{webhook_id}.
func (s *Server) handleWebhookDelete(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := s.webhookPath(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.store.DeleteWebhook(r.Context(), projectID, id); err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, webhookCreated{WebhookID: id})
}

// handleWebhookDeliveries lists a webhook's latest deliveries, newest
// first: GET /modelreg/v1/{project_id}/webhooks/{webhook_id}/deliveries
// with limit (default 100, ≤ 1000).
func (s *Server) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := s.webhookPath(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := parseQuery(r)
	limit := q.limit()
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	switch {
	case limit == 0:
		limit = modelreg.DefaultAuditLimit
	case limit < 0 || limit > modelreg.MaxAuditLimit:
		s.error(w, r, modelreg.Invalid("Invalid parameter limit: must be 1 to 1000."))
		return
	}
	ds, err := s.store.FindWebhookDeliveries(r.Context(), projectID, id, limit)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, modelreg.WebhookDeliveryList{Deliveries: ds})
}

// webhookPath returns the project and the webhook id of the path (400
// ModelArts.0101 for an id that is not a UUID, as for models).
func (s *Server) webhookPath(r *http.Request) (string, string, error) {
	projectID, err := pathProject(r)
	if err != nil {
		return "", "", err
	}
	id := r.PathValue("webhook_id")
	if !modelreg.ValidID(id) {
		return "", "", modelreg.Invalid("Invalid parameter webhook_id: must be a UUID.")
	}
	return projectID, id, nil
}

// policyCreated is the response of POST …/cleanup-policies.
type policyCreated struct {
	PolicyID string `json:"policy_id"`
}

// policyList is the response of GET …/cleanup-policies.
type policyList struct {
	Policies []*modelreg.CleanupPolicy `json:"policies"`
}

// handlePolicyCreate creates a cleanup policy: POST
// /modelreg/v1/{project_id}/cleanup-policies.
func (s *Server) handlePolicyCreate(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	b, err := decode[modelreg.CleanupPolicyBody](s, w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p := &modelreg.CleanupPolicy{ProjectID: projectID}
	if err := b.Apply(p, true); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.store.CreateCleanupPolicy(r.Context(), p); err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, policyCreated{PolicyID: p.ID})
}

// handlePolicyList lists a project's cleanup policies, oldest first.
func (s *Server) handlePolicyList(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	ps, err := s.store.FindCleanupPolicies(r.Context(), projectID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, policyList{Policies: ps})
}

// policyPath returns the project and the policy of the path.
func (s *Server) policyPath(r *http.Request) (*modelreg.CleanupPolicy, error) {
	projectID, err := pathProject(r)
	if err != nil {
		return nil, err
	}
	id := r.PathValue("policy_id")
	if !modelreg.ValidID(id) {
		return nil, modelreg.Invalid("Invalid parameter policy_id: must be a UUID.")
	}
	return s.store.FindCleanupPolicy(r.Context(), projectID, id)
}

// handlePolicyGet reads a cleanup policy.
func (s *Server) handlePolicyGet(w http.ResponseWriter, r *http.Request) {
	p, err := s.policyPath(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, p)
}

// handlePolicyUpdate changes a cleanup policy: PUT with the fields to
// change.
func (s *Server) handlePolicyUpdate(w http.ResponseWriter, r *http.Request) {
	p, err := s.policyPath(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	b, err := decode[modelreg.CleanupPolicyBody](s, w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := b.Apply(p, false); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.store.UpdateCleanupPolicy(r.Context(), p); err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, p)
}

// handlePolicyDelete deletes a cleanup policy.
func (s *Server) handlePolicyDelete(w http.ResponseWriter, r *http.Request) {
	p, err := s.policyPath(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.store.DeleteCleanupPolicy(r.Context(), p.ProjectID, p.ID); err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, policyCreated{PolicyID: p.ID})
}

// handlePolicyPreview answers what a run of the policy would do now: POST
// …/cleanup-policies/{policy_id}/preview. It changes nothing.
func (s *Server) handlePolicyPreview(w http.ResponseWriter, r *http.Request) {
	p, err := s.policyPath(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	res, err := modelreg.PreviewCleanup(r.Context(), s.store, p, modelreg.StoreNow(s.store))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, res)
}
