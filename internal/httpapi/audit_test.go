package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/webhook"
)

func TestAuditEvents(t *testing.T) { eachStore(t, testAuditEvents) }

func testAuditEvents(t *testing.T) {
	ctx := context.Background()
	t.Run("Actor", func(t *testing.T) {
		e := MustServeAuth(t, testLimits)
		id := MustImportPublished(t, e.testEnv, e.c, "resnet", "1.0.0")
		if _, err := e.c.DeleteModel(ctx, id, false); err != nil {
			t.Fatal(err)
		}
		evs, err := e.c.ListEvents(ctx, modelreg.AuditFilter{Action: modelreg.ActionModelDelete})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs.Events) != 1 {
			t.Fatalf("%d delete events", len(evs.Events))
		}
		ev := evs.Events[0]
		want := modelreg.AuditActor{UserID: e.alice.user.ID, UserName: "alice", AccessKey: e.alice.ak}
		if ev.Actor != want || ev.ResourceID != id || ev.ResourceName != "resnet" || ev.ResourceType != "model" ||
			ev.Outcome != "success" || ev.SourceIP != "127.0.0.1" || ev.RequestID == "" {
			t.Errorf("event %+v", ev)
		}
		// Project B sees none of A's events.
		evsB, err := e.cb.ListEvents(ctx, modelreg.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evsB.Events {
			if ev.ResourceID == id {
				t.Errorf("project B sees %+v", ev)
			}
		}
	})
	t.Run("RequestAndSource", func(t *testing.T) {
		e := MustServe(t, func(cfg *httpapi.Config) {
			cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		})
		h := http.Header{"X-Request-Id": {"audit-req-1"}, "X-Forwarded-For": {"203.0.113.9"}, "Content-Type": {"application/json"}}
		body, _ := json.Marshal(newImport("bert", "1.0.0"))
		r := e.raw(t, http.MethodPost, "/v1/"+projectA+"/models", strings.NewReader(string(body)), h)
		if r.status != http.StatusOK {
			t.Fatalf("import: %d %s", r.status, r.body)
		}
		evs, err := e.c.ListEvents(ctx, modelreg.AuditFilter{Action: modelreg.ActionModelImport})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs.Events) != 1 || evs.Events[0].RequestID != "audit-req-1" || evs.Events[0].SourceIP != "203.0.113.9" ||
			evs.Events[0].Actor.UserName != modelreg.SystemActor {
			t.Fatalf("events %+v", evs.Events)
		}
	})
	t.Run("PreviewAndRefusals", func(t *testing.T) {
		e := MustServe(t)
		a := MustImportPublished(t, e, e.c, "resnet", "1.0.0")
		b := MustImportPublished(t, e, e.c, "resnet", "1.0.1")
		MustDeploy(t, e.c, "svc", b)
		before := count(t, e.c, modelreg.AuditFilter{})
		if _, err := e.c.PreviewDeleteModel(ctx, a, true); err != nil {
			t.Fatal(err)
		}
		if n := count(t, e.c, modelreg.AuditFilter{}); n != before {
			t.Fatalf("a preview wrote %d events", n-before)
		}
		if _, err := e.c.DeleteModel(ctx, a, true); err != nil {
			t.Fatal(err)
		}
		ref, err := e.c.ListEvents(ctx, modelreg.AuditFilter{Action: modelreg.ActionModelDeleteRefused})
		if err != nil {
			t.Fatal(err)
		}
		if len(ref.Events) != 1 || ref.Events[0].ResourceID != b || ref.Events[0].ErrorCode != modelreg.CodeModelDeployed ||
			ref.Events[0].Outcome != "failure" {
			t.Fatalf("refusals %+v", ref.Events)
		}
	})
	t.Run("Paging", func(t *testing.T) {
		e := MustServe(t)
		for i := range 5 {
			MustImport(t, e.c, newImport("m", "1.0."+string(rune('0'+i))))
		}
		var all []string
		f := modelreg.AuditFilter{Limit: 2}
		for {
			page, err := e.c.ListEvents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range page.Events {
				all = append(all, ev.Details["model_version"].(string))
			}
			if page.NextMarker == "" {
				break
			}
			f.Marker = page.NextMarker
		}
		if got := strings.Join(all, ","); got != "1.0.4,1.0.3,1.0.2,1.0.1,1.0.0" {
			t.Fatalf("newest first by marker: %s", got)
		}
	})
	t.Run("ReadOnly", func(t *testing.T) {
		// No route edits or deletes an event.
		e := MustServe(t)
		MustImport(t, e.c, newImport("m", "1.0.0"))
		for _, m := range []string{http.MethodDelete, http.MethodPut, http.MethodPost, http.MethodPatch} {
			r := e.raw(t, m, "/modelreg/v1/"+projectA+"/events", nil, nil)
			if r.status != http.StatusMethodNotAllowed {
				t.Errorf("%s events: %d", m, r.status)
			}
		}
		if n := count(t, e.c, modelreg.AuditFilter{}); n != 1 {
			t.Errorf("%d events", n)
		}
	})
}

// count returns the number of events f selects (up to 1000).
func count(t *testing.T, c *client.Client, f modelreg.AuditFilter) int {
	t.Helper()
	f.Limit = modelreg.MaxAuditLimit
	evs, err := c.ListEvents(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs.Events)
}

// receiver is a webhook receiver recording what it gets.
type receiver struct {
	mu     sync.Mutex
	status int
	got    []delivery
}

type delivery struct {
	header http.Header
	body   []byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.got = append(rc.got, delivery{r.Header.Clone(), b})
	w.WriteHeader(rc.status)
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

func TestWebhooks(t *testing.T) { eachStore(t, testWebhooks) }

func testWebhooks(t *testing.T) {
	ctx := context.Background()
	rc := &receiver{status: http.StatusNoContent}
	dst := httptest.NewServer(rc)
	t.Cleanup(dst.Close)
	const secret = "a-secret-of-some-length"

	t.Run("PrivateRefused", func(t *testing.T) {
		e := MustServe(t)
		for _, u := range []string{dst.URL, "http://localhost:9/x", "http://169.254.169.254/latest", "http://10.1.2.3/",
			"http://[::1]:8080/", "http://[::ffff:127.0.0.1]/", "http://192.168.0.1/", "http://0.0.0.0/"} {
			_, err := e.c.CreateWebhook(ctx, modelreg.WebhookCreate{URL: u, Secret: secret, Events: []string{"*"}})
			if modelreg.ErrorAPICode(err) != modelreg.CodeWebhookURL || modelreg.ErrorCode(err) != modelreg.EINVALID {
				t.Errorf("%s: %v", u, err)
			}
		}
		hooks, err := e.c.ListWebhooks(ctx)
		if err != nil || len(hooks) != 0 {
			t.Fatalf("webhooks %v %v", hooks, err)
		}
	})
	t.Run("Deliver", func(t *testing.T) {
		var store modelreg.Store
		e := MustServe(t, func(cfg *httpapi.Config) { cfg.WebhookAllowPrivate = true; store = cfg.Store })
		id, err := e.c.CreateWebhook(ctx, modelreg.WebhookCreate{URL: dst.URL + "/hook", Secret: secret,
			Events: []string{modelreg.ActionModelDelete}, Description: "deletes"})
		if err != nil {
			t.Fatal(err)
		}
		// The list never carries the secret.
		r := e.raw(t, http.MethodGet, "/modelreg/v1/"+projectA+"/webhooks", nil, nil)
		if r.status != http.StatusOK || strings.Contains(r.body, secret) || !strings.Contains(r.body, id) {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		m := MustImportPublished(t, e, e.c, "resnet", "1.0.0")
		if _, err := e.c.DeleteModel(ctx, m, false); err != nil {
			t.Fatal(err)
		}
		ds, err := e.c.ListDeliveries(ctx, id, 0)
		if err != nil || len(ds) != 1 || ds[0].Status != modelreg.DeliveryPending {
			t.Fatalf("queued deliveries %+v %v", ds, err)
		}
		s := webhook.New(webhook.Config{Store: store, AllowPrivate: true, Now: storeTime})
		if n, err := s.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("RunOnce: %d %v", n, err)
		}
		got := rc.deliveries()
		if len(got) != 1 {
			t.Fatalf("receiver got %d", len(got))
		}
		d := got[0]
		if d.header.Get(webhook.HeaderEvent) != modelreg.ActionModelDelete || d.header.Get(webhook.HeaderDelivery) != ds[0].ID ||
			!webhook.Verify(secret, d.body, d.header.Get(webhook.HeaderSignature)) {
			t.Fatalf("headers %v", d.header)
		}
		var ev modelreg.AuditEvent
		if err := json.Unmarshal(d.body, &ev); err != nil || ev.ResourceID != m || ev.Action != modelreg.ActionModelDelete {
			t.Fatalf("body %s: %v", d.body, err)
		}
		if ds, _ = e.c.ListDeliveries(ctx, id, 0); ds[0].Status != modelreg.DeliveryDelivered || ds[0].Attempts != 1 || ds[0].LastStatus != 204 {
			t.Fatalf("after delivery %+v", ds[0])
		}
		// A receiver that fails: the delivery stays pending with a later attempt.
		rc.mu.Lock()
		rc.status = http.StatusServiceUnavailable
		rc.mu.Unlock()
		m2 := MustImportPublished(t, e, e.c, "resnet", "1.0.1")
		if _, err := e.c.DeleteModel(ctx, m2, false); err != nil {
			t.Fatal(err)
		}
		if n, err := s.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("RunOnce: %d %v", n, err)
		}
		ds, _ = e.c.ListDeliveries(ctx, id, 0)
		if ds[0].Status != modelreg.DeliveryPending || ds[0].Attempts != 1 || ds[0].LastStatus != 503 || ds[0].NextAttemptAt <= ds[0].LastAttemptAt {
			t.Fatalf("failed attempt %+v", ds[0])
		}
		if err := e.c.DeleteWebhook(ctx, id); err != nil {
			t.Fatal(err)
		}
		_, err = e.c.ListDeliveries(ctx, id, 0)
		if modelreg.ErrorAPICode(err) != modelreg.CodeWebhookNotFound {
			t.Fatalf("deliveries of a deleted webhook: %v", err)
		}
	})
	t.Run("Rebinding", func(t *testing.T) {
		// The sender checks the address it dials: a webhook stored with a
		// name that now resolves to loopback is refused at delivery time.
		var store modelreg.Store
		e := MustServe(t, func(cfg *httpapi.Config) { cfg.WebhookAllowPrivate = true; store = cfg.Store })
		u := strings.Replace(dst.URL, "127.0.0.1", "localhost", 1)
		id, err := e.c.CreateWebhook(ctx, modelreg.WebhookCreate{URL: u, Secret: secret, Events: []string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		before := len(rc.deliveries())
		s := webhook.New(webhook.Config{Store: store, AllowPrivate: false, Now: storeTime})
		if _, err := s.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if len(rc.deliveries()) != before {
			t.Fatal("the sender reached a loopback address")
		}
		ds, _ := e.c.ListDeliveries(ctx, id, 0)
		if len(ds) != 1 || ds[0].Status != modelreg.DeliveryPending || !strings.Contains(ds[0].LastError, "private") {
			t.Fatalf("deliveries %+v", *ds[0])
		}
	})
}

// storeTime is about the time of MustServe's store clock.
func storeTime() time.Time { return time.Date(2024, 3, 8, 12, 5, 0, 0, time.UTC) }

func TestSenderBackoff(t *testing.T) {
	s := webhook.New(webhook.Config{MinBackoff: 10 * time.Second, MaxBackoff: time.Hour})
	for attempts, want := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 10: time.Hour, 100: time.Hour} {
		if got := s.Backoff(attempts); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", attempts, got, want)
		}
	}
}

func TestCleanupPolicies(t *testing.T) { eachStore(t, testCleanupPolicies) }

func testCleanupPolicies(t *testing.T) {
	ctx := context.Background()
	var store modelreg.Store
	e := MustServe(t, func(cfg *httpapi.Config) { store = cfg.Store })
	var ids []string
	for _, v := range []string{"1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4"} {
		ids = append(ids, MustImportPublished(t, e, e.c, "resnet", v))
	}
	other := MustImportPublished(t, e, e.c, "bert", "1.0.0")
	MustDeploy(t, e.c, "svc", ids[1])
	if _, err := e.c.SetProtection(ctx, ids[0], true, "golden"); err != nil {
		t.Fatal(err)
	}
	keepLast, keepDays, pattern := 2, 0, "res*"
	pid, err := e.c.CreateCleanupPolicy(ctx, modelreg.CleanupPolicyBody{NamePattern: &pattern, KeepLast: &keepLast, KeepDays: &keepDays})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.c.GetCleanupPolicy(ctx, pid)
	if err != nil || !p.Enabled || p.KeepLast != 2 || p.NamePattern != "res*" {
		t.Fatalf("policy %+v %v", p, err)
	}
	preview, err := e.c.PreviewCleanupPolicy(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	want := &modelreg.CleanupPreview{
		ToDelete: []modelreg.CleanupDelete{{ID: ids[2], Name: "resnet", Version: "1.0.2"}},
		Kept: []modelreg.CleanupKept{{ID: ids[4], Reason: "newest"}, {ID: ids[3], Reason: "newest"},
			{ID: ids[1], Reason: "deployed"}, {ID: ids[0], Reason: "protected"}},
	}
	if g, w := mustJSON(t, preview), mustJSON(t, want); g != w {
		t.Fatalf("preview\n got %s\nwant %s", g, w)
	}
	// keep_days keeps them all as recent: they are minutes old by the
	// store's clock (in 2024), which the preview uses, not the server's
	// (years later).
	days := 1
	if _, err := e.c.UpdateCleanupPolicy(ctx, pid, modelreg.CleanupPolicyBody{KeepDays: &days}); err != nil {
		t.Fatal(err)
	}
	if preview, _ = e.c.PreviewCleanupPolicy(ctx, pid); len(preview.ToDelete) != 0 || preview.Kept[2].Reason != "recent" {
		t.Fatalf("with keep_days: %+v", preview)
	}
	days = 0
	if _, err := e.c.UpdateCleanupPolicy(ctx, pid, modelreg.CleanupPolicyBody{KeepDays: &days}); err != nil {
		t.Fatal(err)
	}
	p, _ = e.c.GetCleanupPolicy(ctx, pid)
	p.ProjectID = projectA
	deleted, err := modelreg.RunCleanup(ctx, store, p, modelreg.StoreNow(store), 0)
	if err != nil || len(deleted) != 1 || deleted[0] != ids[2] {
		t.Fatalf("run: %v %v (policy %+v)", deleted, err, p)
	}
	for _, id := range append([]string{ids[0], ids[1], ids[3], ids[4]}, other) {
		if _, err := e.c.GetModel(ctx, id); err != nil {
			t.Errorf("kept model %s: %v", id, err)
		}
	}
	evs, err := e.c.ListEvents(ctx, modelreg.AuditFilter{Action: modelreg.ActionModelDelete})
	if err != nil || len(evs.Events) != 1 || evs.Events[0].Actor.UserName != "cleanup-policy:"+pid || evs.Events[0].ResourceID != ids[2] {
		t.Fatalf("delete events %+v %v", evs, err)
	}
	ps, err := e.c.ListCleanupPolicies(ctx)
	if err != nil || len(ps) != 1 || ps[0].LastRunAt == 0 {
		t.Fatalf("policies %+v %v", ps, err)
	}
	if err := e.c.DeleteCleanupPolicy(ctx, pid); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.GetCleanupPolicy(ctx, pid); modelreg.ErrorAPICode(err) != modelreg.CodePolicyNotFound {
		t.Fatalf("deleted policy: %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
