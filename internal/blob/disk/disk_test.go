package disk_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/blob/blobtest"
	"github.com/modelreg/modelreg/internal/blob/disk"
)

func TestStore(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) modelreg.BlobStore {
		return MustOpen(t)
	})
}

// MustOpen opens a store in a temporary directory.
func MustOpen(tb testing.TB) *disk.Store {
	tb.Helper()
	s, err := disk.Open(filepath.Join(tb.TempDir(), "blobs"))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func entries(tb testing.TB, dir string) []string {
	tb.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestLayout(t *testing.T) {
	s := MustOpen(t)
	d := blobtest.MustPut(t, s, []byte("layout"))
	p := filepath.Join(s.Dir(), "sha256", d[:2], d)
	if b, err := os.ReadFile(p); err != nil || string(b) != "layout" {
		t.Fatalf("ReadFile(%s) = %q, %v", p, b, err)
	}
	if got := entries(t, filepath.Join(s.Dir(), "staging")); len(got) != 0 {
		t.Errorf("staging holds %v after Commit", got)
	}
}

func TestStageLeavesNothing(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	if _, err := s.Stage(ctx, strings.NewReader("too large"), 3); modelreg.ErrorCode(err) != modelreg.ETOOLARGE {
		t.Fatalf("Stage = %v", err)
	}
	st, err := s.Stage(ctx, strings.NewReader("discarded"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Discard(ctx); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, filepath.Join(s.Dir(), "staging")); len(got) != 0 {
		t.Errorf("staging holds %v", got)
	}
}

func TestReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	s, err := disk.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := blobtest.MustPut(t, s, []byte("persist"))
	s2, err := disk.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := blobtest.MustRead(t, s2, d); string(got) != "persist" {
		t.Errorf("content = %q", got)
	}
}

func TestWalkIgnoresStrangers(t *testing.T) {
	s := MustOpen(t)
	d := blobtest.MustPut(t, s, []byte("real"))
	// A misplaced digest, a non-digest name and a stray directory.
	other := blobtest.Digest([]byte("misplaced"))
	wrongFan := "00"
	if other[:2] == wrongFan {
		wrongFan = "01"
	}
	os.MkdirAll(filepath.Join(s.Dir(), "sha256", wrongFan), 0o750)
	os.WriteFile(filepath.Join(s.Dir(), "sha256", wrongFan, other), []byte("misplaced"), 0o600)
	os.WriteFile(filepath.Join(s.Dir(), "sha256", d[:2], "notes.txt"), []byte("x"), 0o600)
	os.Mkdir(filepath.Join(s.Dir(), "sha256", "lost+found"), 0o750)
	var got []string
	err := s.Walk(context.Background(), func(digest string, size int64, _ time.Time) error {
		got = append(got, digest)
		return nil
	})
	if err != nil || len(got) != 1 || got[0] != d {
		t.Errorf("Walk = %v, %v; want [%s]", got, err, d)
	}
}

func TestCleanStagingByAge(t *testing.T) {
	s := MustOpen(t)
	staging := filepath.Join(s.Dir(), "staging")
	old := filepath.Join(staging, "stage-old")
	young := filepath.Join(staging, "stage-young")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	os.Chtimes(old, now.Add(-2*time.Hour), now.Add(-2*time.Hour))
	if err := s.CleanStaging(context.Background(), now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, staging); len(got) != 1 || got[0] != "stage-young" {
		t.Errorf("staging = %v, want [stage-young]", got)
	}
}

func TestValidDigest(t *testing.T) {
	good := blobtest.Digest(nil)
	for _, tt := range []struct {
		d    string
		want bool
	}{
		{good, true},
		{strings.ToUpper(good), false},
		{good[:63], false},
		{good + "a", false},
		{"", false},
		{strings.Repeat("0", 64), true},
		{strings.Repeat("z", 64), false},
	} {
		if got := disk.ValidDigest(tt.d); got != tt.want {
			t.Errorf("ValidDigest(%q) = %v, want %v", tt.d, got, tt.want)
		}
	}
}
