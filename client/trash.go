package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/modelreg/modelreg"
)

// modelreg's deletion extensions (ARCHITECTURE §4a): previews, protection,
// preconditions and the trash.

type ifMatchKey struct{}

// WithIfMatch returns a context whose requests carry If-Match with etags
// (as GetModelETag and GetServiceETag return them, or "*"): a delete of a
// model, or an update or delete of a service, then fails with 412
// ModelReg.0412 (EPRECONDITION) when the resource changed meanwhile.
func WithIfMatch(ctx context.Context, etags ...string) context.Context {
	return context.WithValue(ctx, ifMatchKey{}, strings.Join(etags, ", "))
}

// PreviewDeleteModel answers what DeleteModel would do now (dry_run=true):
// the same lists and remaining_count, DryRun set; nothing changes.
func (c *Client) PreviewDeleteModel(ctx context.Context, id string, cascade bool) (*modelreg.DeleteResult, error) {
	q := url.Values{"dry_run": {"true"}}
	if cascade {
		q.Set("cascade", "true")
	}
	var res modelreg.DeleteResult
	if err := c.Do(ctx, http.MethodDelete, "models/"+url.PathEscape(id), q, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// GetModelETag returns a model and its ETag.
func (c *Client) GetModelETag(ctx context.Context, id string) (*modelreg.Model, string, error) {
	var m modelreg.Model
	etag, err := c.getETag(ctx, "models/"+url.PathEscape(id), &m)
	if err != nil {
		return nil, "", err
	}
	return &m, etag, nil
}

// GetServiceETag returns a service and its ETag.
func (c *Client) GetServiceETag(ctx context.Context, id string) (*modelreg.Service, string, error) {
	var s modelreg.Service
	etag, err := c.getETag(ctx, "services/"+url.PathEscape(id), &s)
	if err != nil {
		return nil, "", err
	}
	return &s, etag, nil
}

func (c *Client) getETag(ctx context.Context, path string, out any) (string, error) {
	resp, err := c.send(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return "", &modelreg.Error{Code: modelreg.EINTERNAL, APICode: modelreg.CodeInternal, Message: "Undecodable response.",
			Op: "GET " + path, Err: err}
	}
	return resp.Header.Get("ETag"), nil
}

// GetProtection returns a model's protection (live or in the trash).
func (c *Client) GetProtection(ctx context.Context, id string) (*modelreg.ModelProtection, error) {
	var p modelreg.ModelProtection
	if err := c.Do(ctx, http.MethodGet, c.extPath("models/"+url.PathEscape(id)+"/protection"), nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// SetProtection protects a model against deletion (with a reason), or lifts
// the protection.
func (c *Client) SetProtection(ctx context.Context, id string, protected bool, reason string) (*modelreg.ModelProtection, error) {
	var p modelreg.ModelProtection
	body := modelreg.ProtectionUpdate{Protected: &protected, Reason: &reason}
	if err := c.Do(ctx, http.MethodPut, c.extPath("models/"+url.PathEscape(id)+"/protection"), nil, body, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ListTrash returns one page of the project's trash (latest deleted
// first): name is a substring of the model name, offset a page index.
func (c *Client) ListTrash(ctx context.Context, name string, limit, offset int) (*modelreg.TrashList, error) {
	q := url.Values{}
	if name != "" {
		q.Set("model_name", name)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	var res modelreg.TrashList
	if err := c.Do(ctx, http.MethodGet, c.extPath("trash"), q, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// RestoreModel brings a model back from the trash.
func (c *Client) RestoreModel(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodPost, c.extPath("trash/"+url.PathEscape(id)+"/restore"), nil, nil, nil)
}

// PurgeModel deletes a model of the trash for good.
func (c *Client) PurgeModel(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, c.extPath("trash/"+url.PathEscape(id)), nil, nil, nil)
}

// PurgeTrash empties the project's trash, but for its protected models,
// which the result lists as failures.
func (c *Client) PurgeTrash(ctx context.Context) (*modelreg.PurgeResult, error) {
	var res modelreg.PurgeResult
	if err := c.Do(ctx, http.MethodDelete, c.extPath("trash"), nil, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
