package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelreg/modelreg/client"
)

// TestTransferCommands pushes a folder and pulls it back through a real
// server, and compares the output with testdata/transfer.golden.
func TestTransferCommands(t *testing.T) {
	ts := MustStartServer(t, serverOptions{MaxFileSize: 1 << 20})
	files := map[string]string{
		"resnet/model/config.json": `{"model_type":"PyTorch","runtime":"python3.10"}`,
		"resnet/model/weights.bin": strings.Repeat("w", 3000),
		"resnet/model/labels.txt":  "cat\ndog\n",
		"notype/weights.bin":       "w",
		"huge/blob.bin":            strings.Repeat("x", 1<<20+1),
	}
	MustWriteFiles(t, ts.Root, files)
	tr := newTranscript(t, ts)

	tr.ok("model", "push", filepath.Join(ts.Root, "resnet"), "--name", "resnet", "--version", "1.0.0")
	id := tr.lastID()
	tr.ok("model", "push", filepath.Join(ts.Root, "resnet"), "--name", "resnet", "--version", "1.0.1", "--type", "Custom", "--description", "pushed", "--output", "json")
	tr.fail(1, "model", "push", filepath.Join(ts.Root, "resnet"), "--name", "resnet", "--version", "1.0.0")
	tr.fail(2, "model", "push", filepath.Join(ts.Root, "notype"), "--name", "notype", "--version", "1.0.0")
	tr.fail(1, "model", "push", filepath.Join(ts.Root, "huge"), "--name", "huge", "--version", "1.0.0", "--type", "Custom")
	tr.fail(1, "model", "push", filepath.Join(ts.Root, "missing"), "--name", "missing", "--version", "1.0.0", "--type", "Custom")
	tr.fail(2, "model", "push", filepath.Join(ts.Root, "resnet"), "--version", "1.0.0")
	// The failed push of huge left no model behind.
	tr.ok("model", "list")

	out := filepath.Join(ts.Root, "pulled")
	tr.ok("model", "pull", id, out)
	tr.ok("model", "pull", id, filepath.Join(ts.Root, "pulled-json"), "--output", "json")
	tr.fail(1, "model", "pull", "11111111-1111-4111-8111-111111111111", filepath.Join(ts.Root, "nothing"))
	tr.fail(2, "model", "pull", id)
	tr.check("transfer.golden")

	for name, content := range files {
		rel, ok := strings.CutPrefix(name, "resnet/")
		if !ok {
			continue
		}
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
		if err != nil || !bytes.Equal(got, []byte(content)) {
			t.Errorf("pulled %s: %q, %v", rel, got, err)
		}
	}
	if _, err := os.Stat(filepath.Join(ts.Root, "nothing")); err == nil {
		t.Error("a failed pull created its folder")
	}
}

// TestProgressBar draws the bar into a buffer (a terminal in real use).
func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	b := &progressBar{w: &buf, verb: "pushing"}
	b.update(client.Progress{File: "model/weights.bin", Done: 512 << 20, Total: 1 << 30})
	got := buf.String()
	for _, want := range []string{"\rpushing [############............]  50% 512.0 MiB / 1.0 GiB", "model/weights.bin", "\033[K"} {
		if !strings.Contains(got, want) {
			t.Errorf("bar %q lacks %q", got, want)
		}
	}
	buf.Reset()
	b.done()
	if buf.String() != "\r\033[K" {
		t.Errorf("done wrote %q", buf.String())
	}
	// Not a terminal: nothing at all.
	var quiet bytes.Buffer
	e := &env{stderr: &quiet}
	nb := e.progressBar("pulling")
	nb.update(client.Progress{Done: 1, Total: 2})
	nb.done()
	if quiet.Len() != 0 {
		t.Errorf("wrote %q to a non-terminal", quiet.String())
	}
}
