package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/sqlite"
	"github.com/modelreg/modelreg/internal/webhook"
)

// BenchmarkDeleteWebhook measures model deletes through the API (SQLite,
// synchronous=NORMAL) with no webhook, with a webhook of every action
// whose receiver answers at once, one that takes 2 s an answer, and one
// that is down, each with the sender running: the delete rate should not
// depend on the receiver.
func BenchmarkDeleteWebhook(b *testing.B) {
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer fast.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	for _, c := range []struct{ name, url string }{{"None", ""}, {"Fast", fast.URL}, {"Slow", slow.URL}, {"Down", downURL}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			store, err := sqlite.Open(ctx, b.TempDir()+"/db.sqlite", sqlite.Options{Synchronous: "NORMAL"})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			srv := httptest.NewServer(httpapi.NewServer(httpapi.Config{Store: store, WebhookAllowPrivate: true}))
			defer srv.Close()
			e := &testEnv{store: store, srv: srv}
			if e.c, err = client.New(srv.URL, projectA); err != nil {
				b.Fatal(err)
			}
			ms := make([]modelreg.BulkModel, b.N)
			for i := range ms {
				ms[i] = modelreg.BulkModel{ModelImport: modelreg.ModelImport{Name: "m", Version: version(i), Type: "PyTorch"}}
			}
			ids, err := e.c.CreateModels(ctx, ms)
			if err != nil {
				b.Fatal(err)
			}
			if c.url != "" {
				if _, err := e.c.CreateWebhook(ctx, modelreg.WebhookCreate{URL: c.url, Secret: "0123456789abcdef", Events: []string{"*"}}); err != nil {
					b.Fatal(err)
				}
				sctx, cancel := context.WithCancel(ctx)
				defer cancel()
				s := webhook.New(webhook.Config{Store: store, AllowPrivate: true, Timeout: 5 * time.Second})
				go s.Run(sctx)
			}
			// The sender catches up with the imports' deliveries first: the
			// timed part is the deletes and their own deliveries.
			for c.url != "" {
				n, err := store.PendingWebhookDeliveries(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 || c.name == "Slow" || c.name == "Down" {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			cpu0 := cpuTime()
			b.ResetTimer()
			for _, id := range ids {
				if _, err := e.c.DeleteModel(ctx, id, false); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deletes/s")
			// The process's CPU time a delete (server, client, sender and
			// receivers together): unlike the rate, the load of a shared
			// machine moves it little.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/delete")
		})
	}
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func version(i int) string { return fmt.Sprintf("%d.%d.%d", i/10000, i/100%100, i%100) }
