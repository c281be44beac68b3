package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/auth"
	"github.com/modelreg/modelreg/internal/blob/disk"
	"github.com/modelreg/modelreg/internal/blob/s3"
	"github.com/modelreg/modelreg/internal/collector"
	"github.com/modelreg/modelreg/internal/s3test"
	"github.com/modelreg/modelreg/internal/sqlite"
)

// waitLimit bounds every wait of the test (start, settle, shutdown); it is a
// deadline for a hung test, not a measurement.
const waitLimit = 2 * time.Minute

// crashCycleCount is how many times the server is killed in each run. The
// data dir is checked after each kill, before the restart.
const crashCycleCount = 10

// buildBinary builds cmd/modelreg into dir with buildFlags.
func buildBinary(tb testing.TB, dir string) string {
	tb.Helper()
	bin := filepath.Join(dir, "modelreg")
	args := append([]string{"build", "-o", bin}, buildFlags...)
	cmd := exec.Command("go", append(args, "github.com/modelreg/modelreg/cmd/modelreg")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is one running modelreg serve process.
type proc struct {
	cmd  *exec.Cmd
	url  string
	urls chan string // the address, once printed
	done chan error
	log  string // path of its log
	// exited is set once kill has seen the process exit.
	exited bool
}

// startServer starts the binary on 127.0.0.1:0 with the blob store's flags
// and waits for its address.
func startServer(tb testing.TB, bin, dataDir, root, logPath string, be *blobEnv) *proc {
	tb.Helper()
	p := launch(tb, bin, logPath, nil, append([]string{"--data-dir", dataDir, "--import-root", root, "--webhook-allow-private"}, be.args...)...)
	p.waitListening(tb)
	return p
}

// launch starts "modelreg serve" on 127.0.0.1:0 with args and the
// environment variables env (KEY=value) added, logging to logPath, without
// waiting for it to listen (see waitListening).
func launch(tb testing.TB, bin, logPath string, env []string, args ...string) *proc {
	tb.Helper()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "info", "--log-format", "text"}, args...)
	cmd := exec.Command(bin, args...)
	// The data dir decides the project and the admin key, unless env says.
	cmd.Env = append(os.Environ(), "MODELREG_PROJECT_ID=", "MODELREG_ACCESS_KEY=", "MODELREG_SECRET_KEY=", "MODELREG_MASTER_KEY=")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1), urls: make(chan string, 1), log: logPath}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "modelreg listening on "); ok {
				p.urls <- u
			}
		}
		p.done <- cmd.Wait()
		logFile.Close()
	}()
	return p
}

// waitListening waits until p prints its address, and sets p.url.
func (p *proc) waitListening(tb testing.TB) {
	tb.Helper()
	select {
	case p.url = <-p.urls:
	case err := <-p.done:
		tb.Fatalf("server exited before listening: %v (log: %s)", err, p.log)
	case <-time.After(waitLimit):
		p.cmd.Process.Kill()
		tb.Fatalf("server did not start (log: %s)", p.log)
	}
}

// kill sends sig and waits for the process to exit.
func (p *proc) kill(tb testing.TB, sig syscall.Signal) error {
	tb.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		tb.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.exited = true
		return err
	case <-time.After(waitLimit):
		p.cmd.Process.Kill()
		tb.Fatal("server did not exit")
		return nil
	}
}

// folder is a model folder in the import root and its files (path → sha256).
type folder struct {
	name  string // f0, f1, …
	dir   string
	files map[string]string
	data  map[string][]byte // path → content
}

// makeFolders writes model folders: each has a config.json, one of two
// shared files, and a file of its own, a few MB each; the last one is small
// (tens of KB), for pushes that finish between kills even on a slow machine.
func makeFolders(tb testing.TB, root string, rng *rand.Rand) []folder {
	tb.Helper()
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	shared := [][]byte{random(2 << 20), random(1 << 20)}
	var folders []folder
	for i := range 6 {
		fname := fmt.Sprintf("f%d", i)
		f := folder{name: fname, dir: filepath.Join(root, fname), files: map[string]string{}, data: map[string][]byte{}}
		content := map[string][]byte{
			"model/config.json": fmt.Appendf(nil, `{"model_type":"PyTorch","runtime":"python3.10","metrics":{"folder":%d}}`, i),
			"model/shared.bin":  shared[i%2],
			"model/own.bin":     random((1 + i%3) << 20),
			"model/small.txt":   []byte("same in every folder\n"),
		}
		if i == 5 {
			content["model/shared.bin"] = shared[0][:32<<10]
			content["model/own.bin"] = random(48 << 10)
		}
		for name, b := range content {
			p := filepath.Join(f.dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				tb.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				tb.Fatal(err)
			}
			sum := sha256.Sum256(b)
			f.files[name] = hex.EncodeToString(sum[:])
			f.data[name] = b
		}
		folders = append(folders, f)
	}
	return folders
}

// blobEnv is the blob store the server of a crash test uses, and the object
// store its obs:// sources are in (an S3 run only).
type blobEnv struct {
	args    []string                               // flags of serve
	open    func(tb testing.TB) modelreg.BlobStore // the store, for the offline check
	staged  func(tb testing.TB) int                // what is left in staging
	sources map[string]string                      // folder name → obs:// location; nil: file:// only
	prefix  string                                 // S3: the test's key prefix, holding blobs/ and src/
}

// diskEnv is the default blob store: a directory in the data dir.
func diskEnv(dataDir string) *blobEnv {
	dir := filepath.Join(dataDir, "blobs")
	return &blobEnv{
		open: func(tb testing.TB) modelreg.BlobStore {
			b, err := disk.Open(dir)
			if err != nil {
				tb.Fatal(err)
			}
			return b
		},
		staged: func(tb testing.TB) int {
			entries, err := os.ReadDir(filepath.Join(dir, "staging"))
			if err != nil {
				tb.Fatal(err)
			}
			return len(entries)
		},
	}
}

// s3Env is a blob store in the test S3 server's bucket, under a fresh
// prefix, with the folders also uploaded there as obs:// sources. It skips
// the test when no S3 server is configured, and removes everything under
// its prefix when the test ends.
func s3Env(tb testing.TB, folders []folder) *blobEnv {
	tb.Helper()
	srv := s3test.Get(tb)
	mc, bucket, endpoint, prefix := srv.Client(tb), srv.Bucket, srv.Endpoint, srv.Prefix(tb, "crash")
	ctx := context.Background()
	be := &blobEnv{sources: map[string]string{}, prefix: prefix}
	for _, f := range folders {
		for name, b := range f.data {
			key := prefix + "/src/" + f.name + "/" + name
			if _, err := mc.PutObject(ctx, bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{}); err != nil {
				tb.Fatal(err)
			}
		}
		be.sources[f.name] = "obs://" + bucket + "/" + prefix + "/src/" + f.name
	}
	cfg := s3.Config{
		Endpoint: s3.Endpoint{Host: endpoint, Insecure: true, Region: "us-east-1", MaxRetries: 3},
		Bucket:   bucket, Prefix: prefix + "/blobs",
	}
	be.args = []string{"--blob-store", cfg.String(), "--source-endpoint", endpoint, "--source-insecure", "--source-region", "us-east-1"}
	be.open = func(tb testing.TB) modelreg.BlobStore {
		st, err := s3.Open(ctx, cfg)
		if err != nil {
			tb.Fatal(err)
		}
		return st
	}
	be.staged = func(tb testing.TB) int {
		n := 0
		for obj := range mc.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{Prefix: cfg.Prefix + "/staging/", Recursive: true}) {
			if obj.Err != nil {
				tb.Fatal(obj.Err)
			}
			n++
		}
		for up := range mc.ListIncompleteUploads(ctx, bucket, cfg.Prefix+"/staging/", true) {
			if up.Err != nil {
				tb.Logf("listing unfinished multipart uploads: %v", up.Err)
				break
			}
			n++
		}
		return n
	}
	return be
}

// ledger records what the server acknowledged, across all cycles.
type ledger struct {
	mu        sync.Mutex
	imported  map[string]string // acknowledged import or push: model id → name
	deleted   map[string]bool   // in the success list of a 200 delete
	deletions map[string]int    // how many success lists it was in
	targeted  map[string]bool   // a single delete of this id was sent
	cascaded  map[string]bool   // a cascade delete of this name was sent
	failures  map[string]int    // delete failure codes seen
	pushes    int               // acknowledged pushes
	deploys   atomic.Int64      // services created
	n         atomic.Int64      // import counter, for unique versions

	// With the trash on (--trash-retention): a deleted model is in the
	// trash until a purge; a restore takes it out of deleted.
	trash       bool
	restored    int             // acknowledged restores
	purged      map[string]bool // acknowledged purges (one or all)
	mayBePurged map[string]bool // a purge that may have removed it was sent
	// mayBeRestored holds the models a restore was sent for: a restore
	// cut by a kill may have committed, and one can land before the
	// delete it undoes is acknowledged; such a model may be back or in
	// the trash, both consistent.
	mayBeRestored map[string]bool
	published     map[string]bool // seen published (a publishing model is deleted, not trashed)
	// purgeAllOpen counts the purges of the whole trash sent and not
	// acknowledged in this server's life: a delete acknowledged meanwhile
	// may have been purged by one.
	purgeAllOpen int
}

func newLedger() *ledger {
	return &ledger{imported: map[string]string{}, deleted: map[string]bool{}, deletions: map[string]int{}, targeted: map[string]bool{},
		cascaded: map[string]bool{}, failures: map[string]int{}, purged: map[string]bool{}, mayBePurged: map[string]bool{}, mayBeRestored: map[string]bool{}, published: map[string]bool{}}
}

// pick returns a random imported model not known to be deleted.
func (l *ledger) pick(rng *rand.Rand) (id, name string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id := range l.imported {
		if !l.deleted[id] {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "", "", false
	}
	sort.Strings(ids)
	id = ids[rng.IntN(len(ids))]
	return id, l.imported[id], true
}

// next returns a fresh model name and version.
func (l *ledger) next() (name, version string) {
	n := l.n.Add(1)
	return fmt.Sprintf("m%d", n%4), fmt.Sprintf("%d.%d.%d", n/10000, n/100%100, n%100)
}

// serverError reports whether err is an answer of the server (not a
// connection broken by the kill).
func serverError(err error) bool { return client.StatusCode(err) != 0 }

// pushedFrom is the description of a model pushed from folder f.
func pushedFrom(f folder) string { return "pushed from " + f.name }

// load runs concurrent imports (file://, and obs:// on S3), pushes,
// deletes and deploys against c until ctx is done; with storm, deletes
// only, from six deleters at once. Unexpected answers of the server are
// test errors.
//
// Cancelling ctx stops the loops; a request already sent runs to its end,
// so every operation the server performed is acknowledged (a kill still
// cuts requests, and the checks allow for that).
func load(ctx context.Context, t *testing.T, c *client.Client, l *ledger, folders []folder, be *blobEnv, seed uint64, storm bool) {
	var wg sync.WaitGroup
	deleters := 2
	if storm {
		deleters = 6
	}
	for w := range deleters {
		rng := rand.New(rand.NewPCG(seed, uint64(10+w)))
		wg.Go(func() {
			for ctx.Err() == nil {
				if !storm {
					sleep(ctx, time.Duration(20+rng.IntN(80))*time.Millisecond)
				}
				id, name, ok := l.pick(rng)
				if !ok {
					sleep(ctx, 10*time.Millisecond)
					continue
				}
				cascade := rng.IntN(3) == 0
				if l.trash {
					// Whether the target goes to the trash: a model
					// published stays so until it is deleted.
					if m, err := c.GetModel(ctx, id); err == nil && m.Status == modelreg.ModelPublished {
						l.mu.Lock()
						l.published[id] = true
						l.mu.Unlock()
					}
				}
				l.mu.Lock()
				if cascade {
					l.cascaded[name] = true
				} else {
					l.targeted[id] = true
				}
				l.mu.Unlock()
				res, err := c.DeleteModel(context.WithoutCancel(ctx), id, cascade)
				switch {
				case err == nil:
					l.mu.Lock()
					for _, id := range res.Success {
						l.deleted[id] = true
						l.deletions[id]++
						if l.purgeAllOpen > 0 {
							l.mayBePurged[id] = true
						}
					}
					for _, f := range res.Failed {
						l.failures[f.ErrorCode]++
						if f.ErrorCode != modelreg.CodeModelDeployed {
							t.Errorf("delete %s: unexpected failure %+v", id, f)
						}
					}
					l.mu.Unlock()
				case modelreg.ErrorAPICode(err) == modelreg.CodeModelNotFound:
					// Deleted by another deleter, or by a cascade.
				case serverError(err):
					t.Errorf("delete %s: %v", id, err)
				}
			}
		})
	}
	if l.trash {
		trng := rand.New(rand.NewPCG(seed, 50))
		wg.Go(func() { trashLoop(ctx, t, c, l, trng) })
	}
	if storm {
		wg.Wait()
		return
	}
	for w := range 3 { // importers
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Go(func() {
			for ctx.Err() == nil {
				name, version := l.next()
				f := folders[rng.IntN(len(folders))]
				loc := "file://" + filepath.ToSlash(f.dir)
				if be.sources != nil && rng.IntN(2) == 0 {
					loc = be.sources[f.name]
				}
				id, err := c.ImportModel(context.WithoutCancel(ctx), &modelreg.ModelImport{Name: name, Version: version, Type: "PyTorch", SourceLocation: loc})
				switch {
				case err == nil:
					l.mu.Lock()
					l.imported[id] = name
					l.mu.Unlock()
				case serverError(err):
					t.Errorf("import: %v", err)
				}
				sleep(ctx, time.Duration(rng.IntN(40))*time.Millisecond)
			}
		})
	}
	rrng := rand.New(rand.NewPCG(seed, 40))
	wg.Go(func() { // reader: shows and lists, the read side of the mix
		for ctx.Err() == nil {
			sleep(ctx, time.Duration(rrng.IntN(20))*time.Millisecond)
			var err error
			if id, _, ok := l.pick(rrng); ok && rrng.IntN(2) == 0 {
				_, err = c.GetModel(ctx, id)
				if modelreg.ErrorAPICode(err) == modelreg.CodeModelNotFound {
					err = nil // deleted meanwhile
				}
			} else {
				_, err = c.ListModels(ctx, modelreg.ModelFilter{Name: "m", Page: modelreg.Page{Limit: 10}})
			}
			if err != nil && serverError(err) {
				t.Errorf("read: %v", err)
			}
		}
	})
	for w := range 2 { // pushers: upload a folder through the API
		rng := rand.New(rand.NewPCG(seed, uint64(30+w)))
		wg.Go(func() { pushLoop(ctx, t, c, l, folders, rng) })
	}
	drng := rand.New(rand.NewPCG(seed, 20))
	wg.Go(func() { // deployer: a service pins a model for a while
		for i := 0; ctx.Err() == nil; i++ {
			sleep(ctx, time.Duration(50+drng.IntN(150))*time.Millisecond)
			id, _, ok := l.pick(drng)
			if !ok {
				continue
			}
			res, err := c.CreateService(context.WithoutCancel(ctx), &modelreg.ServiceCreate{
				Name: fmt.Sprintf("svc-%d-%d", seed%1000, i), InferType: modelreg.InferRealTime,
				Config: []modelreg.ServiceConfig{{ModelID: id, Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 1}},
			})
			switch {
			case err == nil:
				l.deploys.Add(1)
				sleep(ctx, time.Duration(drng.IntN(300))*time.Millisecond)
				if err := c.DeleteServices(context.WithoutCancel(ctx), res.ServiceID); err != nil && serverError(err) {
					t.Errorf("delete service: %v", err)
				}
			case modelreg.ErrorAPICode(err) == modelreg.CodeServiceModelGone, modelreg.ErrorAPICode(err) == modelreg.CodeModelPublishing:
			case serverError(err):
				t.Errorf("deploy %s: %v", id, err)
			}
		}
	})
	wg.Wait()
}

// trashLoop restores and purges models of the trash (one, or the whole
// trash now and then) until ctx is done.
func trashLoop(ctx context.Context, t *testing.T, c *client.Client, l *ledger, rng *rand.Rand) {
	for ctx.Err() == nil {
		sleep(ctx, time.Duration(10+rng.IntN(60))*time.Millisecond)
		list, err := c.ListTrash(ctx, "", 100, 0)
		if err != nil {
			if serverError(err) {
				t.Errorf("list trash: %v", err)
			}
			continue
		}
		if len(list.Models) == 0 {
			continue
		}
		id := list.Models[rng.IntN(len(list.Models))].ID
		switch r := rng.IntN(20); {
		case r < 12:
			l.mu.Lock()
			l.mayBeRestored[id] = true
			l.mu.Unlock()
			err := c.RestoreModel(context.WithoutCancel(ctx), id)
			switch {
			case err == nil:
				l.mu.Lock()
				delete(l.deleted, id)
				l.restored++
				l.mu.Unlock()
			case modelreg.ErrorAPICode(err) == modelreg.CodeModelNotFound: // restored or purged meanwhile
			case serverError(err):
				t.Errorf("restore %s: %v", id, err)
			default:
				// Cut by the kill: the restore may have committed, so the
				// delete is no longer known to stick.
				l.mu.Lock()
				delete(l.deleted, id)
				l.mu.Unlock()
			}
		case r < 19:
			l.mu.Lock()
			l.mayBePurged[id] = true
			l.mu.Unlock()
			err := c.PurgeModel(context.WithoutCancel(ctx), id)
			switch {
			case err == nil:
				l.mu.Lock()
				l.purged[id] = true
				l.mu.Unlock()
			case modelreg.ErrorAPICode(err) == modelreg.CodeModelNotFound:
			case serverError(err):
				t.Errorf("purge %s: %v", id, err)
			}
		default:
			l.mu.Lock()
			for id := range l.deleted {
				l.mayBePurged[id] = true
			}
			l.purgeAllOpen++
			l.mu.Unlock()
			res, err := c.PurgeTrash(context.WithoutCancel(ctx))
			switch {
			case err == nil:
				l.mu.Lock()
				for _, id := range res.Success {
					l.purged[id] = true
				}
				l.purgeAllOpen--
				l.mu.Unlock()
				if len(res.Failed) > 0 {
					t.Errorf("purge all: %+v", res.Failed)
				}
			case serverError(err):
				t.Errorf("purge all: %v", err)
			}
		}
	}
}

// pushLoop pushes folders (the small one half the time) until ctx is done.
// Each pushed model has a name of its own, so that a cascade delete reaches
// it only once the push is acknowledged and it can be picked.
func pushLoop(ctx context.Context, t *testing.T, c *client.Client, l *ledger, folders []folder, rng *rand.Rand) {
	for ctx.Err() == nil {
		_, version := l.next()
		name := fmt.Sprintf("p%d", l.n.Add(1))
		f := folders[rng.IntN(len(folders))]
		if rng.IntN(2) == 0 {
			f = folders[len(folders)-1] // the small one
		}
		m, err := c.Push(context.WithoutCancel(ctx), f.dir, &modelreg.ModelImport{Name: name, Version: version, Type: "PyTorch", Description: pushedFrom(f)}, nil)
		switch {
		case err == nil:
			l.mu.Lock()
			l.imported[m.ID] = name
			l.pushes++
			l.mu.Unlock()
		case serverError(err):
			t.Errorf("push: %v", err)
		}
		sleep(ctx, time.Duration(rng.IntN(40))*time.Millisecond)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// TestCrash kills the server with SIGKILL at random moments, checks the
// data offline after each kill, restarts it, and at the end checks again
// once every import has finished: the database is intact,
// every published model has all its bytes, no blob is orphaned once the
// collector has run, every acknowledged delete stuck and every
// acknowledged import and push survived. Odd cycles kill it while
// imports, pushes, cascade and single deletes and deploys run; even ones
// during a delete storm. It runs with the disk blob store, and with an S3
// blob store and obs:// sources when an S3 server is configured.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it repeatedly")
	}
	bin := buildBinary(t, t.TempDir())
	t.Run("Disk", func(t *testing.T) {
		tmp := t.TempDir()
		crashCycles(t, bin, tmp, func([]folder) *blobEnv { return diskEnv(filepath.Join(tmp, "data")) })
	})
	t.Run("S3", func(t *testing.T) {
		crashCycles(t, bin, t.TempDir(), func(folders []folder) *blobEnv { return s3Env(t, folders) })
	})
	// With the trash on: deletes move models into the trash while
	// restores and purges take them out, and the kills cut all three.
	t.Run("Trash", func(t *testing.T) {
		tmp := t.TempDir()
		crashCycles(t, bin, tmp, func([]folder) *blobEnv {
			be := diskEnv(filepath.Join(tmp, "data"))
			be.args = append(be.args, "--trash-retention", "1h")
			return be
		})
	})
}

// crashCycles runs the crash test in tmp on the blob store newEnv returns.
func crashCycles(t *testing.T, bin, tmp string, newEnv func([]folder) *blobEnv) {
	dataDir := filepath.Join(tmp, "data")
	root := filepath.Join(tmp, "import")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 99))
	folders := makeFolders(t, root, rng)
	be := newEnv(folders)
	l := newLedger()
	l.trash = slices.Contains(be.args, "--trash-retention")
	logPath := filepath.Join(tmp, "server.log")
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("server log (tail):\n%s", tail(string(b), 60))
		}
	}()

	var (
		project string
		signer  *auth.Signer
		hookID  string
	)
	hooks := newHookReceiver(t, seed)
	for cycle := range crashCycleCount {
		p := startServer(t, bin, dataDir, root, logPath, be)
		if project == "" {
			b, err := os.ReadFile(filepath.Join(dataDir, "project_id"))
			if err != nil {
				t.Fatal(err)
			}
			project = strings.TrimSpace(string(b))
			creds, err := auth.ReadCredentialsFile(filepath.Join(dataDir, auth.CredentialsFile))
			if err != nil {
				t.Fatal(err)
			}
			signer = &auth.Signer{AccessKey: creds.AccessKey, SecretKey: creds.SecretKey}
		}
		c, err := client.New(p.url, project, client.WithSigner(signer.Sign))
		if err != nil {
			t.Fatal(err)
		}
		if hookID == "" {
			hookID = hooks.subscribe(t, c)
		}
		l.mu.Lock()
		l.purgeAllOpen = 0 // the last server's are dead
		l.mu.Unlock()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		storm := cycle%2 == 0 // the last cycle is a plain one: it leaves models to check
		life := time.Duration(100+rng.IntN(1900)) * time.Millisecond
		var warm time.Duration
		if storm {
			warm = time.Duration(300+rng.IntN(700)) * time.Millisecond
			life = warm + time.Duration(50+rng.IntN(500))*time.Millisecond
		}
		go func() {
			defer close(done)
			if storm { // build up models, then delete them all at once
				wctx, wcancel := context.WithTimeout(ctx, warm)
				load(wctx, t, c, l, folders, be, seed+uint64(cycle), false)
				wcancel()
			}
			load(ctx, t, c, l, folders, be, seed+uint64(cycle), storm)
		}()
		sleep(context.Background(), life)
		p.kill(t, syscall.SIGKILL)
		cancel()
		<-done
		l.mu.Lock()
		t.Logf("cycle %d (storm %v, killed after %s): %d imports and pushes and %d deletes acknowledged so far",
			cycle, storm, life, len(l.imported), len(l.deleted))
		l.mu.Unlock()
		checkOffline(t, dataDir, project, folders, l, be, false, hookID, hooks)
		if t.Failed() {
			t.Fatalf("cycle %d: the data left by the kill is not consistent", cycle)
		}
	}

	// Restart, let every import finish, stop cleanly.
	p := startServer(t, bin, dataDir, root, logPath, be)
	c, err := client.New(p.url, project, client.WithSigner(signer.Sign))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitLimit)
	for {
		list, err := c.ListModels(context.Background(), modelreg.ModelFilter{Status: modelreg.ModelPublishing, Page: modelreg.Page{Limit: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if list.TotalCount == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d models still publishing", list.TotalCount)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := p.kill(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: server exited with %v", err)
	}
	checkOffline(t, dataDir, project, folders, l, be, true, hookID, hooks)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// checkOffline opens the database and the blob store without a server and
// checks the invariants of safe deletion. Its store clock runs an hour
// ahead: a digest queued for collection may wait for a lease of a killed
// collector to expire, or for a retry backoff (at most 5 minutes), and the
// invariant is that one collector pass then removes everything unreferenced.
// Right after a kill (final false) a model may still be publishing: its
// files are referenced, their bytes may still be staged. At the end (final)
// every model must be published (or an upload given up), and the load must
// have done enough to prove something.
func checkOffline(t *testing.T, dataDir, project string, folders []folder, l *ledger, be *blobEnv, final bool, hookID string, hooks *hookReceiver) {
	ctx := context.Background()
	later := func() time.Time { return time.Now().Add(time.Hour) }
	db, err := sqlite.Open(ctx, filepath.Join(dataDir, "modelreg.db"), sqlite.Options{Now: later})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Fatalf("integrity check: %v", err)
	}
	givenUp := checkStores(t, db, project, folders, l, be, later, final)
	checkAudit(t, db, project, hookID, hooks, l)
	if !final {
		return
	}
	// A push takes several requests; on a slow machine (the race detector,
	// S3 on the same cores) few finish between kills. Pushes cut by a kill
	// prove the upload path's crash safety too.
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.trash && l.restored+len(l.purged) == 0 {
		t.Errorf("the trash load did too little: no restore and no purge acknowledged")
	}
	if len(l.imported) == 0 || len(l.deleted) == 0 || l.pushes+givenUp == 0 {
		t.Errorf("the load did too little to prove anything: %d imports, %d pushes acknowledged and %d cut, %d deletes",
			len(l.imported), l.pushes, givenUp, len(l.deleted))
	}
}

// checkStores checks the invariants of safe deletion on a database (whose
// clock is later) and the blob store of be, with no server running: every
// model is published with exactly its folder's files and their bytes, or
// is an upload cut by a kill (counted in givenUp); after a collection no
// blob is orphaned and nothing is staged or queued; every acknowledged
// delete stuck and every acknowledged import survived unless a delete that
// may have removed it was sent.
//
// Right after a kill (final false) a model may still be publishing.
func checkStores(t *testing.T, db modelreg.Store, project string, folders []folder, l *ledger, be *blobEnv, later func() time.Time, final bool) (givenUp int) {
	ctx := context.Background()
	blobs := be.open(t)
	bySource := map[string]folder{} // source_location, or the description of a push → folder
	for _, f := range folders {
		bySource["file://"+filepath.ToSlash(f.dir)] = f
		bySource[pushedFrom(f)] = f
		if loc, ok := be.sources[f.name]; ok {
			bySource[loc] = f
		}
	}

	// Every model is published, with exactly its folder's files, each one
	// in the blob store with the right size and sha256; or it is an upload
	// cut by a kill, failed without files.
	referenced := map[string]bool{}
	var models []*modelreg.ModelSummary
	for page := 0; ; page++ {
		f := modelreg.ModelFilter{ProjectID: project, Page: modelreg.Page{Limit: modelreg.MaxListLimit, Offset: page}}
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		ms, total, err := db.FindModels(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		models = append(models, ms...)
		if len(models) >= total || len(ms) == 0 {
			break
		}
	}
	verified := map[string]bool{}
	for _, m := range models {
		full, err := db.FindModelByID(ctx, project, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		files, err := db.FindModelFiles(ctx, project, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		upload := modelreg.IsUploadLocation(full.SourceLocation)
		if upload && m.Status == modelreg.ModelFailed && strings.Contains(m.FailureReason, "upload was given up") && len(files) == 0 {
			givenUp++
			continue
		}
		if !final && m.Status == modelreg.ModelPublishing {
			for _, f := range files {
				referenced[f.Digest] = true
			}
			continue
		}
		if m.Status != modelreg.ModelPublished {
			t.Errorf("model %s %s (%s): status %s (%s)", m.Name, m.Version, full.SourceLocation, m.Status, m.FailureReason)
			continue
		}
		key := full.SourceLocation
		if upload {
			key = m.Description
		}
		want, ok := bySource[key]
		if !ok {
			t.Errorf("model %s: unknown source %q (description %q)", m.ID, full.SourceLocation, m.Description)
		}
		got := map[string]string{}
		var size int64
		for _, f := range files {
			got[f.Path] = f.Digest
			size += f.Size
			referenced[f.Digest] = true
			if verified[f.Digest] {
				continue
			}
			if err := verifyBlob(ctx, blobs, f); err != nil {
				t.Errorf("model %s file %s: %v", m.ID, f.Path, err)
			}
			verified[f.Digest] = true
		}
		if fmt.Sprint(got) != fmt.Sprint(want.files) {
			t.Errorf("model %s files %v, want %v", m.ID, got, want.files)
		}
		if size != m.Size {
			t.Errorf("model %s size %d, files add up to %d", m.ID, m.Size, size)
		}
	}

	// Every model in the trash is whole: published, its folder's files,
	// their bytes; its blobs count as referenced. (A trashed model's row
	// is kept under the project id trash/<deleted_at>/<id>, see the
	// stores' migrations: how this test reads its files.)
	inTrash := map[string]bool{}
	for page := 0; ; page++ {
		f := modelreg.TrashFilter{ProjectID: project, Page: modelreg.Page{Limit: modelreg.MaxListLimit, Offset: page}}
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		ms, total, err := db.FindTrash(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tm := range ms {
			inTrash[tm.ID] = true
			key := fmt.Sprintf("trash/%013d/%s", tm.DeletedAt, tm.ID)
			full, err := db.FindModelByID(ctx, key, tm.ID)
			if err != nil {
				t.Fatalf("trashed model %s: %v", tm.ID, err)
			}
			files, err := db.FindModelFiles(ctx, key, tm.ID)
			if err != nil {
				t.Fatal(err)
			}
			if full.Status == modelreg.ModelPublishing {
				t.Errorf("trashed model %s is publishing", tm.ID)
			}
			if full.Status != modelreg.ModelPublished {
				continue // a failed one (an upload given up) has no files
			}
			want := bySource[full.SourceLocation]
			if modelreg.IsUploadLocation(full.SourceLocation) {
				want = bySource[full.Description]
			}
			got := map[string]string{}
			for _, f := range files {
				got[f.Path] = f.Digest
				referenced[f.Digest] = true
				if !verified[f.Digest] {
					if err := verifyBlob(ctx, blobs, f); err != nil {
						t.Errorf("trashed model %s file %s: %v", tm.ID, f.Path, err)
					}
					verified[f.Digest] = true
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want.files) {
				t.Errorf("trashed model %s files %v, want %v", tm.ID, got, want.files)
			}
		}
		if page*modelreg.MaxListLimit+len(ms) >= total || len(ms) == 0 {
			break
		}
	}

	// After a collection, every blob left is referenced and staging is empty.
	coll := collector.New(collector.Config{Store: db, Blobs: blobs, Now: later, Logger: slog.New(slog.DiscardHandler)})
	if _, err := coll.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := coll.Sweep(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	var stored int
	err := blobs.Walk(ctx, func(digest string, size int64, _ time.Time) error {
		stored++
		if !referenced[digest] {
			t.Errorf("orphan blob %s (%d bytes)", digest, size)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// An S3 server may still finish writing a staged object whose upload
	// the kill cut after the sweep listed staging: such an object is the
	// collector's to remove on its next pass, so the staging clean-up is repeated for a
	// few seconds before anything left counts as a leak.
	for deadline := time.Now().Add(5 * time.Second); be.staged(t) != 0 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err := blobs.CleanStaging(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if n := be.staged(t); n != 0 {
		t.Errorf("staging holds %d entries", n)
	}
	if n, err := db.PendingBlobDeletions(ctx); err != nil || n != 0 {
		t.Errorf("%d blob deletions still queued (%v)", n, err)
	}

	// Acknowledged deletes stuck; acknowledged imports and pushes exist
	// unless a delete that may have removed them was sent.
	l.mu.Lock()
	defer l.mu.Unlock()
	for id := range l.deleted {
		if l.mayBeRestored[id] {
			continue // a restore cut by a kill: back or in the trash, both consistent
		}
		if _, err := db.FindModelByID(ctx, project, id); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
			t.Errorf("model %s was acknowledged deleted but is there (%v)", id, err)
		}
		if l.trash && l.published[id] && !l.mayBePurged[id] && !l.purged[id] && !inTrash[id] {
			t.Errorf("model %s was acknowledged deleted into the trash, never purged, and is not in the trash", id)
		}
	}
	for id := range l.purged {
		if inTrash[id] {
			t.Errorf("model %s was acknowledged purged but is in the trash", id)
		}
		if _, err := db.FindModelByID(ctx, project, id); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
			t.Errorf("model %s was acknowledged purged but is there (%v)", id, err)
		}
	}
	gone := 0
	for id, name := range l.imported {
		_, err := db.FindModelByID(ctx, project, id)
		switch {
		case err == nil:
		case modelreg.ErrorCode(err) != modelreg.ENOTFOUND:
			t.Fatal(err)
		case inTrash[id] && (l.deleted[id] || l.targeted[id] || l.cascaded[name]):
			gone++
		case l.deleted[id] || l.targeted[id] || l.cascaded[name]:
			gone++
		default:
			t.Errorf("model %s (%s) was acknowledged imported, never deleted, and is gone", id, name)
		}
	}
	t.Logf("%d models left (%d uploads cut by a kill), %d acknowledged imports and pushes (%d pushes), %d gone by deletes, %d deletes acknowledged, failures %v, %d blobs stored; trash: %d in it, %d restores and %d purges acknowledged",
		len(models), givenUp, len(l.imported), l.pushes, gone, len(l.deleted), l.failures, stored, len(inTrash), l.restored, len(l.purged))
	return givenUp
}

// verifyBlob checks a blob's size and sha256 against a model file.
func verifyBlob(ctx context.Context, blobs modelreg.BlobStore, f modelreg.ModelFile) error {
	size, err := blobs.Stat(ctx, f.Digest)
	if err != nil {
		return err
	}
	if size != f.Size {
		return fmt.Errorf("blob size %d, want %d", size, f.Size)
	}
	r, err := blobs.Open(ctx, f.Digest)
	if err != nil {
		return err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.Digest {
		return fmt.Errorf("blob content hashes to %s", got)
	}
	return nil
}
