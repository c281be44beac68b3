package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/modelreg/modelreg"
)

// ListEvents returns one page of the project's audit events, newest first
// (f.ProjectID is ignored; the client's project is used).
func (c *Client) ListEvents(ctx context.Context, f modelreg.AuditFilter) (*modelreg.AuditList, error) {
	q := url.Values{}
	for k, v := range map[string]string{"action": f.Action, "resource_id": f.ResourceID, "actor": f.Actor, "marker": f.Marker} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for k, v := range map[string]int64{"since": f.Since, "until": f.Until, "limit": int64(f.Limit)} {
		if v != 0 {
			q.Set(k, strconv.FormatInt(v, 10))
		}
	}
	var res modelreg.AuditList
	if err := c.Do(ctx, http.MethodGet, c.extPath("events"), q, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// CreateWebhook subscribes a URL to the project's events and returns the
// webhook's id.
func (c *Client) CreateWebhook(ctx context.Context, w modelreg.WebhookCreate) (string, error) {
	var res struct {
		ID string `json:"webhook_id"`
	}
	if err := c.Do(ctx, http.MethodPost, c.extPath("webhooks"), nil, w, &res); err != nil {
		return "", err
	}
	return res.ID, nil
}

// ListWebhooks returns the project's webhooks (without secrets).
func (c *Client) ListWebhooks(ctx context.Context) ([]*modelreg.Webhook, error) {
	var res struct {
		Webhooks []*modelreg.Webhook `json:"webhooks"`
	}
	if err := c.Do(ctx, http.MethodGet, c.extPath("webhooks"), nil, nil, &res); err != nil {
		return nil, err
	}
	return res.Webhooks, nil
}

// DeleteWebhook deletes a webhook.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, c.extPath("webhooks/"+url.PathEscape(id)), nil, nil, nil)
}

// ListDeliveries returns a webhook's latest deliveries, newest first.
func (c *Client) ListDeliveries(ctx context.Context, id string, limit int) ([]*modelreg.WebhookDelivery, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var res modelreg.WebhookDeliveryList
	if err := c.Do(ctx, http.MethodGet, c.extPath("webhooks/"+url.PathEscape(id)+"/deliveries"), q, nil, &res); err != nil {
		return nil, err
	}
	return res.Deliveries, nil
}

// CreateCleanupPolicy creates a cleanup policy and returns its id.
func (c *Client) CreateCleanupPolicy(ctx context.Context, b modelreg.CleanupPolicyBody) (string, error) {
	var res struct {
		ID string `json:"policy_id"`
	}
	if err := c.Do(ctx, http.MethodPost, c.extPath("cleanup-policies"), nil, b, &res); err != nil {
		return "", err
	}
	return res.ID, nil
}

// ListCleanupPolicies returns the project's cleanup policies.
func (c *Client) ListCleanupPolicies(ctx context.Context) ([]*modelreg.CleanupPolicy, error) {
	var res struct {
		Policies []*modelreg.CleanupPolicy `json:"policies"`
	}
	if err := c.Do(ctx, http.MethodGet, c.extPath("cleanup-policies"), nil, nil, &res); err != nil {
		return nil, err
	}
	return res.Policies, nil
}

// GetCleanupPolicy returns one cleanup policy.
func (c *Client) GetCleanupPolicy(ctx context.Context, id string) (*modelreg.CleanupPolicy, error) {
	var p modelreg.CleanupPolicy
	if err := c.Do(ctx, http.MethodGet, c.extPath("cleanup-policies/"+url.PathEscape(id)), nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// UpdateCleanupPolicy changes the fields of b that are set.
func (c *Client) UpdateCleanupPolicy(ctx context.Context, id string, b modelreg.CleanupPolicyBody) (*modelreg.CleanupPolicy, error) {
	var p modelreg.CleanupPolicy
	if err := c.Do(ctx, http.MethodPut, c.extPath("cleanup-policies/"+url.PathEscape(id)), nil, b, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// DeleteCleanupPolicy deletes a cleanup policy.
func (c *Client) DeleteCleanupPolicy(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, c.extPath("cleanup-policies/"+url.PathEscape(id)), nil, nil, nil)
}

// PreviewCleanupPolicy returns what a run of the policy would do now.
func (c *Client) PreviewCleanupPolicy(ctx context.Context, id string) (*modelreg.CleanupPreview, error) {
	var res modelreg.CleanupPreview
	if err := c.Do(ctx, http.MethodPost, c.extPath("cleanup-policies/"+url.PathEscape(id)+"/preview"), nil, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
