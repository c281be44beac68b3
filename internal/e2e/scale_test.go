package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/auth"
	"github.com/modelreg/modelreg/internal/s3test"
)

// defaultScaleBytes is the model size TestScale moves unless
// MODELREG_TEST_SCALE_BYTES says otherwise: small enough for every run.
const defaultScaleBytes = 32 << 20

// TestScale imports and pushes one large file and reports the server's
// peak resident memory (VmHWM) and the throughput of each path: file:// and
// a push into the disk blob store, and, with an S3 server, file://,
// obs:// and a push into an S3 blob store. Each path runs in a fresh server
// process, so each peak is that path's. It asserts nothing about time or
// memory. Run it at scale with, for 2 GiB:
//
//	MODELREG_TEST_SCALE_BYTES=2147483648 go test -run TestScale -v -timeout 1h ./internal/e2e/
func TestScale(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and moves a large file")
	}
	size := int64(defaultScaleBytes)
	if v := os.Getenv("MODELREG_TEST_SCALE_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			t.Fatalf("MODELREG_TEST_SCALE_BYTES=%q: want a byte count", v)
		}
		size = n
	}
	if len(buildFlags) > 0 {
		t.Logf("built with %v: the memory figures include the race detector's", buildFlags)
	}
	tmp := t.TempDir()
	bin := buildBinary(t, tmp)
	root := filepath.Join(tmp, "import")
	big := filepath.Join(root, "big", "model", "weights.bin")
	writeRandomFile(t, big, size)
	folder := filepath.Join(root, "big")

	type path struct {
		name string
		be   func(dataDir string) *blobEnv
		move func(t *testing.T, c *client.Client, be *blobEnv) *modelreg.Model
	}
	importFrom := func(loc func(be *blobEnv) string) func(*testing.T, *client.Client, *blobEnv) *modelreg.Model {
		return func(t *testing.T, c *client.Client, be *blobEnv) *modelreg.Model {
			ctx := context.Background()
			id, err := c.ImportModel(ctx, &modelreg.ModelImport{Name: "big", Version: "1.0.0", Type: "Custom", SourceLocation: loc(be)})
			if err != nil {
				t.Fatal(err)
			}
			m, err := c.WaitModel(ctx, id, 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	fileLoc := importFrom(func(*blobEnv) string { return "file://" + filepath.ToSlash(folder) })
	push := func(t *testing.T, c *client.Client, _ *blobEnv) *modelreg.Model {
		m, err := c.Push(context.Background(), folder, &modelreg.ModelImport{Name: "big", Version: "1.0.0", Type: "Custom"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	var s3be *blobEnv
	if s3test.Available() {
		s3be = s3ScaleEnv(t, big)
	}
	s3env := func(string) *blobEnv { return s3be }
	paths := []path{
		{"FileToDisk", diskEnv, fileLoc},
		{"PushToDisk", diskEnv, push},
		{"FileToS3", s3env, fileLoc},
		{"OBSToS3", s3env, importFrom(func(be *blobEnv) string { return be.sources["big"] })},
		{"PushToS3", s3env, push},
	}
	var report []string
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			if strings.HasSuffix(p.name, "S3") && s3be == nil {
				t.Skip(s3test.SkipMessage)
			}
			dataDir := filepath.Join(tmp, p.name)
			be := p.be(dataDir)
			srv := startServer(t, bin, dataDir, root, filepath.Join(tmp, p.name+".log"), be)
			defer srv.kill(t, syscall.SIGTERM)
			c := adminClient(t, srv.url, dataDir)
			idle := memory(t, srv.cmd.Process.Pid)
			start := time.Now()
			m := p.move(t, c, be)
			took := time.Since(start)
			if m.Status != modelreg.ModelPublished || m.Size != size {
				t.Fatalf("model %s, %d bytes (%s)", m.Status, m.Size, m.FailureReason)
			}
			peak := memory(t, srv.cmd.Process.Pid)
			line := fmt.Sprintf("%-10s %6.0f MiB in %7.1f s = %6.1f MiB/s; server RSS idle %5.1f MiB, peak (VmHWM) %5.1f MiB",
				p.name, float64(size)/(1<<20), took.Seconds(), float64(size)/(1<<20)/took.Seconds(), idle.rss, peak.hwm)
			t.Log(line)
			report = append(report, line)
		})
	}
	t.Logf("summary:\n%s", strings.Join(report, "\n"))
}

// adminClient returns a client of the server at url for the project and
// the admin access key its first start kept in dataDir.
func adminClient(tb testing.TB, url, dataDir string) *client.Client {
	tb.Helper()
	project, err := os.ReadFile(filepath.Join(dataDir, "project_id"))
	if err != nil {
		tb.Fatal(err)
	}
	creds, err := auth.ReadCredentialsFile(filepath.Join(dataDir, auth.CredentialsFile))
	if err != nil {
		tb.Fatal(err)
	}
	signer := &auth.Signer{AccessKey: creds.AccessKey, SecretKey: creds.SecretKey}
	c, err := client.New(url, strings.TrimSpace(string(project)), client.WithSigner(signer.Sign))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// s3ScaleEnv is an S3 blob store whose obs:// source "big" holds the file
// at name, uploaded as model/weights.bin.
func s3ScaleEnv(t *testing.T, name string) *blobEnv {
	be := s3Env(t, nil)
	srv := s3test.Get(t)
	bucket := srv.Bucket
	if _, err := srv.Client(t).FPutObject(context.Background(), bucket, be.prefix+"/src/big/model/weights.bin", name, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	be.sources["big"] = "obs://" + bucket + "/" + be.prefix + "/src/big"
	return be
}

// writeRandomFile writes size pseudo-random (incompressible) bytes to name.
func writeRandomFile(tb testing.TB, name string, size int64) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var seed [32]byte
	rng := rand.NewChaCha8(seed)
	if _, err := io.CopyN(f, rng, size); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// mem is what /proc/<pid>/status says of a process's memory, in MiB.
type mem struct{ rss, hwm float64 }

// memory reads VmRSS and VmHWM of process pid.
func memory(tb testing.TB, pid int) mem {
	tb.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	var m mem
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			m.rss = kb / 1024
		case "VmHWM":
			m.hwm = kb / 1024
		}
	}
	return m
}
