package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/modelreg/modelreg"
)

// ImportModel starts importing a model and returns its id. The model is
// publishing until the server's import job finishes; see WaitModel.
func (c *Client) ImportModel(ctx context.Context, m *modelreg.ModelImport) (string, error) {
	var res modelreg.ModelImportResult
	if err := c.Do(ctx, http.MethodPost, "models", nil, m, &res); err != nil {
		return "", err
	}
	return res.ModelID, nil
}

// ModelQuery returns the query string of a model list filter. Zero fields
// are left out, so the server applies its defaults.
func ModelQuery(f modelreg.ModelFilter) url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("model_name", f.Name)
	if f.ExactMatch {
		q.Set("exact_match", "true")
	}
	set("model_version", f.Version)
	set("description", f.Description)
	set("model_status", f.Status)
	set("model_type", f.Type)
	set("not_model_type", f.NotType)
	set("workspace_id", f.WorkspaceID)
	if f.Offset != 0 {
		q.Set("offset", strconv.Itoa(f.Offset))
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	set("sort_by", f.SortBy)
	set("order", f.Order)
	set("marker", f.Marker)
	return q
}

// ListModels returns one page of the project's models. f.ProjectID is ignored.
func (c *Client) ListModels(ctx context.Context, f modelreg.ModelFilter) (*modelreg.ModelList, error) {
	var res modelreg.ModelList
	if err := c.Do(ctx, http.MethodGet, "models", ModelQuery(f), nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// ModelNames returns the aggregates of some names of the project (the
// modelreg model-names extension): for each name of f.Names with versions
// matching f, in the order of f.Names, how many match, the newest of them
// and whether any is deployed or protected. f.ProjectID is ignored.
func (c *Client) ModelNames(ctx context.Context, f modelreg.ModelNameFilter) (*modelreg.ModelNameList, error) {
	q := url.Values{"model_name": f.Names}
	for k, v := range map[string]string{"description": f.Description, "model_status": f.Status, "model_type": f.Type} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var res modelreg.ModelNameList
	path := "/modelreg/v1/" + url.PathEscape(c.projectID) + "/model-names"
	if err := c.Do(ctx, http.MethodGet, path, q, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// CreateModels creates published, metadata-only models in one call (the
// modelreg bulk extension, at most modelreg.MaxBulkModels and the server's
// body limit) and returns their ids in order. All are created or none.
func (c *Client) CreateModels(ctx context.Context, ms []modelreg.BulkModel) ([]string, error) {
	var res modelreg.ModelBulkResult
	path := "/modelreg/v1/" + url.PathEscape(c.projectID) + "/models:bulk"
	if err := c.Do(ctx, http.MethodPost, path, nil, modelreg.ModelBulk{Models: ms}, &res); err != nil {
		return nil, err
	}
	return res.ModelIDs, nil
}

// GetModel returns a model with its details.
func (c *Client) GetModel(ctx context.Context, id string) (*modelreg.Model, error) {
	var res modelreg.Model
	if err := c.Do(ctx, http.MethodGet, "models/"+url.PathEscape(id), nil, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// DeleteModel deletes a model, and with cascade the other versions of its
// name. A model that cannot be deleted is listed in the result, not
// returned as an error.
func (c *Client) DeleteModel(ctx context.Context, id string, cascade bool) (*modelreg.DeleteResult, error) {
	var q url.Values
	if cascade {
		q = url.Values{"cascade": {"true"}}
	}
	var res modelreg.DeleteResult
	if err := c.Do(ctx, http.MethodDelete, "models/"+url.PathEscape(id), q, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// WaitModel polls a model every interval until it is no longer publishing,
// and returns it. It stops with ctx.
func (c *Client) WaitModel(ctx context.Context, id string, interval time.Duration) (*modelreg.Model, error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		m, err := c.GetModel(ctx, id)
		if err != nil || m.Status != modelreg.ModelPublishing {
			return m, err
		}
		select {
		case <-ctx.Done():
			return nil, modelreg.Internal("client.WaitModel", ctx.Err())
		case <-t.C:
		}
	}
}
