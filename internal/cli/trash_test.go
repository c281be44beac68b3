package cli

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
)

// TestTrashCommands runs model delete's preview and confirmation, model
// protect and unprotect and model trash against a real server with the
// trash on, and compares their output with testdata/trash.golden.
func TestTrashCommands(t *testing.T) {
	ts := MustStartServer(t, serverOptions{MaxFileSize: 1 << 20, TrashRetention: 7 * 24 * time.Hour})
	MustWriteFiles(t, ts.Root, map[string]string{"m/model/weights.bin": strings.Repeat("w", 3000)})
	tr := newTranscript(t, ts)
	// Not a terminal unless a test says so.
	defer func(in io.Reader, f func(*env) bool) { confirmInput, interactive = in, f }(confirmInput, interactive)
	interactive = func(*env) bool { return false }

	var ids []string
	for _, v := range []string{"1.0.0", "1.0.1", "1.0.2"} {
		tr.ok("model", "import", filepath.Join(ts.Root, "m"), "--name", "m", "--version", v, "--type", "PyTorch", "--wait")
		ids = append(ids, tr.lastID())
	}
	tr.ok("model", "protect", ids[0], "--reason", "serves production")
	tr.fail(1, "model", "delete", ids[2], "--cascade", "--dry-run")
	tr.ok("model", "delete", ids[2], "--dry-run", "--output", "json")
	tr.ok("model", "list")

	// On a terminal: the preview on stderr, then the question.
	interactive = func(*env) bool { return true }
	confirmInput = strings.NewReader("n\n")
	tr.fail(1, "model", "delete", ids[2], "--cascade")
	confirmInput = strings.NewReader("y\n")
	tr.fail(1, "model", "delete", ids[2], "--cascade") // the protected one stays
	tr.ok("model", "list")
	tr.ok("model", "trash", "list")
	tr.ok("model", "trash", "list", "--name", "m", "--limit", "1", "--output", "json")
	tr.ok("model", "trash", "restore", ids[1])
	tr.fail(1, "model", "trash", "restore", ids[1])
	tr.ok("model", "unprotect", ids[0], "--output", "json")
	confirmInput = strings.NewReader("yes\n")
	tr.ok("model", "delete", ids[0], "--yes")
	tr.ok("model", "protect", ids[0])
	tr.fail(1, "model", "trash", "purge", "--all")
	tr.ok("model", "unprotect", ids[0])
	tr.ok("model", "trash", "purge", ids[0])
	tr.fail(1, "model", "trash", "purge", ids[0])
	tr.fail(2, "model", "trash", "purge")
	tr.ok("model", "trash", "list")
	tr.check("trash.golden")
}

// readerFunc is an io.Reader made of a function.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestDeleteConfirmation checks what model delete shows and asks on a
// terminal, and that the delete is conditional on the model the user saw.
func TestDeleteConfirmation(t *testing.T) {
	ts := MustStartServer(t, serverOptions{})
	ctx := context.Background()
	defer func(in io.Reader, f func(*env) bool) { confirmInput, interactive = in, f }(confirmInput, interactive)
	interactive = func(*env) bool { return true }
	ids, err := ts.Client.CreateModels(ctx, []modelreg.BulkModel{{ModelImport: modelreg.ModelImport{Name: "c", Version: "1.0.0", Type: "PyTorch"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := ids[0]
	run := func(in io.Reader, args ...string) (string, string, error) {
		confirmInput = in
		var stdout, stderr bytes.Buffer
		err := Run(ctx, append([]string{"modelreg"}, args...), ts.getenv, &stdout, &stderr)
		return stdout.String(), stderr.String(), err
	}
	_, stderr, err := run(strings.NewReader("\n"), "model", "delete", id)
	if ExitCode(err) != 1 || !strings.Contains(stderr, "would delete") || !strings.Contains(stderr, "Delete 1 model(s)? [y/N]") {
		t.Fatalf("refused: %v\n%s", err, stderr)
	}
	if _, err := ts.Client.GetModel(ctx, id); err != nil {
		t.Fatalf("the model went although the answer was no: %v", err)
	}
	// The model changes while the user reads the preview: the delete is
	// refused (412) rather than deleting something else than was shown.
	changing := readerFunc(func(p []byte) (int, error) {
		if _, err := ts.Client.SetProtection(ctx, id, true, "changed meanwhile"); err != nil {
			t.Error(err)
		}
		if _, err := ts.Client.SetProtection(ctx, id, false, ""); err != nil {
			t.Error(err)
		}
		if _, err := ts.Client.SetProtection(ctx, id, true, "now"); err != nil {
			t.Error(err)
		}
		return copy(p, "y\n"), io.EOF
	})
	_, _, err = run(changing, "model", "delete", id)
	if modelreg.ErrorCode(err) != modelreg.EPRECONDITION {
		t.Fatalf("changed after the preview: %v, want a 412", err)
	}
	if _, err := ts.Client.SetProtection(ctx, id, false, ""); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := run(nil, "model", "delete", id, "--yes")
	if err != nil || !strings.Contains(stdout, "deleted") || strings.Contains(stderr, "[y/N]") {
		t.Fatalf("--yes: %v\n%s\n%s", err, stdout, stderr)
	}
	if _, err := ts.Client.GetModel(ctx, id); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
		t.Fatalf("after --yes: %v", err)
	}
}
