package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/sqlite"
	"github.com/modelreg/modelreg/internal/webhook"
)

func TestBlocked(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true,
		"169.254.169.254": true, "fe80::1": true, "fd00::1": true, "100.64.0.1": true, "0.0.0.0": true, "::": true,
		"224.0.0.1": true, "::ffff:127.0.0.1": true, "::ffff:10.0.0.1": true, "0.1.2.3": true,
		"8.8.8.8": false, "93.184.216.34": false, "2606:4700::1111": false, "100.128.0.1": false, "172.32.0.1": false,
	} {
		if got := webhook.Blocked(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Blocked(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestCheckDestination(t *testing.T) {
	ctx := context.Background()
	for u, refused := range map[string]bool{
		"http://127.0.0.1:9/x": true, "http://localhost/": true, "http://api.localhost/": true, "http://[::1]/": true,
		"https://8.8.8.8/hook": false, "https://does-not-resolve.invalid/hook": false,
	} {
		err := webhook.CheckDestination(ctx, u, false)
		if got := modelreg.ErrorAPICode(err) == modelreg.CodeWebhookURL; got != refused {
			t.Errorf("CheckDestination(%s) = %v", u, err)
		}
		if err := webhook.CheckDestination(ctx, u, true); err != nil {
			t.Errorf("allowed private: %s: %v", u, err)
		}
	}
}

func TestSignVerify(t *testing.T) {
	body := []byte(`{"action":"model.delete"}`)
	// Python: hmac.new(b"0123456789abcdef", body, hashlib.sha256).hexdigest()
	sig := webhook.Sign("0123456789abcdef", body)
	if want := "sha256=12c706c8f98e7e14226762711ab7287d36fc5386bb8bc60c93ddccac490a6de9"; sig != want {
		t.Fatalf("signature %q, want %q", sig, want)
	}
	if !webhook.Verify("0123456789abcdef", body, sig) || webhook.Verify("another-secret!!", body, sig) ||
		webhook.Verify("0123456789abcdef", append(body, ' '), sig) {
		t.Fatal("Verify accepts what it should not, or refuses the signature")
	}
}

func TestSealOpen(t *testing.T) {
	sealed := webhook.Seal(nil, "id", "the secret")
	if got, err := webhook.Open(nil, "id", sealed); err != nil || got != "the secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

// TestGiveUp: a delivery to a receiver that is down stays pending with a
// growing pause, and is failed once its next attempt would fall outside
// 24 hours.
func TestGiveUp(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), sqlite.Options{Synchronous: "NORMAL", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	down := httptest.NewServer(nil)
	url := down.URL
	down.Close()
	const project = "0123456789abcdef0123456789abcdef"
	w := &modelreg.Webhook{ProjectID: project, URL: url, Events: []string{modelreg.ActionWebhookCreate},
		SecretSealed: webhook.Seal(nil, "x", "0123456789abcdef")}
	w.ID = "x"
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	s := webhook.New(webhook.Config{Store: db, AllowPrivate: true, Now: clock, Timeout: time.Second})
	var pauses []int64
	for range 60 {
		n, err := s.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := db.FindWebhookDeliveries(ctx, project, w.ID, 10)
		if err != nil || len(ds) != 1 {
			t.Fatalf("deliveries %v %v", ds, err)
		}
		d := ds[0]
		if d.Status == modelreg.DeliveryFailed {
			if age := now.Sub(time.UnixMilli(d.CreatedAt)); age > 24*time.Hour {
				t.Fatalf("failed only after %s", age)
			}
			if d.LastStatus != 0 || d.LastError == "" {
				t.Fatalf("failed delivery %+v", d)
			}
			t.Logf("attempts %d, pauses (s) %v", d.Attempts, pauses)
			return
		}
		if n == 1 {
			pauses = append(pauses, (d.NextAttemptAt-d.LastAttemptAt)/1000)
		}
		now = time.UnixMilli(d.NextAttemptAt)
	}
	t.Fatalf("still pending after 60 rounds: pauses %v", pauses)
}

// TestRunWakesOnCommit: with a poll interval of an hour, a delivery queued
// by a commit is still sent (the store's DeliveriesQueued wakes the
// sender), and a burst of events is claimed in batches, not one a round.
func TestRunWakesOnCommit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := make(chan string, 100)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get(webhook.HeaderEvent)
	}))
	defer recv.Close()
	const project = "0123456789abcdef0123456789abcdef"
	w := &modelreg.Webhook{ProjectID: project, URL: recv.URL, Events: []string{modelreg.ActionModelImport},
		SecretSealed: webhook.Seal(nil, "x", "0123456789abcdef")}
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	claims := &countingStore{DB: db}
	s := webhook.New(webhook.Config{Store: claims, AllowPrivate: true, Interval: time.Hour, Gather: 50 * time.Millisecond})
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	// The first round runs at once and finds nothing; the next poll is an
	// hour away.
	for claims.rounds.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ms := make([]*modelreg.Model, 20)
	for i := range ms {
		ms[i] = &modelreg.Model{ModelSummary: modelreg.ModelSummary{ProjectID: project, Name: "m",
			Version: fmt.Sprintf("1.0.%d", i), Type: "PyTorch"}}
	}
	if err := db.CreateModels(ctx, ms); err != nil {
		t.Fatal(err)
	}
	for range ms {
		select {
		case a := <-got:
			if a != modelreg.ActionModelImport {
				t.Errorf("delivered %q", a)
			}
		case <-time.After(time.Minute):
			t.Fatal("a queued delivery was not sent within a minute: the commit did not wake the sender")
		}
	}
	cancel()
	<-done
	// One empty round, then 20 deliveries in batches of 16: not 20 rounds.
	if n := claims.rounds.Load(); n > 4 {
		t.Errorf("%d claiming rounds for one commit of 20 deliveries, want ≤ 4", n)
	}
}

// countingStore counts the claiming rounds of a sender; it is a
// DeliveryNotifier through the embedded store.
type countingStore struct {
	*sqlite.DB
	rounds atomic.Int64
}

func (s *countingStore) ClaimWebhookDeliveries(ctx context.Context, owner string, lease time.Duration, max int) ([]*modelreg.WebhookDelivery, error) {
	s.rounds.Add(1)
	return s.DB.ClaimWebhookDeliveries(ctx, owner, lease, max)
}
