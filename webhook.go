package modelreg

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"
)

// Webhook is a subscription of a project to audit events: each matching
// event is POSTed to URL, signed with the secret. The secret is stored
// sealed and never returned.
type Webhook struct {
	ID          string   `json:"webhook_id"`
	ProjectID   string   `json:"-"`
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
	CreatedAt   int64    `json:"created_at"` // ms since the epoch
	CreatedBy   string   `json:"created_by"`
	// SecretSealed is the secret as the Sealer sealed it; never sent.
	SecretSealed []byte `json:"-"`
}

// Matches reports whether the webhook wants events of action.
func (w *Webhook) Matches(action string) bool {
	return slices.Contains(w.Events, "*") || slices.Contains(w.Events, action)
}

// WebhookCreate is the body of POST /modelreg/v1/{p}/webhooks.
type WebhookCreate struct {
	URL         string   `json:"url"`
	Secret      string   `json:"secret"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
}

// Limits of a webhook.
const (
	MaxWebhookURL         = 2048
	MinWebhookSecret      = 16
	MaxWebhookSecret      = 256
	MaxWebhookDescription = 256
)

// Validate checks the body: an http(s) URL with a host, a secret of 16 to
// 256 characters, at least one event (known actions or "*") and a
// description of at most 256 characters: EINVALID ModelArts.3036 for a
// missing field, ModelArts.3037 for a bad one. Where the URL points is checked by the HTTP layer, which
// knows --webhook-allow-private.
func (c *WebhookCreate) Validate() error {
	if c.URL == "" {
		return ParamRequired("url")
	}
	u, err := url.Parse(c.URL)
	switch {
	case len(c.URL) > MaxWebhookURL:
		return ParamInvalid("url", fmt.Sprintf("longer than %d characters", MaxWebhookURL))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Hostname() == "":
		return ParamInvalid("url", "must be an http or https URL with a host and no user info")
	}
	if c.Secret == "" {
		return ParamRequired("secret")
	}
	if n := utf8.RuneCountInString(c.Secret); n < MinWebhookSecret || n > MaxWebhookSecret {
		return ParamInvalid("secret", fmt.Sprintf("must be %d to %d characters", MinWebhookSecret, MaxWebhookSecret))
	}
	if len(c.Events) == 0 {
		return ParamRequired("events")
	}
	for _, e := range c.Events {
		if e != "*" && !slices.Contains(AuditActions, e) {
			return ParamInvalid("events", fmt.Sprintf("unknown action %q", e))
		}
	}
	if !utf8.ValidString(c.Description) || utf8.RuneCountInString(c.Description) > MaxWebhookDescription {
		return ParamInvalid("description", fmt.Sprintf("longer than %d characters", MaxWebhookDescription))
	}
	return nil
}

// WebhookNotFound returns the ModelReg.3201 error for webhook id.
func WebhookNotFound(id string) *Error {
	return Errorf(ENOTFOUND, CodeWebhookNotFound, "Webhook (%s) does not exist.", id)
}

// Delivery states.
const (
	DeliveryPending   = "pending"   // queued, or waiting for its next attempt
	DeliveryDelivered = "delivered" // the receiver answered 2xx
	DeliveryFailed    = "failed"    // given up after the retry window
)

// WebhookRetryWindow is how long a delivery is retried.
const WebhookRetryWindow = 24 * time.Hour

// WebhookDelivery is one event queued for one webhook, with its log.
type WebhookDelivery struct {
	ID            string `json:"delivery_id"`
	WebhookID     string `json:"webhook_id"`
	EventID       string `json:"event_id"`
	Action        string `json:"action"`
	Status        string `json:"status"`
	Attempts      int    `json:"attempts"`
	CreatedAt     int64  `json:"created_at"`
	NextAttemptAt int64  `json:"next_attempt_at"`
	LastAttemptAt int64  `json:"last_attempt_at"`
	LastStatus    int    `json:"last_status_code"`
	LastError     string `json:"last_error"`

	// For the sender only.
	URL          string `json:"-"`
	SecretSealed []byte `json:"-"`
	Payload      []byte `json:"-"` // the event as JSON: the body, signed
}

// DeliveryAttempt is the outcome of one attempt of a claimed delivery.
type DeliveryAttempt struct {
	ID     string
	Status string    // DeliveryPending (retry at Next), DeliveryDelivered or DeliveryFailed
	Code   int       // the receiver's status code, 0 when none
	Error  string    // why it failed
	Next   time.Time // the next attempt, for DeliveryPending
}

// WebhookDeliveryList is the response of GET …/webhooks/{id}/deliveries.
type WebhookDeliveryList struct {
	Deliveries []*WebhookDelivery `json:"deliveries"`
}

// WebhookStore keeps webhooks and their delivery outbox. Deliveries are
// queued by the stores' write methods in the transaction of each event.
type WebhookStore interface {
	// CreateWebhook stores w (ID, CreatedAt assigned) with its audit event.
	CreateWebhook(ctx context.Context, w *Webhook) error
	// FindWebhooks returns the project's webhooks, oldest first.
	FindWebhooks(ctx context.Context, projectID string) ([]*Webhook, error)
	// DeleteWebhook deletes a webhook and its deliveries, with its audit
	// event. Returns ENOTFOUND ModelReg.3201.
	DeleteWebhook(ctx context.Context, projectID, id string) error
	// FindWebhookDeliveries returns the latest limit deliveries of a
	// webhook, newest first. Returns ENOTFOUND ModelReg.3201.
	FindWebhookDeliveries(ctx context.Context, projectID, id string, limit int) ([]*WebhookDelivery, error)
	// ClaimWebhookDeliveries leases up to max due pending deliveries to
	// owner (SKIP LOCKED on PostgreSQL), with URL, sealed secret and
	// payload.
	ClaimWebhookDeliveries(ctx context.Context, owner string, lease time.Duration, max int) ([]*WebhookDelivery, error)
	// FinishWebhookDelivery records an attempt of owner's claimed
	// delivery: its new status (pending with the next attempt at next,
	// delivered or failed), the receiver's status code (0 when none) and
	// error text.
	FinishWebhookDelivery(ctx context.Context, id, owner, status string, code int, errText string, next time.Time) error
	// FinishWebhookDeliveries records the attempts as FinishWebhookDelivery
	// does, in one transaction, and returns how many it recorded (those
	// still leased to owner).
	FinishWebhookDeliveries(ctx context.Context, owner string, attempts []DeliveryAttempt) (int, error)
	// PendingWebhookDeliveries returns the number of pending deliveries.
	PendingWebhookDeliveries(ctx context.Context) (int, error)
}

// DeliveryNotifier is implemented by a WebhookStore that tells, in this
// process, when a commit has queued webhook deliveries, so that a sender
// waits on it instead of polling an empty outbox often. A value arrives
// after such a commit; values of several commits may fold into one.
// Commits of other processes (PostgreSQL replicas) are not signalled: a
// sender still polls, less often.
type DeliveryNotifier interface {
	DeliveriesQueued() <-chan struct{}
}

// SecretSealer seals secrets at rest with the server's master key (the
// Keyring of internal/auth). The label binds a sealed secret to its row.
type SecretSealer interface {
	Seal(label, secret string) []byte
	Open(label string, sealed []byte) (string, error)
}
