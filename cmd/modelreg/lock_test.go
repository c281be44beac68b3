package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelreg/modelreg/internal/cli"
)

// TestSecondServerSameDataDir starts a server, then a second one on the
// same data dir: the second fails at once, naming the first one's pid and
// the path, and leaves the first one serving. Once the first has stopped,
// a server starts on the data dir again.
func TestSecondServerSameDataDir(t *testing.T) {
	dir := t.TempDir()
	first := MustRunMain(t, dir, "--auth", "none")

	for _, extra := range [][]string{
		nil,
		// Another data dir, the same database: refused too.
		{"--database", filepath.Join(dir, "modelreg.db"), "--data-dir", t.TempDir()},
	} {
		args := append([]string{"modelreg", "serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--auth", "none", "--log-level", "error"}, extra...)
		// Bounded: a server that (wrongly) starts would run until cancelled.
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		err := run(ctx, args, func(string) string { return "" }, io.Discard, io.Discard)
		timedOut := ctx.Err() != nil
		cancel()
		if err == nil || timedOut {
			t.Fatalf("%v: a second server on the same data dir started (%v)", extra, err)
		}
		msg := cli.FormatError(err)
		for _, want := range []string{fmt.Sprintf("pid %d", os.Getpid()), filepath.Join(dir, ""), cli.LockFile} {
			if extra != nil && want == cli.LockFile {
				want = "modelreg.db.lock"
			}
			if !strings.Contains(msg, want) {
				t.Errorf("%v: the error %q does not name %q", extra, msg, want)
			}
		}
	}
	if _, err := first.cmd(t, "model", "list", "--project", readProject(t, dir)); err != nil {
		t.Fatalf("the first server after the refused start: %v", err)
	}
	if err := first.Close(t); err != nil {
		t.Fatal(err)
	}
	again := MustRunMain(t, dir, "--auth", "none")
	if err := again.Close(t); err != nil {
		t.Fatal(err)
	}
}

func readProject(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, cli.ProjectIDFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
