package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
)

// eventsPageRows is how many audit events one page of the events page
// shows; auditBoxRows how many a model's or a service's page shows.
const (
	eventsPageRows = 50
	auditBoxRows   = 10
)

// eventRow is an audit event as the pages show it.
type eventRow struct {
	*modelreg.AuditEvent
	Details string // the details as compact JSON, "" when none
	Link    string // the console page of the resource, "" when none
}

func eventRows(evs []*modelreg.AuditEvent) []eventRow {
	rows := make([]eventRow, 0, len(evs))
	for _, ev := range evs {
		row := eventRow{AuditEvent: ev}
		if len(ev.Details) > 0 {
			if b, err := json.Marshal(ev.Details); err == nil {
				row.Details = string(b)
			}
		}
		switch ev.ResourceType {
		case modelreg.ResourceModel:
			row.Link = Prefix + "models/" + url.PathEscape(ev.ResourceID)
		case modelreg.ResourceService:
			row.Link = Prefix + "services/" + url.PathEscape(ev.ResourceID)
		case modelreg.ResourceCleanupPolicy:
			row.Link = Prefix + "cleanup/" + url.PathEscape(ev.ResourceID)
		}
		rows = append(rows, row)
	}
	return rows
}

// timeInput is the format of the page's since and until fields (an HTML
// datetime-local input, in UTC); the minutes-only form is what browsers
// send when the seconds are zero.
const (
	timeInput        = "2006-01-02T15:04:05"
	timeInputMinutes = "2006-01-02T15:04"
	timeInputDate    = "2006-01-02"
)

// parseTimeInput reads a since or until field as ms since the epoch (0
// for an empty one). An until bound includes the whole second, minute or
// day it names, as a person reading "until 10:05" expects.
func parseTimeInput(name, v string, until bool) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	for _, f := range []struct {
		layout string
		unit   time.Duration
	}{{timeInput, time.Second}, {timeInputMinutes, time.Minute}, {timeInputDate, 24 * time.Hour}} {
		t, err := time.ParseInLocation(f.layout, v, time.UTC)
		if err != nil {
			continue
		}
		if until {
			t = t.Add(f.unit - time.Millisecond)
		}
		if t.Before(time.Unix(0, 0)) {
			break
		}
		return t.UnixMilli(), nil
	}
	return 0, modelreg.Invalid("Invalid parameter %s: %q is not a time as YYYY-MM-DDThh:mm[:ss] (UTC).", name, v)
}

// eventsData is the audit events page.
type eventsData struct {
	Action, ResourceID, Actor, Since, Until string
	Actions                                 []string
	Events                                  []eventRow
	Error                                   *pageError
	NextQuery                               string
	FirstQuery                              string
	Paged                                   bool
	Filtered                                bool
}

// handleEvents lists the project's audit events, newest first (GET
// /modelreg/v1/{project_id}/events with the page's filters and marker).
// A bad filter is shown above the form with its code, so it can be fixed.
func (c *Console) handleEvents(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	q := r.URL.Query()
	d := &eventsData{Action: q.Get("action"), ResourceID: strings.TrimSpace(q.Get("resource_id")), Actor: strings.TrimSpace(q.Get("actor")),
		Since: q.Get("since"), Until: q.Get("until"), Actions: modelreg.AuditActions, Paged: q.Get("marker") != ""}
	keep := url.Values{}
	for k, v := range map[string]string{"action": d.Action, "resource_id": d.ResourceID, "actor": d.Actor, "since": d.Since, "until": d.Until} {
		if v != "" {
			keep.Set(k, v)
		}
	}
	d.Filtered = len(keep) > 0
	d.FirstQuery = keep.Encode()
	f := modelreg.AuditFilter{Action: d.Action, ResourceID: d.ResourceID, Actor: d.Actor, Marker: q.Get("marker"), Limit: eventsPageRows}
	var err error
	if f.Since, err = parseTimeInput("since", d.Since, false); err == nil {
		f.Until, err = parseTimeInput("until", d.Until, true)
	}
	var list *modelreg.AuditList
	if err == nil {
		list, err = c.apiClient(w, r, s).ListEvents(r.Context(), f)
	}
	status := http.StatusOK
	if err != nil {
		if modelreg.ErrorCode(err) == modelreg.EUNAUTHORIZED {
			c.fail(w, r, s, err)
			return
		}
		d.Error = c.pageErr(w, err)
		status = d.Error.Status
	} else {
		d.Events = eventRows(list.Events)
		if list.NextMarker != "" {
			keep.Set("marker", list.NextMarker)
			d.NextQuery = keep.Encode()
		}
	}
	c.render(w, r, status, "events", &page{Title: "Audit events", Nav: "events", Session: s, Data: d})
}

// auditBox is the short list of a resource's latest audit events on its
// own page, with a link to all of them on the events page.
type auditBox struct {
	Events []eventRow
	More   bool   // there are older ones
	Query  string // of the events page filtered to the resource
	Error  *pageError
}

// resourceEvents reads the latest audit events of one resource (GET
// /modelreg/v1/{project_id}/events?resource_id=…). An error is shown in
// the box rather than failing the whole page.
func (c *Console) resourceEvents(w http.ResponseWriter, r *http.Request, cl *client.Client, id string) *auditBox {
	b := &auditBox{Query: url.Values{"resource_id": {id}}.Encode()}
	list, err := cl.ListEvents(r.Context(), modelreg.AuditFilter{ResourceID: id, Limit: auditBoxRows})
	if err != nil {
		b.Error = c.pageErr(w, err)
		return b
	}
	b.Events, b.More = eventRows(list.Events), list.NextMarker != ""
	return b
}
