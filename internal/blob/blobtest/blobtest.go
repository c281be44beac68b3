// Package blobtest is the conformance suite every modelreg.BlobStore
// implementation must pass, in the manner of testing/fstest.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
)

// Run runs the suite. open returns a fresh, empty store for each subtest;
// it registers its own cleanup with t.
func Run(t *testing.T, open func(t *testing.T) modelreg.BlobStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s modelreg.BlobStore)
	}{
		{"StageCommitOpen", testStageCommitOpen},
		{"Empty", testEmpty},
		{"Large", testLarge},
		{"SizeLimit", testSizeLimit},
		{"Discard", testDiscard},
		{"CommitExisting", testCommitExisting},
		{"CommitTwice", testCommitTwice},
		{"Delete", testDelete},
		{"Walk", testWalk},
		{"WalkStops", testWalkStops},
		{"CleanStaging", testCleanStaging},
		{"BadDigest", testBadDigest},
		{"ReaderError", testReaderError},
		{"Canceled", testCanceled},
		{"ConcurrentSameContent", testConcurrentSameContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// Digest returns the lower-case hex sha256 of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// MustPut stages and commits b and returns its digest.
func MustPut(tb testing.TB, s modelreg.BlobStore, b []byte) string {
	tb.Helper()
	ctx := context.Background()
	st, err := s.Stage(ctx, bytes.NewReader(b), 0)
	if err != nil {
		tb.Fatalf("Stage: %v", err)
	}
	if err := st.Commit(ctx); err != nil {
		tb.Fatalf("Commit: %v", err)
	}
	return st.Digest()
}

// MustRead returns the content of blob d.
func MustRead(tb testing.TB, s modelreg.BlobStore, d string) []byte {
	tb.Helper()
	rc, err := s.Open(context.Background(), d)
	if err != nil {
		tb.Fatalf("Open(%s): %v", d, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatalf("read %s: %v", d, err)
	}
	return b
}

func wantCode(tb testing.TB, what string, err error, codes ...string) {
	tb.Helper()
	got := modelreg.ErrorCode(err)
	for _, c := range codes {
		if got == c {
			return
		}
	}
	tb.Errorf("%s: error code %q (%v), want one of %q", what, got, err, codes)
}

func walkAll(tb testing.TB, s modelreg.BlobStore) map[string]int64 {
	tb.Helper()
	m := map[string]int64{}
	err := s.Walk(context.Background(), func(d string, size int64, mod time.Time) error {
		if _, dup := m[d]; dup {
			tb.Errorf("Walk reported %s twice", d)
		}
		if mod.IsZero() {
			tb.Errorf("Walk: zero modTime for %s", d)
		}
		m[d] = size
		return nil
	})
	if err != nil {
		tb.Fatalf("Walk: %v", err)
	}
	return m
}

func testStageCommitOpen(t *testing.T, s modelreg.BlobStore) {
	ctx := context.Background()
	content := []byte("hello, model\n")
	st, err := s.Stage(ctx, bytes.NewReader(content), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Digest(), Digest(content); got != want {
		t.Errorf("Digest = %s, want %s", got, want)
	}
	if got := st.Size(); got != int64(len(content)) {
		t.Errorf("Size = %d, want %d", got, len(content))
	}
	// Not visible before Commit.
	_, err = s.Open(ctx, st.Digest())
	wantCode(t, "Open before Commit", err, modelreg.ENOTFOUND)
	_, err = s.Stat(ctx, st.Digest())
	wantCode(t, "Stat before Commit", err, modelreg.ENOTFOUND)
	if n := len(walkAll(t, s)); n != 0 {
		t.Errorf("Walk before Commit found %d blobs", n)
	}

	if err := st.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := MustRead(t, s, st.Digest()); !bytes.Equal(got, content) {
		t.Errorf("content = %q, want %q", got, content)
	}
	size, err := s.Stat(ctx, st.Digest())
	if err != nil || size != int64(len(content)) {
		t.Errorf("Stat = %d, %v; want %d", size, err, len(content))
	}
	// Discard after Commit leaves the blob alone.
	if err := st.Discard(ctx); err != nil {
		t.Errorf("Discard after Commit: %v", err)
	}
	if _, err := s.Stat(ctx, st.Digest()); err != nil {
		t.Errorf("Stat after Discard of a committed blob: %v", err)
	}
}

func testEmpty(t *testing.T, s modelreg.BlobStore) {
	const emptySHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	ctx := context.Background()
	st, err := s.Stage(ctx, strings.NewReader(""), 10)
	if err != nil {
		t.Fatal(err)
	}
	if st.Digest() != emptySHA || st.Size() != 0 {
		t.Fatalf("empty blob: %s %d", st.Digest(), st.Size())
	}
	if err := st.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if size, err := s.Stat(ctx, emptySHA); err != nil || size != 0 {
		t.Errorf("Stat = %d, %v", size, err)
	}
}

// testLarge streams several MiB from a generator and checks the digest.
func testLarge(t *testing.T, s modelreg.BlobStore) {
	ctx := context.Background()
	const size = 5<<20 + 123
	src := io.LimitReader(rand.NewChaCha8([32]byte{1, 2, 3}), size)
	h := sha256.New()
	st, err := s.Stage(ctx, io.TeeReader(src, h), size)
	if err != nil {
		t.Fatal(err)
	}
	want := hex.EncodeToString(h.Sum(nil))
	if st.Digest() != want || st.Size() != size {
		t.Fatalf("Stage = %s %d, want %s %d", st.Digest(), st.Size(), want, size)
	}
	if err := st.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h.Reset()
	n, err := io.Copy(h, rc)
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != want {
		t.Errorf("read back %d bytes, err %v, digest %x", n, err, h.Sum(nil))
	}
}

func testSizeLimit(t *testing.T, s modelreg.BlobStore) {
	ctx := context.Background()
	_, err := s.Stage(ctx, strings.NewReader("12345678901"), 10)
	wantCode(t, "Stage over the limit", err, modelreg.ETOOLARGE)
	if got := modelreg.ErrorAPICode(err); got != modelreg.CodeFileTooLarge {
		t.Errorf("API code = %s, want %s", got, modelreg.CodeFileTooLarge)
	}
	if _, err := s.Stat(ctx, Digest([]byte("12345678901"))); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
		t.Errorf("Stat of a refused blob: %v", err)
	}
	// Exactly the limit is fine.
	st, err := s.Stage(ctx, strings.NewReader("1234567890"), 10)
	if err != nil {
		t.Fatalf("Stage at the limit: %v", err)
	}
	if err := st.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// A limit of 0 means none.
	if _, err := s.Stage(ctx, strings.NewReader(strings.Repeat("x", 4096)), 0); err != nil {
		t.Errorf("Stage without limit: %v", err)
	}
}

func testDiscard(t *testing.T, s modelreg.BlobStore) {
	ctx := context.Background()
	st, err := s.Stage(ctx, strings.NewReader("discard me"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Discard(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Discard(ctx); err != nil {
		t.Errorf("second Discard: %v", err)
	}
	if err := st.Commit(ctx); err == nil {
		t.Errorf("Commit after Discard succeeded")
	}
	_, err = s.Stat(ctx, st.Digest())
	wantCode(t, "Stat after Discard", err, modelreg.ENOTFOUND)
	if n := len(walkAll(t, s)); n != 0 {
		t.Errorf("Walk found %d blobs", n)
	}
}

func testCommitExisting(t *testing.T, s modelreg.BlobStore) {
	ctx := context.Background()
	content := []byte("same bytes")
	d := MustPut(t, s, content)
	st, err := s.Stage(ctx, bytes.NewReader(content), 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Digest() != d {
		t.Fatalf("digest %s, want %s", st.Digest(), d)
	}
	if err := st.Commit(ctx); err != nil {
		t.Fatalf("Commit of an existing digest: %v", err)
	}
	if got := MustRead(t, s, d); !bytes.Equal(got, content) {
		t.Errorf("content = %q", got)
	}
	if m := walkAll(t, s); len(m) != 1 || m[d] != int64(len(content)) {
		t.Errorf("Walk = %v", m)
	}
}

func testCommitTwice(t *testing.T, s modelreg.BlobStore) {
	ctx := context.Background()
	st, err := s.Stage(ctx, strings.NewReader("twice"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx); err != nil {
		t.Errorf("second Commit: %v", err)
	}
}

func testDelete(t *testing.T, s modelreg.BlobStore) {
	ctx := context.Background()
	keep := MustPut(t, s, []byte("keep"))
	d := MustPut(t, s, []byte("delete me"))
	if err := s.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	_, err := s.Open(ctx, d)
	wantCode(t, "Open after Delete", err, modelreg.ENOTFOUND)
	_, err = s.Stat(ctx, d)
	wantCode(t, "Stat after Delete", err, modelreg.ENOTFOUND)
	if err := s.Delete(ctx, d); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	if err := s.Delete(ctx, Digest([]byte("never stored"))); err != nil {
		t.Errorf("Delete of a missing blob: %v", err)
	}
	if m := walkAll(t, s); len(m) != 1 || m[keep] != 4 {
		t.Errorf("Walk = %v, want only %s", m, keep)
	}
	// A deleted digest can be stored again.
	if got := MustPut(t, s, []byte("delete me")); got != d {
		t.Fatalf("digest %s, want %s", got, d)
	}
	if got := MustRead(t, s, d); string(got) != "delete me" {
		t.Errorf("content = %q", got)
	}
}

func testWalk(t *testing.T, s modelreg.BlobStore) {
	want := map[string]int64{}
	for i := range 20 {
		b := bytes.Repeat([]byte{byte('a' + i)}, i)
		want[MustPut(t, s, b)] = int64(i)
	}
	// A staged blob is not walked.
	if _, err := s.Stage(context.Background(), strings.NewReader("staged only"), 0); err != nil {
		t.Fatal(err)
	}
	got := walkAll(t, s)
	if len(got) != len(want) {
		t.Errorf("Walk found %d blobs, want %d", len(got), len(want))
	}
	for d, size := range want {
		if g, ok := got[d]; !ok || g != size {
			t.Errorf("Walk: %s = %d, %v; want %d", d, g, ok, size)
		}
	}
}

func testWalkStops(t *testing.T, s modelreg.BlobStore) {
	for i := range 5 {
		MustPut(t, s, []byte{byte(i)})
	}
	stop := errors.New("stop")
	calls := 0
	err := s.Walk(context.Background(), func(string, int64, time.Time) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Walk = %v after %d calls, want the callback's error after 1", err, calls)
	}
}

func testCleanStaging(t *testing.T, s modelreg.BlobStore) {
	ctx := context.Background()
	committed := MustPut(t, s, []byte("committed"))
	st, err := s.Stage(ctx, strings.NewReader("young"), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Everything staged is younger than an hour ago: kept.
	if err := s.CleanStaging(ctx, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx); err != nil {
		t.Fatalf("Commit after a CleanStaging that should keep it: %v", err)
	}

	old, err := s.Stage(ctx, strings.NewReader("left by a crash"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CleanStaging(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := old.Commit(ctx); err == nil {
		t.Errorf("Commit of a cleaned staged blob succeeded")
	}
	if _, err := s.Stat(ctx, old.Digest()); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
		t.Errorf("Stat of a cleaned staged blob: %v", err)
	}
	// Committed blobs are never touched.
	for _, d := range []string{committed, st.Digest()} {
		if _, err := s.Stat(ctx, d); err != nil {
			t.Errorf("Stat(%s) after CleanStaging: %v", d, err)
		}
	}
}

func testBadDigest(t *testing.T, s modelreg.BlobStore) {
	ctx := context.Background()
	good := MustPut(t, s, []byte("x"))
	bad := []string{
		"",
		"abc",
		strings.ToUpper(good),
		good[:63],
		good + "0",
		strings.Repeat("g", 64),
		"sha256:" + good[:57],
		"../../../../../../etc/passwd",
		"../" + good[3:],
		good[:2] + "/" + good[3:],
		"/" + good[1:],
		good[:32] + "\x00" + good[33:],
	}
	for _, d := range bad {
		_, err := s.Open(ctx, d)
		wantCode(t, "Open("+d+")", err, modelreg.EINVALID, modelreg.ENOTFOUND)
		_, err = s.Stat(ctx, d)
		wantCode(t, "Stat("+d+")", err, modelreg.EINVALID, modelreg.ENOTFOUND)
		err = s.Delete(ctx, d)
		if err != nil {
			wantCode(t, "Delete("+d+")", err, modelreg.EINVALID, modelreg.ENOTFOUND)
		}
	}
	if got := MustRead(t, s, good); string(got) != "x" {
		t.Errorf("content = %q after bad deletes", got)
	}
}

type errReader struct{ n int }

func (r *errReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("source broke")
	}
	n := min(len(p), r.n)
	for i := range n {
		p[i] = 'z'
	}
	r.n -= n
	return n, nil
}

func testReaderError(t *testing.T, s modelreg.BlobStore) {
	ctx := context.Background()
	if _, err := s.Stage(ctx, &errReader{n: 1000}, 0); err == nil {
		t.Fatal("Stage of a failing reader succeeded")
	}
	if n := len(walkAll(t, s)); n != 0 {
		t.Errorf("Walk found %d blobs", n)
	}
}

func testCanceled(t *testing.T, s modelreg.BlobStore) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Stage(ctx, strings.NewReader("canceled"), 0); err == nil {
		t.Error("Stage with a canceled context succeeded")
	}
}

func testConcurrentSameContent(t *testing.T, s modelreg.BlobStore) {
	ctx := context.Background()
	content := bytes.Repeat([]byte("concurrent "), 10000)
	want := Digest(content)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			st, err := s.Stage(ctx, bytes.NewReader(content), 0)
			if err != nil {
				errs <- err
				return
			}
			if st.Digest() != want {
				errs <- errors.New("wrong digest " + st.Digest())
				return
			}
			if err := st.Commit(ctx); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := MustRead(t, s, want); !bytes.Equal(got, content) {
		t.Errorf("content differs after concurrent commits (%d bytes)", len(got))
	}
	if m := walkAll(t, s); len(m) != 1 {
		t.Errorf("Walk found %d blobs, want 1", len(m))
	}
}
