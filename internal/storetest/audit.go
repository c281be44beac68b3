package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelreg/modelreg"
)

// The audit trail, webhooks and cleanup policies of ARCHITECTURE §4a.

// audit returns every event of f (its limit ignored), newest first,
// walking the pages by marker.
func (e *env) audit(f modelreg.AuditFilter) []*modelreg.AuditEvent {
	e.t.Helper()
	f.Limit = modelreg.MaxAuditLimit
	out := []*modelreg.AuditEvent{}
	for {
		evs, next, err := e.s.FindAuditEvents(e.ctx, f)
		ok(e.t, err)
		out = append(out, evs...)
		if next == "" {
			return out
		}
		f.Marker = next
	}
}

// actions returns the actions of evs, oldest first.
func actions(evs []*modelreg.AuditEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[len(evs)-1-i] = ev.Action
	}
	return out
}

// as returns e's context acting as alice with key AK1 from 192.0.2.7 in
// request req.
func (e *env) as(req string) {
	ctx := modelreg.NewContextWithPrincipal(context.Background(), &modelreg.Principal{
		UserID: "0123456789abcdef0123456789abcde0", UserName: "alice", AccessKey: "AKALICE0000000000001"})
	e.ctx = modelreg.NewContextWithRequestMeta(ctx, modelreg.RequestMeta{RequestID: req, SourceIP: "192.0.2.7"})
}

func testAuditTrail(t *testing.T, open Opener) {
	e := newEnv(t, open)
	e.as("req-1")
	a := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1))
	b := e.publishedModel(projA, "resnet", "1.0.1", file("b", 2))
	c := e.publishedModel(projA, "resnet", "1.0.2", file("c", 3))
	f := e.failedModel(projA, "bert", "1.0.0")
	svc := e.createService(projA, "svc", b.ID)
	e.protect(projA, c.ID, true, "production")
	got := e.batch(projA, []string{a.ID, b.ID, c.ID, f.ID}, modelreg.DeleteOptions{Trash: week})
	if diff := cmp.Diff([]string{"", modelreg.CodeModelDeployed, modelreg.CodeModelProtected, ""}, got); diff != "" {
		t.Fatalf("delete codes (-want +got):\n%s", diff)
	}
	ok(t, e.s.RestoreModel(e.ctx, projA, a.ID))
	e.batch(projA, []string{a.ID}, modelreg.DeleteOptions{Trash: week})
	res, err := modelreg.PurgeTrash(e.ctx, e.s, projA, []string{a.ID})
	ok(t, err)
	if len(res.Success) != 1 {
		t.Fatalf("purge: %+v", res)
	}
	e.protect(projA, c.ID, false, "")
	stop := modelreg.ServiceStopped
	_, err = e.s.UpdateService(e.ctx, projA, svc.ID, modelreg.ServiceUpdate{Status: &stop})
	ok(t, err)
	ok(t, e.s.DeleteServices(e.ctx, projA, []string{svc.ID}))
	// If-Match refused: a refusal event of its own.
	_, _, err = e.s.DeleteModelBatch(e.ctx, projA, []string{c.ID}, modelreg.DeleteOptions{IfMatch: []string{`"nope"`}})
	wantErr(t, err, modelreg.EPRECONDITION, modelreg.CodePreconditionFailed)

	evs := e.audit(modelreg.AuditFilter{ProjectID: projA})
	want := []string{
		"model.import", "model.publish", "model.import", "model.publish", "model.import", "model.publish",
		"model.import", "model.fail", "service.create", "model.protect",
		"model.delete", "model.delete_refused", "model.delete_refused", "model.delete",
		"model.restore", "model.delete", "model.purge", "model.unprotect", "service.update", "service.delete",
		"model.delete_refused",
	}
	if diff := cmp.Diff(want, actions(evs)); diff != "" {
		t.Fatalf("actions, oldest first (-want +got):\n%s", diff)
	}
	ids := map[string]bool{}
	for _, ev := range evs {
		if !modelreg.ValidID(ev.ID) || ids[ev.ID] {
			t.Errorf("event id %q invalid or repeated", ev.ID)
		}
		ids[ev.ID] = true
		if ev.Actor != (modelreg.AuditActor{UserID: "0123456789abcdef0123456789abcde0", UserName: "alice", AccessKey: "AKALICE0000000000001"}) {
			t.Errorf("%s: actor %+v", ev.Action, ev.Actor)
		}
		if ev.RequestID != "req-1" || ev.SourceIP != "192.0.2.7" || ev.ProjectID != projA || ev.Time != e.nowMs() {
			t.Errorf("%s: request %q source %q project %q time %d", ev.Action, ev.RequestID, ev.SourceIP, ev.ProjectID, ev.Time)
		}
		if ev.Details == nil {
			t.Errorf("%s: nil details", ev.Action)
		}
	}
	// The refusals, newest first: 0412, then ModelReg.3101 (c) and 3009 (b).
	refused := e.audit(modelreg.AuditFilter{ProjectID: projA, Action: modelreg.ActionModelDeleteRefused})
	type r struct{ ID, Name, Outcome, Code string }
	var gotR []r
	for _, ev := range refused {
		gotR = append(gotR, r{ev.ResourceID, ev.ResourceName, ev.Outcome, ev.ErrorCode})
	}
	wantR := []r{
		{c.ID, "", "failure", modelreg.CodePreconditionFailed},
		{c.ID, "resnet", "failure", modelreg.CodeModelProtected},
		{b.ID, "resnet", "failure", modelreg.CodeModelDeployed},
	}
	if diff := cmp.Diff(wantR, gotR); diff != "" {
		t.Errorf("refusals (-want +got):\n%s", diff)
	}
	del := e.audit(modelreg.AuditFilter{ProjectID: projA, Action: modelreg.ActionModelDelete, ResourceID: f.ID})
	if len(del) != 1 || del[0].ResourceName != "bert" || del[0].Details["model_version"] != "1.0.0" ||
		del[0].Details["trash"] != true || del[0].Outcome != modelreg.OutcomeSuccess || del[0].ErrorCode != "" {
		t.Errorf("delete event of f: %+v", del)
	}
	// Another project sees none of them.
	if other := e.audit(modelreg.AuditFilter{ProjectID: projB}); len(other) != 0 {
		t.Errorf("project B sees %d events", len(other))
	}

	t.Run("System", func(t *testing.T) {
		e := newEnv(t, open)
		e.ctx = modelreg.NewContextWithRequestMeta(context.Background(), modelreg.RequestMeta{Actor: "cleanup-policy:p1"})
		m := e.createModel(projA, "m", "1.0.0")
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, m.ID))
		e.ctx = context.Background()
		e.createModel(projA, "m", "1.0.0")
		evs := e.audit(modelreg.AuditFilter{ProjectID: projA})
		if evs[0].Actor.UserName != modelreg.SystemActor || evs[1].Actor.UserID != "cleanup-policy:p1" || evs[1].Actor.UserName != "cleanup-policy:p1" {
			t.Errorf("actors: %+v, %+v", evs[0].Actor, evs[1].Actor)
		}
	})
	t.Run("Auth", func(t *testing.T) {
		e := newEnv(t, open)
		e.as("req-2")
		e.createProject(projA, "a")
		u := e.createUser("bob", projA)
		ok(t, e.s.CreateCredential(e.ctx, &modelreg.Credential{AccessKey: "AKBOB00000000000001X", UserID: u.ID, SecretEnc: []byte("x")}))
		ok(t, e.s.RevokeCredential(e.ctx, "AKBOB00000000000001X"))
		want := []string{"project.create", "user.create", "credential.create", "credential.revoke"}
		if diff := cmp.Diff(want, actions(e.audit(modelreg.AuditFilter{ProjectID: projA}))); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("Tokens", func(t *testing.T) {
		e := newEnv(t, open)
		e.createProject(projA, "a")
		e.createProject(projB, "b")
		u := e.createUser("carol", projA, projB)
		// Issued for a password: no principal, so the token's user acts.
		e.ctx = modelreg.NewContextWithRequestMeta(context.Background(), modelreg.RequestMeta{RequestID: "req-3", SourceIP: "192.0.2.8"})
		now := e.nowMs()
		hash := "a1b2c3d4e5f60718" + digest(7)[16:]
		tok := &modelreg.Token{Hash: hash, UserID: u.ID, ProjectID: projB, Method: modelreg.MethodPassword,
			IssuedAt: now, ExpiresAt: now + time.Hour.Milliseconds()}
		ok(t, e.s.CreateToken(e.ctx, tok))
		// A second issue of the same hash fails and records nothing.
		wantErr(t, e.s.CreateToken(e.ctx, tok), modelreg.ECONFLICT, modelreg.CodeInvalidArgument)
		ok(t, e.s.DeleteToken(e.ctx, hash))
		wantErr(t, e.s.DeleteToken(e.ctx, hash), modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
		evs := e.audit(modelreg.AuditFilter{ProjectID: projB})
		if diff := cmp.Diff([]string{"project.create", "user.create", "token.issue", "token.revoke"}, actions(evs)); diff != "" {
			t.Fatalf("events of the token's project (-want +got):\n%s", diff)
		}
		for _, ev := range evs[:2] { // newest first: revoke, issue
			if ev.ResourceType != modelreg.ResourceToken || ev.ResourceID != "a1b2c3d4e5f60718" || ev.ResourceName != "carol" ||
				ev.Actor != (modelreg.AuditActor{UserID: u.ID, UserName: "carol"}) || ev.RequestID != "req-3" ||
				ev.Outcome != modelreg.OutcomeSuccess || ev.Details["user_id"] != u.ID || ev.Details["method"] != modelreg.MethodPassword {
				t.Errorf("%s event: %+v", ev.Action, ev)
			}
		}
		// The token reaches projB only: projA has no token events.
		for _, ev := range e.audit(modelreg.AuditFilter{ProjectID: projA}) {
			if ev.ResourceType == modelreg.ResourceToken {
				t.Errorf("token event in another project: %+v", ev)
			}
		}
		// Revoked by an authenticated caller: that caller is the actor.
		ok(t, e.s.CreateToken(e.ctx, &modelreg.Token{Hash: digest(8), UserID: u.ID, ProjectID: projB, Method: modelreg.MethodPassword,
			IssuedAt: now, ExpiresAt: now + time.Hour.Milliseconds()}))
		e.as("req-4")
		ok(t, e.s.DeleteToken(e.ctx, digest(8)))
		if ev := e.audit(modelreg.AuditFilter{ProjectID: projB})[0]; ev.Action != modelreg.ActionTokenRevoke || ev.Actor.UserName != "alice" {
			t.Errorf("revoke by alice: %+v", ev)
		}
	})
	t.Run("FailedCallNoEvent", func(t *testing.T) {
		e := newEnv(t, open)
		e.createModel(projA, "m", "1.0.0")
		before := len(e.audit(modelreg.AuditFilter{ProjectID: projA}))
		err := e.s.CreateModel(e.ctx, newModel(projA, "m", "1.0.0"))
		wantErr(t, err, modelreg.ECONFLICT, modelreg.CodeModelExists)
		err = e.s.DeleteServices(e.ctx, projA, []string{modelreg.NewID()})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
		if after := len(e.audit(modelreg.AuditFilter{ProjectID: projA})); after != before {
			t.Errorf("failed calls wrote %d events", after-before)
		}
	})
}

func testAuditDryRun(t *testing.T, open Opener) {
	e := newEnv(t, open)
	a := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1))
	b := e.publishedModel(projA, "resnet", "1.0.1", file("b", 2))
	e.createService(projA, "svc", b.ID)
	before := e.audit(modelreg.AuditFilter{ProjectID: projA})
	for _, trash := range []time.Duration{0, week} {
		e.batch(projA, []string{a.ID, b.ID}, modelreg.DeleteOptions{DryRun: true, Trash: trash})
	}
	if diff := cmp.Diff(before, e.audit(modelreg.AuditFilter{ProjectID: projA})); diff != "" {
		t.Fatalf("a preview wrote events:\n%s", diff)
	}
}

func testAuditFilters(t *testing.T, open Opener) {
	e := newEnv(t, open)
	var ms []*modelreg.Model
	for i := range 7 {
		e.as("req-" + itoa(i))
		if i == 3 {
			e.ctx = modelreg.NewContextWithPrincipal(e.ctx, &modelreg.Principal{UserID: "bobid", UserName: "bob", AccessKey: "AKBOB"})
		}
		ms = append(ms, e.createModel(projA, "m", "1.0."+itoa(i)))
		e.clk.Advance(time.Second)
	}
	e.createModel(projB, "m", "1.0.0")
	all := e.audit(modelreg.AuditFilter{ProjectID: projA})
	if len(all) != 7 || all[0].ResourceID != ms[6].ID || all[6].ResourceID != ms[0].ID {
		t.Fatalf("all: %d events, not newest first", len(all))
	}
	// Paging by marker, 3 a page.
	var paged []*modelreg.AuditEvent
	f := modelreg.AuditFilter{ProjectID: projA, Limit: 3}
	pages := 0
	for {
		evs, next, err := e.s.FindAuditEvents(e.ctx, f)
		ok(t, err)
		pages++
		paged = append(paged, evs...)
		if next == "" {
			break
		}
		if next != evs[len(evs)-1].ID {
			t.Fatalf("next_marker %q is not the page's last event", next)
		}
		f.Marker = next
	}
	if pages != 3 || !cmp.Equal(all, paged) {
		t.Fatalf("%d pages; paged differs from all: %s", pages, cmp.Diff(all, paged))
	}
	count := func(f modelreg.AuditFilter) int {
		t.Helper()
		f.ProjectID = projA
		return len(e.audit(f))
	}
	epochMs := modelreg.Millis(epoch)
	for name, c := range map[string]struct {
		f    modelreg.AuditFilter
		want int
	}{
		"action":      {modelreg.AuditFilter{Action: modelreg.ActionModelImport}, 7},
		"actionNone":  {modelreg.AuditFilter{Action: modelreg.ActionModelDelete}, 0},
		"resource":    {modelreg.AuditFilter{ResourceID: ms[2].ID}, 1},
		"actorName":   {modelreg.AuditFilter{Actor: "bob"}, 1},
		"actorID":     {modelreg.AuditFilter{Actor: "bobid"}, 1},
		"actorKey":    {modelreg.AuditFilter{Actor: "AKALICE0000000000001"}, 6},
		"since":       {modelreg.AuditFilter{Since: epochMs + 2000}, 5},
		"until":       {modelreg.AuditFilter{Until: epochMs + 2000}, 3},
		"sinceUntil":  {modelreg.AuditFilter{Since: epochMs + 1000, Until: epochMs + 3000}, 3},
		"combination": {modelreg.AuditFilter{Actor: "alice", Since: epochMs + 3000}, 3},
	} {
		if got := count(c.f); got != c.want {
			t.Errorf("%s: %d events, want %d", name, got, c.want)
		}
	}
	_, _, err := e.s.FindAuditEvents(e.ctx, modelreg.AuditFilter{ProjectID: projA, Limit: 10, Marker: modelreg.NewID()})
	wantErr(t, err, modelreg.EINVALID, modelreg.CodeInvalidArgument)
	// A marker of another project's event is unknown here.
	evB := e.audit(modelreg.AuditFilter{ProjectID: projB})
	_, _, err = e.s.FindAuditEvents(e.ctx, modelreg.AuditFilter{ProjectID: projA, Limit: 10, Marker: evB[0].ID})
	wantErr(t, err, modelreg.EINVALID, modelreg.CodeInvalidArgument)
}

func testAuditRetention(t *testing.T, open Opener) {
	e := newEnv(t, open)
	for i := range 5 {
		e.createModel(projA, "m", "1.0."+itoa(i))
		e.clk.Advance(time.Hour)
	}
	n, err := e.s.DeleteAuditEventsBefore(e.ctx, epoch.Add(2*time.Hour), 1)
	ok(t, err)
	if n != 1 {
		t.Fatalf("removed %d, want 1 (max)", n)
	}
	n, err = e.s.DeleteAuditEventsBefore(e.ctx, epoch.Add(2*time.Hour), 100)
	ok(t, err)
	if n != 1 {
		t.Fatalf("removed %d, want 1", n)
	}
	if got := len(e.audit(modelreg.AuditFilter{ProjectID: projA})); got != 3 {
		t.Fatalf("%d events left, want 3", got)
	}
}

// webhook creates a webhook of project for events.
func (e *env) webhook(project string, events ...string) *modelreg.Webhook {
	e.t.Helper()
	w := &modelreg.Webhook{ProjectID: project, URL: "https://hooks.example.com/" + project, Events: events,
		Description: "d", CreatedBy: "alice", SecretSealed: []byte("sealed")}
	ok(e.t, e.s.CreateWebhook(e.ctx, w))
	return w
}

func testWebhooks(t *testing.T, open Opener) {
	e := newEnv(t, open)
	t.Run("Notify", func(t *testing.T) { testDeliveryNotifier(t, open) })
	all := e.webhook(projA, "*")
	e.clk.Advance(time.Millisecond)
	dels := e.webhook(projA, modelreg.ActionModelDelete, modelreg.ActionModelDeleteRefused)
	e.webhook(projB, "*")
	hooks, err := e.s.FindWebhooks(e.ctx, projA)
	ok(t, err)
	if len(hooks) != 2 || hooks[0].ID != all.ID || hooks[1].ID != dels.ID || hooks[0].SecretSealed != nil ||
		hooks[1].CreatedAt != e.nowMs() || !slices.Equal(hooks[1].Events, dels.Events) {
		t.Fatalf("FindWebhooks: %+v", hooks)
	}
	m := e.createModel(projA, "m", "1.0.0")
	_, _, err = e.s.FindAuditEvents(e.ctx, modelreg.AuditFilter{ProjectID: projA, Limit: 1})
	ok(t, err)
	ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, m.ID))
	// A dry run queues nothing.
	m2 := e.createModel(projA, "m", "1.0.1")
	e.batch(projA, []string{m2.ID}, modelreg.DeleteOptions{DryRun: true})

	ds, err := e.s.FindWebhookDeliveries(e.ctx, projA, all.ID, 100)
	ok(t, err)
	// all: its own creation, the second webhook's, import, delete, import
	// (newest first).
	wantActions := []string{"model.import", "model.delete", "model.import", "webhook.create", "webhook.create"}
	var got []string
	for _, d := range ds {
		got = append(got, d.Action)
		if d.Status != modelreg.DeliveryPending || d.Attempts != 0 || d.WebhookID != all.ID {
			t.Errorf("delivery %+v", d)
		}
	}
	if diff := cmp.Diff(wantActions, got); diff != "" {
		t.Errorf("deliveries of * (-want +got):\n%s", diff)
	}
	ds, err = e.s.FindWebhookDeliveries(e.ctx, projA, dels.ID, 100)
	ok(t, err)
	if len(ds) != 1 || ds[0].Action != modelreg.ActionModelDelete {
		t.Fatalf("deliveries of the delete webhook: %+v", ds)
	}
	// The payload is the event as the trail lists it.
	claimed, err := e.s.ClaimWebhookDeliveries(e.ctx, "sender-1", time.Minute, 100)
	ok(t, err)
	if len(claimed) != 7 { // 5 + 1 in A, 1 in B (its own creation)
		t.Fatalf("claimed %d, want 7", len(claimed))
	}
	for _, d := range claimed {
		if d.ID != ds[0].ID {
			continue
		}
		var ev modelreg.AuditEvent
		ok(t, json.Unmarshal(d.Payload, &ev))
		if ev.ID != d.EventID || ev.ResourceID != m.ID || d.URL != dels.URL || string(d.SecretSealed) != "sealed" {
			t.Errorf("claimed delivery %+v, event %+v", d, ev)
		}
	}
	_, err = e.s.FindWebhookDeliveries(e.ctx, projB, all.ID, 100)
	wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeWebhookNotFound)
	wantErr(t, e.s.DeleteWebhook(e.ctx, projB, all.ID), modelreg.ENOTFOUND, modelreg.CodeWebhookNotFound)
	ok(t, e.s.DeleteWebhook(e.ctx, projA, all.ID))
	wantErr(t, e.s.DeleteWebhook(e.ctx, projA, all.ID), modelreg.ENOTFOUND, modelreg.CodeWebhookNotFound)
	hooks, err = e.s.FindWebhooks(e.ctx, projA)
	ok(t, err)
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks after delete", len(hooks))
	}
	evs := e.audit(modelreg.AuditFilter{ProjectID: projA, Action: modelreg.ActionWebhookDelete})
	if len(evs) != 1 || evs[0].ResourceID != all.ID {
		t.Fatalf("webhook.delete events: %+v", evs)
	}
}

func testWebhookClaims(t *testing.T, open Opener) {
	e := newEnv(t, open)
	e.webhook(projA, "*")
	for i := range 20 {
		e.createModel(projA, "m", "1.0."+itoa(i))
	}
	n, err := e.s.PendingWebhookDeliveries(e.ctx)
	ok(t, err)
	if n != 21 { // the webhook's own creation, and 20 imports
		t.Fatalf("pending %d, want 21", n)
	}
	// Two senders claiming at once never get the same delivery.
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for _, owner := range []string{"s1", "s2", "s3"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := e.s.ClaimWebhookDeliveries(e.ctx, owner, time.Minute, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					if o, dup := seen[d.ID]; dup {
						t.Errorf("delivery %s claimed by %s and %s", d.ID, o, owner)
					}
					seen[d.ID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 21 {
		t.Fatalf("claimed %d deliveries, want 21", len(seen))
	}
	var one string
	for id := range seen {
		one = id
		break
	}
	// Only the owner finishes; a retry is due again at next.
	wantErr(t, e.s.FinishWebhookDelivery(e.ctx, one, "intruder", modelreg.DeliveryDelivered, 200, "", e.clk.Now()), modelreg.ENOTFOUND, "")
	ok(t, e.s.FinishWebhookDelivery(e.ctx, one, seen[one], modelreg.DeliveryPending, 503, "503 Service Unavailable", e.clk.Now().Add(time.Minute)))
	// Leased: nothing due now.
	ds, err := e.s.ClaimWebhookDeliveries(e.ctx, "s4", time.Minute, 100)
	ok(t, err)
	if len(ds) != 0 {
		t.Fatalf("claimed %d leased deliveries", len(ds))
	}
	e.clk.Advance(time.Minute + time.Millisecond)
	ds, err = e.s.ClaimWebhookDeliveries(e.ctx, "s4", time.Minute, 100)
	ok(t, err)
	if len(ds) != 21 { // leases expired, and the retried one is due
		t.Fatalf("claimed %d after the leases, want 21", len(ds))
	}
	var attempts []modelreg.DeliveryAttempt
	for _, d := range ds {
		a := modelreg.DeliveryAttempt{ID: d.ID, Status: modelreg.DeliveryDelivered, Code: 200, Next: e.clk.Now()}
		if d.ID == one {
			a.Status = modelreg.DeliveryFailed
			if d.Attempts != 1 {
				t.Errorf("attempts %d, want 1", d.Attempts)
			}
		}
		attempts = append(attempts, a)
	}
	if n, err := e.s.FinishWebhookDeliveries(e.ctx, "intruder", attempts); err != nil || n != 0 {
		t.Fatalf("an intruder recorded %d (%v)", n, err)
	}
	if n, err := e.s.FinishWebhookDeliveries(e.ctx, "s4", attempts); err != nil || n != 21 {
		t.Fatalf("recorded %d of 21 (%v)", n, err)
	}
	n, err = e.s.PendingWebhookDeliveries(e.ctx)
	ok(t, err)
	if n != 0 {
		t.Fatalf("pending %d, want 0", n)
	}
	hooks, _ := e.s.FindWebhooks(e.ctx, projA)
	log, err := e.s.FindWebhookDeliveries(e.ctx, projA, hooks[0].ID, 1000)
	ok(t, err)
	for _, d := range log {
		if d.ID == one && (d.Status != modelreg.DeliveryFailed || d.Attempts != 2 || d.LastStatus != 200) {
			t.Errorf("retried delivery: %+v", d)
		}
		if d.ID != one && (d.Status != modelreg.DeliveryDelivered || d.Attempts != 1 || d.LastAttemptAt != e.nowMs()) {
			t.Errorf("delivery: %+v", d)
		}
	}
}

func testCleanupPolicies(t *testing.T, open Opener) {
	e := newEnv(t, open)
	p := &modelreg.CleanupPolicy{ProjectID: projA, NamePattern: "res*", KeepLast: 2, KeepDays: 0, Enabled: true}
	ok(t, e.s.CreateCleanupPolicy(e.ctx, p))
	if !modelreg.ValidID(p.ID) || p.CreatedAt != e.nowMs() {
		t.Fatalf("created %+v", p)
	}
	got, err := e.s.FindCleanupPolicy(e.ctx, projA, p.ID)
	ok(t, err)
	if diff := cmp.Diff(p, got); diff != "" {
		t.Fatalf("FindCleanupPolicy (-want +got):\n%s", diff)
	}
	_, err = e.s.FindCleanupPolicy(e.ctx, projB, p.ID)
	wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodePolicyNotFound)
	e.clk.Advance(time.Second)
	p.KeepLast, p.Enabled = 3, false
	ok(t, e.s.UpdateCleanupPolicy(e.ctx, p))
	got, err = e.s.FindCleanupPolicy(e.ctx, projA, p.ID)
	ok(t, err)
	if got.KeepLast != 3 || got.Enabled || got.UpdatedAt != e.nowMs() {
		t.Fatalf("updated %+v", got)
	}
	wantErr(t, e.s.UpdateCleanupPolicy(e.ctx, &modelreg.CleanupPolicy{ID: p.ID, ProjectID: projB, NamePattern: "x", KeepLast: 1}),
		modelreg.ENOTFOUND, modelreg.CodePolicyNotFound)
	q := &modelreg.CleanupPolicy{ProjectID: projB, NamePattern: "*", KeepLast: 1, Enabled: true}
	ok(t, e.s.CreateCleanupPolicy(e.ctx, q))
	ps, err := e.s.FindCleanupPolicies(e.ctx, projA)
	ok(t, err)
	if len(ps) != 1 {
		t.Fatalf("project A: %d policies", len(ps))
	}
	if ps, _ = e.s.FindCleanupPolicies(e.ctx, ""); len(ps) != 2 {
		t.Fatalf("all projects: %d policies", len(ps))
	}
	ok(t, e.s.MarkCleanupRun(e.ctx, p.ID, e.clk.Now()))
	if got, _ = e.s.FindCleanupPolicy(e.ctx, projA, p.ID); got.LastRunAt != e.nowMs() {
		t.Fatalf("last_run_at %d", got.LastRunAt)
	}

	a := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1))
	b := e.publishedModel(projA, "resnet", "1.0.1", file("b", 2))
	e.publishedModel(projA, "bert", "1.0.0", file("c", 3))
	e.createService(projA, "svc", a.ID)
	e.protect(projA, b.ID, true, "keep")
	cs, err := e.s.FindCleanupCandidates(e.ctx, projA, "res*")
	ok(t, err)
	slices.SortFunc(cs, func(x, y modelreg.CleanupCandidate) int { return cmpStr(x.Version, y.Version) })
	want := []modelreg.CleanupCandidate{
		{ID: a.ID, Name: "resnet", Version: "1.0.0", CreateAt: a.CreateAt, Deployed: true},
		{ID: b.ID, Name: "resnet", Version: "1.0.1", CreateAt: b.CreateAt, Protected: true},
	}
	if diff := cmp.Diff(want, cs); diff != "" {
		t.Fatalf("candidates (-want +got):\n%s", diff)
	}
	ok(t, e.s.DeleteCleanupPolicy(e.ctx, projA, p.ID))
	wantErr(t, e.s.DeleteCleanupPolicy(e.ctx, projA, p.ID), modelreg.ENOTFOUND, modelreg.CodePolicyNotFound)
	want2 := []string{"cleanup_policy.create", "cleanup_policy.update"}
	evs := e.audit(modelreg.AuditFilter{ProjectID: projA, ResourceID: p.ID})
	if diff := cmp.Diff(append(want2, "cleanup_policy.delete"), actions(evs)); diff != "" {
		t.Fatalf("policy events (-want +got):\n%s", diff)
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// testDeliveryNotifier: a store that is a DeliveryNotifier signals after a
// commit that queued a delivery, and not after one that queued none.
func testDeliveryNotifier(t *testing.T, open Opener) {
	e := newEnv(t, open)
	n, isNotifier := e.s.(modelreg.DeliveryNotifier)
	if !isNotifier {
		t.Skip("the store is not a DeliveryNotifier")
	}
	queued := func() bool {
		select {
		case <-n.DeliveriesQueued():
			return true
		default:
			return false
		}
	}
	e.createModel(projA, "m", "1.0.0") // no webhook yet
	if queued() {
		t.Error("signal after a commit that queued nothing")
	}
	e.webhook(projA, modelreg.ActionModelImport)
	// The webhook's creation queues nothing for it, but may signal.
	queued()
	// A project without webhooks.
	e.createModel(projB, "m", "1.0.0")
	if queued() {
		t.Error("signal after an event of a project without webhooks")
	}
	e.createModel(projA, "m", "1.0.1")
	if !queued() {
		t.Error("no signal after a commit that queued a delivery")
	}
}

// PagedEvents lists project's events in st size by size, following the
// markers, and returns their ids (newest first).
func PagedEvents(t *testing.T, st modelreg.AuditStore, project string, size int) []string {
	t.Helper()
	var ids []string
	f := modelreg.AuditFilter{ProjectID: project, Limit: size}
	for {
		evs, next, err := st.FindAuditEvents(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			ids = append(ids, ev.ID)
		}
		if next == "" {
			return ids
		}
		f.Marker = next
	}
}
