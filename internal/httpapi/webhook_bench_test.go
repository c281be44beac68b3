package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
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
			if c.url != "" {
				if _, err := e.c.CreateWebhook(ctx, modelreg.WebhookCreate{URL: c.url, Secret: "0123456789abcdef", Events: []string{"*"}}); err != nil {
					b.Fatal(err)
				}
				sctx, cancel := context.WithCancel(ctx)
				defer cancel()
				s := webhook.New(webhook.Config{Store: store, AllowPrivate: true, Interval: 100 * time.Millisecond, Timeout: 5 * time.Second})
				go s.Run(sctx)
			}
			ms := make([]modelreg.BulkModel, b.N)
			for i := range ms {
				ms[i] = modelreg.BulkModel{ModelImport: modelreg.ModelImport{Name: "m", Version: version(i), Type: "PyTorch"}}
			}
			ids, err := e.c.CreateModels(ctx, ms)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for _, id := range ids {
				if _, err := e.c.DeleteModel(ctx, id, false); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deletes/s")
		})
	}
}

func version(i int) string { return fmt.Sprintf("%d.%d.%d", i/10000, i/100%100, i%100) }
