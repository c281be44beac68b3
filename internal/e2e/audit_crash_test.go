package e2e

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/webhook"
)

// The audit trail and the webhook outbox under kills: after every kill,
// replaying the events gives exactly the models the store holds (every
// acknowledged change has its event, no event describes a change that did
// not happen), and every event since the webhook was created has one
// delivery, pending or failed or delivered, and a delivered one reached
// the receiver.

// hookReceiver is the crash test's webhook receiver. It outlives the
// servers it receives from; it answers 503 now and then, so that retries
// cross kills too.
type hookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string]int // delivery id → requests received
	rng *rand.Rand
}

const hookSecret = "crash-test-webhook-secret"

func newHookReceiver(t *testing.T, seed uint64) *hookReceiver {
	h := &hookReceiver{got: map[string]int{}, rng: rand.New(rand.NewPCG(seed, 7))}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 0, 1024)
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			body = append(body, buf[:n]...)
			if err != nil {
				break
			}
		}
		if !webhook.Verify(hookSecret, body, r.Header.Get(webhook.HeaderSignature)) {
			t.Errorf("webhook delivery %s: bad signature", r.Header.Get(webhook.HeaderDelivery))
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.got[r.Header.Get(webhook.HeaderDelivery)]++
		if h.rng.IntN(10) == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// subscribe creates the webhook of every action.
func (h *hookReceiver) subscribe(t *testing.T, c *client.Client) string {
	id, err := c.CreateWebhook(context.Background(), modelreg.WebhookCreate{URL: h.srv.URL + "/hook", Secret: hookSecret, Events: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// checkAudit replays the project's events against the store's models.
func checkAudit(t *testing.T, db modelreg.Store, project, hookID string, h *hookReceiver, l *ledger) {
	ctx := context.Background()
	// Every event, oldest first.
	var events []*modelreg.AuditEvent
	f := modelreg.AuditFilter{ProjectID: project, Limit: modelreg.MaxAuditLimit}
	for {
		page, next, err := db.FindAuditEvents(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, page...)
		if next == "" {
			break
		}
		f.Marker = next
	}
	for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
		events[i], events[j] = events[j], events[i]
	}

	// Replay: where each model is after its events.
	const (
		live  = "live"
		trash = "trash"
		gone  = "gone"
	)
	state := map[string]string{}
	deletedEv, purgedEv := map[string]bool{}, map[string]bool{}
	for _, ev := range events {
		if ev.ResourceType != modelreg.ResourceModel || ev.Outcome != modelreg.OutcomeSuccess {
			continue
		}
		id, before := ev.ResourceID, state[ev.ResourceID]
		bad := func() { t.Errorf("event %s %s of model %s in state %q", ev.ID, ev.Action, id, before) }
		switch ev.Action {
		case modelreg.ActionModelImport:
			if before != "" {
				bad()
			}
			state[id] = live
		case modelreg.ActionModelPublish, modelreg.ActionModelFail, modelreg.ActionModelProtect, modelreg.ActionModelUnprotect:
			if before != live && before != trash {
				bad()
			}
		case modelreg.ActionModelDelete:
			if before != live {
				bad()
			}
			state[id] = gone
			if ev.Details["trash"] == true {
				state[id] = trash
			}
			deletedEv[id] = true
		case modelreg.ActionModelRestore:
			if before != trash {
				bad()
			}
			state[id] = live
		case modelreg.ActionModelPurge:
			if before != trash {
				bad()
			}
			state[id] = gone
			purgedEv[id] = true
		}
	}
	// Every acknowledged change has its event.
	l.mu.Lock()
	for id := range l.imported {
		if state[id] == "" {
			t.Errorf("model %s was acknowledged imported and has no model.import event", id)
		}
	}
	for id := range l.deleted {
		if !deletedEv[id] {
			t.Errorf("model %s was acknowledged deleted and has no model.delete event", id)
		}
	}
	for id := range l.purged {
		if !purgedEv[id] {
			t.Errorf("model %s was acknowledged purged and has no model.purge event", id)
		}
	}
	l.mu.Unlock()

	// What the store holds.
	actual := map[string]string{}
	for page := 0; ; page++ {
		mf := modelreg.ModelFilter{ProjectID: project, Page: modelreg.Page{Limit: modelreg.MaxListLimit, Offset: page}}
		if err := mf.Validate(); err != nil {
			t.Fatal(err)
		}
		ms, _, err := db.FindModels(ctx, mf)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			actual[m.ID] = live
		}
		if len(ms) < modelreg.MaxListLimit {
			break
		}
	}
	for page := 0; ; page++ {
		tf := modelreg.TrashFilter{ProjectID: project, Page: modelreg.Page{Limit: modelreg.MaxListLimit, Offset: page}}
		if err := tf.Validate(); err != nil {
			t.Fatal(err)
		}
		ms, _, err := db.FindTrash(ctx, tf)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			actual[m.ID] = trash
		}
		if len(ms) < modelreg.MaxListLimit {
			break
		}
	}
	for id, s := range actual {
		if state[id] != s {
			t.Errorf("model %s is %s in the store, but its events say %q", id, s, state[id])
		}
	}
	for id, s := range state {
		if s != gone && actual[id] != s {
			t.Errorf("the events say model %s is %s, but the store has it %q", id, s, actual[id])
		}
	}

	// The outbox: one delivery for every event since the webhook's own.
	if hookID == "" {
		return
	}
	since := -1
	for i, ev := range events {
		if ev.Action == modelreg.ActionWebhookCreate && ev.ResourceID == hookID {
			since = i
		}
	}
	if since < 0 {
		t.Fatalf("no webhook.create event for %s", hookID)
	}
	ds, err := db.FindWebhookDeliveries(ctx, project, hookID, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	byEvent := map[string]*modelreg.WebhookDelivery{}
	for _, d := range ds {
		if byEvent[d.EventID] != nil {
			t.Errorf("event %s has two deliveries", d.EventID)
		}
		byEvent[d.EventID] = d
	}
	counts := map[string]int{}
	for _, ev := range events[since:] {
		d := byEvent[ev.ID]
		if d == nil {
			t.Errorf("event %s (%s) has no delivery", ev.ID, ev.Action)
			continue
		}
		delete(byEvent, ev.ID)
		counts[d.Status]++
		h.mu.Lock()
		received := h.got[d.ID]
		h.mu.Unlock()
		switch d.Status {
		case modelreg.DeliveryPending, modelreg.DeliveryFailed:
		case modelreg.DeliveryDelivered:
			if received == 0 {
				t.Errorf("delivery %s is delivered but the receiver never got it", d.ID)
			}
		default:
			t.Errorf("delivery %s has status %q", d.ID, d.Status)
		}
	}
	for id := range byEvent {
		t.Errorf("delivery of event %s, which is not in the trail", id)
	}
	t.Logf("audit: %d events, %d models replayed; deliveries %v", len(events), len(state), counts)
}
