package httpapi_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/modelreg/modelreg/internal/httpapi"
)

// TestHooks checks that the server wakes the importer after an import and
// the collector after a delete that queued blobs, and only then.
func TestHooks(t *testing.T) { eachStore(t, testHooks) }

func testHooks(t *testing.T) {
	var created, deleted atomic.Int32
	e := MustServe(t, func(cfg *httpapi.Config) {
		cfg.OnModelCreated = func() { created.Add(1) }
		cfg.OnModelsDeleted = func() { deleted.Add(1) }
	})
	ctx := context.Background()
	id := MustImportPublished(t, e, e.c, "hooked", "1.0.0")
	if created.Load() != 1 {
		t.Errorf("OnModelCreated called %d times after one import, want 1", created.Load())
	}
	svc := MustDeploy(t, e.c, "pin", id)
	if _, err := e.c.DeleteModel(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	if deleted.Load() != 0 {
		t.Errorf("OnModelsDeleted called after a delete that removed nothing")
	}
	if err := e.c.DeleteServices(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.DeleteModel(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	if deleted.Load() != 1 {
		t.Errorf("OnModelsDeleted called %d times after one successful delete, want 1", deleted.Load())
	}
	// A model without files queues no blob: its delete does not wake the
	// collector (issue 18).
	ids, err := e.c.CreateModels(ctx, bulkModels(1, "nofiles"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.c.DeleteModel(ctx, ids[0], false)
	if err != nil || len(res.Success) != 1 {
		t.Fatalf("delete of a model without files: %+v, %v", res, err)
	}
	if deleted.Load() != 1 {
		t.Errorf("OnModelsDeleted called after a delete that queued no blob")
	}
}
