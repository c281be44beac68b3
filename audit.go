package modelreg

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Audit actions (ARCHITECTURE §4a). Every change, and every refused
// delete, is one event with one of these actions, written in the
// transaction of the change.
const (
	ActionModelImport         = "model.import"
	ActionModelPublish        = "model.publish"
	ActionModelFail           = "model.fail"
	ActionModelDelete         = "model.delete"
	ActionModelDeleteRefused  = "model.delete_refused"
	ActionModelRestore        = "model.restore"
	ActionModelPurge          = "model.purge"
	ActionModelProtect        = "model.protect"
	ActionModelUnprotect      = "model.unprotect"
	ActionServiceCreate       = "service.create"
	ActionServiceUpdate       = "service.update"
	ActionServiceDelete       = "service.delete"
	ActionCredentialCreate    = "credential.create"
	ActionCredentialRevoke    = "credential.revoke"
	ActionTokenIssue          = "token.issue"
	ActionTokenRevoke         = "token.revoke"
	ActionUserCreate          = "user.create"
	ActionUserGrant           = "user.grant"
	ActionUserDisable         = "user.disable"
	ActionUserEnable          = "user.enable"
	ActionProjectCreate       = "project.create"
	ActionWebhookCreate       = "webhook.create"
	ActionWebhookDelete       = "webhook.delete"
	ActionCleanupPolicyCreate = "cleanup_policy.create"
	ActionCleanupPolicyUpdate = "cleanup_policy.update"
	ActionCleanupPolicyDelete = "cleanup_policy.delete"
)

// AuditActions lists every action, in documentation order.
var AuditActions = []string{
	ActionModelImport, ActionModelPublish, ActionModelFail, ActionModelDelete,
	ActionModelDeleteRefused, ActionModelRestore, ActionModelPurge,
	ActionModelProtect, ActionModelUnprotect,
	ActionServiceCreate, ActionServiceUpdate, ActionServiceDelete,
	ActionCredentialCreate, ActionCredentialRevoke, ActionTokenIssue, ActionTokenRevoke,
	ActionUserCreate, ActionUserGrant,
	ActionUserDisable, ActionUserEnable,
	ActionProjectCreate, ActionWebhookCreate, ActionWebhookDelete,
	ActionCleanupPolicyCreate, ActionCleanupPolicyUpdate, ActionCleanupPolicyDelete,
}

// Outcomes of an audit event.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Resource types of audit events.
const (
	ResourceModel         = "model"
	ResourceService       = "service"
	ResourceCredential    = "credential"
	ResourceToken         = "token"
	ResourceUser          = "user"
	ResourceProject       = "project"
	ResourceWebhook       = "webhook"
	ResourceCleanupPolicy = "cleanup_policy"
)

// DefaultAuditRetention is how long events are kept (--audit-retention).
const DefaultAuditRetention = 365 * 24 * time.Hour

// AuditActor is who made a change: the authenticated user and the access
// key of the request (empty for a token), or a system actor such as
// "cleanup-policy:<id>" (in UserID and UserName) for a background job.
type AuditActor struct {
	UserID    string `json:"user_id"`
	UserName  string `json:"user_name"`
	AccessKey string `json:"access_key"`
}

// AuditEvent is one entry of the audit trail, as GET
// /modelreg/v1/{p}/events lists it.
type AuditEvent struct {
	ID           string         `json:"event_id"`
	Time         int64          `json:"time"` // ms since the epoch
	ProjectID    string         `json:"project_id"`
	Action       string         `json:"action"`
	ResourceType string         `json:"resource_type"`
	ResourceID   string         `json:"resource_id"`
	ResourceName string         `json:"resource_name"`
	Outcome      string         `json:"outcome"`
	ErrorCode    string         `json:"error_code"`
	Actor        AuditActor     `json:"actor"`
	RequestID    string         `json:"request_id"`
	SourceIP     string         `json:"source_ip"`
	Details      map[string]any `json:"details"`
}

// RequestMeta is what the audit trail records about the request a change
// came from. The HTTP layer puts it in the request's context; a background
// job puts its own actor there.
type RequestMeta struct {
	RequestID string
	SourceIP  string
	// Actor, when set, overrides the principal's (a background job acting
	// on its own: "cleanup-policy:<id>").
	Actor string
}

type requestMetaKey struct{}

// NewContextWithRequestMeta returns ctx carrying m.
func NewContextWithRequestMeta(ctx context.Context, m RequestMeta) context.Context {
	return context.WithValue(ctx, requestMetaKey{}, m)
}

// RequestMetaFrom returns the RequestMeta of ctx (zero when none).
func RequestMetaFrom(ctx context.Context) RequestMeta {
	m, _ := ctx.Value(requestMetaKey{}).(RequestMeta)
	return m
}

// SystemActor is the actor of a change nobody asked for over the API (an
// import job, the collector) when ctx names none.
const SystemActor = "system"

// NewEventID returns a UUID v4 whose first 48 bits are the time t in ms
// (the rest random): ids of events written one after the other sort
// together, so the index on them grows at its end instead of at random
// places (a cheaper write in the transaction of every change).
func NewEventID(t time.Time) string {
	var b [16]byte
	if _, err := rand.Read(b[6:]); err != nil {
		panic(err)
	}
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// NewAuditEvent returns an event of action on a resource with the actor,
// request id and source address of ctx, outcome success. The store fills
// ID, Time and queues its webhook deliveries.
func NewAuditEvent(ctx context.Context, projectID, action, resourceType, resourceID, resourceName string) *AuditEvent {
	m := RequestMetaFrom(ctx)
	ev := &AuditEvent{
		ProjectID: projectID, Action: action, ResourceType: resourceType,
		ResourceID: resourceID, ResourceName: resourceName, Outcome: OutcomeSuccess,
		RequestID: m.RequestID, SourceIP: m.SourceIP, Details: map[string]any{},
	}
	switch p := PrincipalFrom(ctx); {
	case m.Actor != "":
		ev.Actor = AuditActor{UserID: m.Actor, UserName: m.Actor}
	case p != nil:
		ev.Actor = AuditActor{UserID: p.UserID, UserName: p.UserName, AccessKey: p.AccessKey}
	default:
		ev.Actor = AuditActor{UserName: SystemActor}
	}
	return ev
}

// Refused marks ev as a refusal with err's API code.
func (ev *AuditEvent) Refused(err error) *AuditEvent {
	ev.Outcome = OutcomeFailure
	ev.ErrorCode = ErrorAPICode(err)
	ev.Details["error_msg"] = ErrorMessage(err)
	return ev
}

// With sets a detail and returns ev.
func (ev *AuditEvent) With(key string, value any) *AuditEvent {
	ev.Details[key] = value
	return ev
}

// DetailsJSON encodes ev.Details for a store ({} when empty).
func (ev *AuditEvent) DetailsJSON() string {
	if len(ev.Details) == 0 {
		return "{}"
	}
	b, err := json.Marshal(ev.Details)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// MaxAuditLimit is the largest page of the events list.
const MaxAuditLimit = 1000

// DefaultAuditLimit is the events page size when limit is absent.
const DefaultAuditLimit = 100

// AuditFilter selects events of one project, newest first. Empty strings
// and zero times mean "any". Actor matches the user id, the user name or
// the access key. Since and Until are inclusive bounds in ms. Marker is the
// event_id the previous page ended with.
type AuditFilter struct {
	ProjectID  string
	Action     string
	ResourceID string
	Actor      string
	Since      int64
	Until      int64
	Limit      int
	Marker     string
}

// Validate checks f. EINVALID ModelArts.0101 naming the parameter.
func (f *AuditFilter) Validate() error {
	if f.Action != "" && !slices.Contains(AuditActions, f.Action) {
		return Invalid("Invalid parameter action: unknown action %q.", f.Action)
	}
	if len(f.ResourceID) > 128 {
		return Invalid("Invalid parameter resource_id: longer than 128 characters.")
	}
	if len(f.Actor) > 128 {
		return Invalid("Invalid parameter actor: longer than 128 characters.")
	}
	if f.Since < 0 {
		return Invalid("Invalid parameter since: must be a time in ms, 0 or more.")
	}
	if f.Until < 0 {
		return Invalid("Invalid parameter until: must be a time in ms, 0 or more.")
	}
	if f.Until != 0 && f.Until < f.Since {
		return Invalid("Invalid parameter until: before since.")
	}
	switch {
	case f.Limit == 0:
		f.Limit = DefaultAuditLimit
	case f.Limit < 0 || f.Limit > MaxAuditLimit:
		return Invalid("Invalid parameter limit: must be 1 to 1000.")
	}
	if f.Marker != "" && !ValidID(f.Marker) {
		return Invalid("Invalid parameter marker: not an event_id.")
	}
	return nil
}

// AuditList is the response of GET /modelreg/v1/{p}/events. NextMarker is
// empty on the last page.
type AuditList struct {
	Events     []*AuditEvent `json:"events"`
	NextMarker string        `json:"next_marker"`
}

// AuditStore reads the audit trail. Events are written by the stores'
// write methods themselves, in the transaction of each change; nothing
// edits or deletes one but retention.
type AuditStore interface {
	// FindAuditEvents returns up to f.Limit events matching f (validated),
	// newest first, and the marker of the next page ("" when none).
	// Returns EINVALID ModelArts.0101 for a marker that names no event of
	// the project.
	FindAuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, string, error)

	// DeleteAuditEventsBefore removes up to max events older than before
	// (retention) and returns how many it removed.
	DeleteAuditEventsBefore(ctx context.Context, before time.Time, max int) (int, error)
}

// ImportEvent is the model.import event of m.
func ImportEvent(ctx context.Context, m *Model) *AuditEvent {
	return NewAuditEvent(ctx, m.ProjectID, ActionModelImport, ResourceModel, m.ID, m.Name).
		With("model_version", m.Version).With("source_location", m.SourceLocation)
}

// TokenID is the id a token has in audit events: the first 16 hex digits
// of its hash. It names the token without giving anything away (the token
// is not derivable from its hash, let alone from part of it) and ties a
// token.revoke to its token.issue.
func TokenID(t *Token) string { return t.Hash[:min(16, len(t.Hash))] }

// TokenEvent is the token.issue or token.revoke event of t, in t's
// project, with userName the name of its user. An event without an
// authenticated actor (a token issued for a password) has the token's user
// as its actor: that user proved who they are.
func TokenEvent(ctx context.Context, action string, t *Token, userName string) *AuditEvent {
	ev := NewAuditEvent(ctx, t.ProjectID, action, ResourceToken, TokenID(t), userName).
		With("user_id", t.UserID).With("method", t.Method).With("expires_at", t.ExpiresAt)
	if ev.Actor == (AuditActor{UserName: SystemActor}) {
		ev.Actor = AuditActor{UserID: t.UserID, UserName: userName}
	}
	return ev
}

// DeleteEvent is the model.delete event of a model deleted, or moved to
// the trash.
func DeleteEvent(ctx context.Context, projectID, id, name, version string, trash bool) *AuditEvent {
	return NewAuditEvent(ctx, projectID, ActionModelDelete, ResourceModel, id, name).
		With("model_version", version).With("trash", trash)
}

// DeleteRefusedEvent is the model.delete_refused event of a model a delete
// left because of err (3009 deployed, ModelReg.3101 protected, 0412).
func DeleteRefusedEvent(ctx context.Context, projectID, id, name, version string, err error) *AuditEvent {
	ev := NewAuditEvent(ctx, projectID, ActionModelDeleteRefused, ResourceModel, id, name).Refused(err)
	if version != "" {
		ev.With("model_version", version)
	}
	return ev
}

// FinishAction is the action of an import ending in status.
func FinishAction(status string) string {
	if status == ModelPublished {
		return ActionModelPublish
	}
	return ActionModelFail
}

// FinishDetails adds an import result to its event.
func FinishDetails(ev *AuditEvent, res ImportResult) {
	if res.Status == ModelPublished {
		ev.With("model_size", res.Size)
	} else {
		ev.With("reason", res.Reason)
	}
}

// ProtectAction is the action of setting a model's protection to on.
func ProtectAction(on bool) string {
	if on {
		return ActionModelProtect
	}
	return ActionModelUnprotect
}

// ServiceCreateEvent is the service.create event of s.
func ServiceCreateEvent(ctx context.Context, s *Service) *AuditEvent {
	models := make([]string, len(s.Config))
	for i, c := range s.Config {
		models[i] = c.ModelID
	}
	return NewAuditEvent(ctx, s.ProjectID, ActionServiceCreate, ResourceService, s.ID, s.Name).With("model_ids", models)
}

// ServiceUpdateEvent is the service.update event of s (as updated) with the
// changes the update made.
func ServiceUpdateEvent(ctx context.Context, s *Service, changes []string) *AuditEvent {
	return NewAuditEvent(ctx, s.ProjectID, ActionServiceUpdate, ResourceService, s.ID, s.Name).
		With("status", s.Status).With("changes", changes)
}

// ServiceTransitionEvent is the service.update event of a status change
// made by the deployer or a schedule.
func ServiceTransitionEvent(ctx context.Context, projectID, id, name, from, to string) *AuditEvent {
	return NewAuditEvent(ctx, projectID, ActionServiceUpdate, ResourceService, id, name).With("from", from).With("status", to)
}
