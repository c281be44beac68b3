package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/modelreg/modelreg"
)

// CreateService deploys models as a service (a deployment record).
func (c *Client) CreateService(ctx context.Context, s *modelreg.ServiceCreate) (*modelreg.ServiceCreateResult, error) {
	var res modelreg.ServiceCreateResult
	if err := c.Do(ctx, http.MethodPost, "services", nil, s, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// ServiceQuery returns the query string of a service list filter.
func ServiceQuery(f modelreg.ServiceFilter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{
		"service_id": f.ServiceID, "service_name": f.Name, "model_id": f.ModelID, "cluster_id": f.ClusterID,
		"workspace_id": f.WorkspaceID, "infer_type": f.InferType, "status": f.Status, "sort_by": f.SortBy, "order": f.Order,
	} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Offset != 0 {
		q.Set("offset", strconv.Itoa(f.Offset))
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// ListServices returns one page of the project's services.
func (c *Client) ListServices(ctx context.Context, f modelreg.ServiceFilter) (*modelreg.ServiceList, error) {
	var res modelreg.ServiceList
	if err := c.Do(ctx, http.MethodGet, "services", ServiceQuery(f), nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// GetService returns a service with its config.
func (c *Client) GetService(ctx context.Context, id string) (*modelreg.Service, error) {
	var res modelreg.Service
	if err := c.Do(ctx, http.MethodGet, "services/"+url.PathEscape(id), nil, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// UpdateService changes a service's description, config or status.
func (c *Client) UpdateService(ctx context.Context, id string, u *modelreg.ServiceUpdate) error {
	return c.Do(ctx, http.MethodPut, "services/"+url.PathEscape(id), nil, u, nil)
}

// StartService sets a stopped service running.
func (c *Client) StartService(ctx context.Context, id string) error {
	s := modelreg.ServiceRunning
	return c.UpdateService(ctx, id, &modelreg.ServiceUpdate{Status: &s})
}

// StopService stops a service. A stopped service still pins its models.
func (c *Client) StopService(ctx context.Context, id string) error {
	s := modelreg.ServiceStopped
	return c.UpdateService(ctx, id, &modelreg.ServiceUpdate{Status: &s})
}

// DeleteServices deletes one or more services, all or none.
func (c *Client) DeleteServices(ctx context.Context, ids ...string) error {
	escaped := make([]string, len(ids))
	for i, id := range ids {
		escaped[i] = url.PathEscape(id)
	}
	return c.Do(ctx, http.MethodDelete, "services/"+strings.Join(escaped, ","), nil, nil, nil)
}

// ListServiceEvents returns one page of a service's events. f.ProjectID
// and f.ServiceID are ignored.
func (c *Client) ListServiceEvents(ctx context.Context, id string, f modelreg.EventFilter) (*modelreg.ServiceEventList, error) {
	q := url.Values{}
	if f.EventType != "" {
		q.Set("event_type", f.EventType)
	}
	for k, v := range map[string]int64{"start_time": f.StartTime, "end_time": f.EndTime, "offset": int64(f.Offset), "limit": int64(f.Limit)} {
		if v != 0 {
			q.Set(k, strconv.FormatInt(v, 10))
		}
	}
	if f.Order != "" {
		q.Set("order", f.Order)
	}
	var res modelreg.ServiceEventList
	if err := c.Do(ctx, http.MethodGet, "services/"+url.PathEscape(id)+"/events", q, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
