package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
)

// syncBuf is a bytes.Buffer safe for a writer and a reader at once.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAuditCommands runs events (filters, --follow) and cleanup-policy
// create, list, preview and delete against a real server.
func TestAuditCommands(t *testing.T) {
	ts := MustStartServer(t, serverOptions{})
	ctx := context.Background()
	run := func(args ...string) (string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := Run(ctx, append([]string{"modelreg"}, args...), ts.getenv, &stdout, &stderr)
		return stdout.String() + stderr.String(), err
	}
	var ids []string
	for _, v := range []string{"1.0.0", "1.0.1", "1.0.2"} {
		got, err := ts.Client.CreateModels(ctx, []modelreg.BulkModel{{ModelImport: modelreg.ModelImport{Name: "resnet", Version: v, Type: "PyTorch"}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got[0])
	}
	if _, err := ts.Client.DeleteModel(ctx, ids[0], false); err != nil {
		t.Fatal(err)
	}
	out, err := run("events", "--action", "model.delete", "--output", "json")
	if err != nil {
		t.Fatal(err, out)
	}
	var list modelreg.AuditList
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Events) != 1 || list.Events[0].ResourceID != ids[0] {
		t.Fatalf("events --action: %v %s", err, out)
	}
	out, err = run("events", "--resource", ids[1])
	if err != nil || !strings.Contains(out, "model.import") || strings.Contains(out, "model.delete") || !strings.Contains(out, "ACTION") {
		t.Fatalf("events --resource: %v\n%s", err, out)
	}
	if _, err := run("events", "--since", "yesterday"); ExitCode(err) != 2 {
		t.Fatalf("bad --since: %v", err)
	}
	if _, err := run("events", "--since", "2000-01-01T00:00:00Z", "--until", "1"); modelreg.ErrorCode(err) != modelreg.EINVALID ||
		!strings.Contains(modelreg.ErrorMessage(err), "until") {
		t.Fatalf("until before since: %v", err)
	}

	// --follow prints what exists, then what comes.
	defer func(d time.Duration) { followInterval = d }(followInterval)
	followInterval = 10 * time.Millisecond
	fctx, cancel := context.WithCancel(ctx)
	var fout syncBuf
	done := make(chan error, 1)
	go func() {
		done <- Run(fctx, []string{"modelreg", "events", "--follow", "--action", "model.delete", "--output", "json"}, ts.getenv, &fout, &fout)
	}()
	waitFor(t, func() bool { return strings.Count(fout.String(), `"event_id"`) == 1 })
	if _, err := ts.Client.DeleteModel(ctx, ids[1], false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Count(fout.String(), `"event_id"`) == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("events --follow: %v", err)
	}
	if i, j := strings.Index(fout.String(), ids[0]), strings.Index(fout.String(), ids[1]); i < 0 || j < i {
		t.Fatalf("follow order:\n%s", fout.String())
	}

	// Cleanup policies.
	for _, v := range []string{"1.0.3", "1.0.4"} {
		if _, err := ts.Client.CreateModels(ctx, []modelreg.BulkModel{{ModelImport: modelreg.ModelImport{Name: "resnet", Version: v, Type: "PyTorch"}}}); err != nil {
			t.Fatal(err)
		}
	}
	out, err = run("cleanup-policy", "create", "--pattern", "res*", "--keep-last", "2", "--output", "json")
	if err != nil {
		t.Fatal(err, out)
	}
	var created struct {
		ID string `json:"policy_id"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || !modelreg.ValidID(created.ID) {
		t.Fatalf("create: %v %s", err, out)
	}
	if _, err := run("cleanup-policy", "create", "--pattern", "res*", "--keep-last", "0"); modelreg.ErrorCode(err) != modelreg.EINVALID {
		t.Fatalf("keep-last 0: %v", err)
	}
	out, err = run("cleanup-policy", "list")
	if err != nil || !strings.Contains(out, created.ID) || !strings.Contains(out, "never") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, err = run("cleanup-policy", "preview", created.ID)
	if err != nil || !strings.Contains(out, ids[2]) || !strings.Contains(out, "1 to delete, 2 kept") || !strings.Contains(out, "keep: newest") {
		t.Fatalf("preview: %v\n%s", err, out)
	}
	if _, err := ts.Client.GetModel(ctx, ids[2]); err != nil {
		t.Fatalf("the preview deleted: %v", err)
	}
	if out, err = run("cleanup-policy", "delete", created.ID); err != nil {
		t.Fatal(err, out)
	}
	if _, err := run("cleanup-policy", "preview", created.ID); modelreg.ErrorAPICode(err) != modelreg.CodePolicyNotFound {
		t.Fatalf("preview of a deleted policy: %v", err)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met in 10 s")
}
