package e2e

import (
	"bufio"
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
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/auth"
	"github.com/modelreg/modelreg/internal/blob/disk"
	"github.com/modelreg/modelreg/internal/collector"
	"github.com/modelreg/modelreg/internal/sqlite"
)

// waitLimit bounds every wait of the test (start, settle, shutdown); it is a
// deadline for a hung test, not a measurement.
const waitLimit = 2 * time.Minute

// crashCycles is how many times the server is killed.
const crashCycles = 8

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

// startServer starts the binary on 127.0.0.1:0 over dataDir and waits for
// its address.
func startServer(tb testing.TB, bin, dataDir, root, logPath string) *proc {
	tb.Helper()
	p := launch(tb, bin, logPath, nil, "--data-dir", dataDir, "--import-root", root)
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
	dir   string
	files map[string]string
}

// makeFolders writes model folders: each has a config.json, one of two
// shared files, and a file of its own, a few MB each.
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
	for i := range 5 {
		f := folder{dir: filepath.Join(root, fmt.Sprintf("f%d", i)), files: map[string]string{}}
		content := map[string][]byte{
			"model/config.json": fmt.Appendf(nil, `{"model_type":"PyTorch","runtime":"python3.10","metrics":{"folder":%d}}`, i),
			"model/shared.bin":  shared[i%2],
			"model/own.bin":     random((1 + i%3) << 20),
			"model/small.txt":   []byte("same in every folder\n"),
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
		}
		folders = append(folders, f)
	}
	return folders
}

// ledger records what the server acknowledged, across all cycles.
type ledger struct {
	mu        sync.Mutex
	imported  map[string]string // acknowledged import: model id → name
	deleted   map[string]bool   // in the success list of a 200 delete
	deletions map[string]int    // how many success lists it was in
	targeted  map[string]bool   // a single delete of this id was sent
	cascaded  map[string]bool   // a cascade delete of this name was sent
	failures  map[string]int    // delete failure codes seen
	deploys   atomic.Int64      // services created
	n         atomic.Int64      // import counter, for unique versions
}

func newLedger() *ledger {
	return &ledger{imported: map[string]string{}, deleted: map[string]bool{}, deletions: map[string]int{}, targeted: map[string]bool{},
		cascaded: map[string]bool{}, failures: map[string]int{}}
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

// serverError reports whether err is an answer of the server (not a
// connection broken by the kill).
func serverError(err error) bool { return client.StatusCode(err) != 0 }

// load runs concurrent imports, deletes and deploys until ctx is done,
// each call through one of clients (servers sharing a database) at random.
// Unexpected answers of the servers are test errors.
func load(ctx context.Context, t *testing.T, clients []*client.Client, l *ledger, folders []folder, seed uint64) {
	var wg sync.WaitGroup
	for w := range 3 { // importers
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Go(func() {
			for ctx.Err() == nil {
				c := clients[rng.IntN(len(clients))]
				n := l.n.Add(1)
				name := fmt.Sprintf("m%d", n%4)
				f := folders[rng.IntN(len(folders))]
				id, err := c.ImportModel(ctx, &modelreg.ModelImport{
					Name: name, Version: fmt.Sprintf("%d.%d.%d", n/10000, n/100%100, n%100), Type: "PyTorch",
					SourceLocation: "file://" + filepath.ToSlash(f.dir),
				})
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
	for w := range 2 { // deleters
		rng := rand.New(rand.NewPCG(seed, uint64(10+w)))
		wg.Go(func() {
			for ctx.Err() == nil {
				sleep(ctx, time.Duration(20+rng.IntN(80))*time.Millisecond)
				id, name, ok := l.pick(rng)
				if !ok {
					continue
				}
				c := clients[rng.IntN(len(clients))]
				cascade := rng.IntN(3) == 0
				l.mu.Lock()
				if cascade {
					l.cascaded[name] = true
				} else {
					l.targeted[id] = true
				}
				l.mu.Unlock()
				res, err := c.DeleteModel(ctx, id, cascade)
				switch {
				case err == nil:
					l.mu.Lock()
					for _, id := range res.Success {
						l.deleted[id] = true
						l.deletions[id]++
					}
					for _, f := range res.Failed {
						l.failures[f.ErrorCode]++
						if f.ErrorCode != modelreg.CodeModelDeployed {
							t.Errorf("delete %s: unexpected failure %+v", id, f)
						}
					}
					l.mu.Unlock()
				case modelreg.ErrorAPICode(err) == modelreg.CodeModelNotFound:
					// Deleted by the other deleter, or by a cascade.
				case serverError(err):
					t.Errorf("delete %s: %v", id, err)
				}
			}
		})
	}
	rng := rand.New(rand.NewPCG(seed, 20))
	wg.Go(func() { // deployer: a service pins a model for a while
		for i := 0; ctx.Err() == nil; i++ {
			sleep(ctx, time.Duration(50+rng.IntN(150))*time.Millisecond)
			id, _, ok := l.pick(rng)
			if !ok {
				continue
			}
			c := clients[rng.IntN(len(clients))]
			res, err := c.CreateService(ctx, &modelreg.ServiceCreate{
				Name: fmt.Sprintf("svc-%d-%d", seed%1000, i), InferType: modelreg.InferRealTime,
				Config: []modelreg.ServiceConfig{{ModelID: id, Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 1}},
			})
			switch {
			case err == nil:
				l.deploys.Add(1)
				sleep(ctx, time.Duration(rng.IntN(300))*time.Millisecond)
				c := clients[rng.IntN(len(clients))]
				if err := c.DeleteServices(ctx, res.ServiceID); err != nil && serverError(err) {
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

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// TestCrash kills the server with SIGKILL at random moments while imports,
// cascade and single deletes and deploys run, restarts it each time, and
// then checks the data dir offline: the database is intact, every published
// model has all its bytes, no blob is orphaned once the collector has run,
// every acknowledged delete stuck and every acknowledged import survived.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it repeatedly")
	}
	tmp := t.TempDir()
	bin := mustBinary(t)
	dataDir := filepath.Join(tmp, "data")
	root := filepath.Join(tmp, "import")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 99))
	folders := makeFolders(t, root, rng)
	l := newLedger()
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
	)
	for cycle := range crashCycles {
		p := startServer(t, bin, dataDir, root, logPath)
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
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			load(ctx, t, []*client.Client{c}, l, folders, seed+uint64(cycle))
			close(done)
		}()
		sleep(context.Background(), time.Duration(100+rng.IntN(1400))*time.Millisecond)
		p.kill(t, syscall.SIGKILL)
		cancel()
		<-done
		l.mu.Lock()
		t.Logf("cycle %d: %d imports and %d deletes acknowledged so far", cycle, len(l.imported), len(l.deleted))
		l.mu.Unlock()
	}

	// Restart, let every import finish, stop cleanly.
	p := startServer(t, bin, dataDir, root, logPath)
	c, err := client.New(p.url, project, client.WithSigner(signer.Sign))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitLimit)
	for {
		list, err := c.ListModels(context.Background(), modelreg.ModelFilter{Status: modelreg.ModelPublishing, Limit: 1})
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
	checkOffline(t, dataDir, project, folders, l)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// checkOffline opens the data dir without a server and checks the
// invariants of safe deletion.
func checkOffline(t *testing.T, dataDir, project string, folders []folder, l *ledger) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dataDir, "modelreg.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Fatalf("integrity check: %v", err)
	}
	checkStores(t, db, filepath.Join(dataDir, "blobs"), project, folders, l)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.imported) == 0 || len(l.deleted) == 0 {
		t.Errorf("the load did too little to prove anything: %d imports, %d deletes", len(l.imported), len(l.deleted))
	}
}

// checkStores checks the invariants of safe deletion on a database and the
// blob store directory blobDir, with no server running: every model is
// published with exactly its folder's files and their bytes; after a
// collection no blob is orphaned and nothing is staged or queued; every
// acknowledged delete stuck and every acknowledged import survived unless
// a delete that may have removed it was sent.
func checkStores(t *testing.T, db modelreg.Store, blobDir, project string, folders []folder, l *ledger) {
	ctx := context.Background()
	blobs, err := disk.Open(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	bySource := map[string]folder{}
	for _, f := range folders {
		bySource["file://"+filepath.ToSlash(f.dir)] = f
	}

	// Every model is published, with exactly its folder's files, each one
	// in the blob store with the right size and sha256.
	referenced := map[string]bool{}
	var models []*modelreg.ModelSummary
	for page := 0; ; page++ {
		f := modelreg.ModelFilter{ProjectID: project, Limit: modelreg.MaxListLimit, Offset: page}
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
		if m.Status != modelreg.ModelPublished {
			t.Errorf("model %s %s: status %s (%s)", m.Name, m.Version, m.Status, m.FailureReason)
			continue
		}
		full, err := db.FindModelByID(ctx, project, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		files, err := db.FindModelFiles(ctx, project, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := bySource[full.SourceLocation].files
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
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("model %s files %v, want %v", m.ID, got, want)
		}
		if size != m.Size {
			t.Errorf("model %s size %d, files add up to %d", m.ID, m.Size, size)
		}
	}

	// After a collection, every blob left is referenced and staging is empty.
	coll := collector.New(collector.Config{Store: db, Blobs: blobs, Logger: slog.New(slog.DiscardHandler)})
	if _, err := coll.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := coll.Sweep(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	var onDisk int
	err = blobs.Walk(ctx, func(digest string, size int64, _ time.Time) error {
		onDisk++
		if !referenced[digest] {
			t.Errorf("orphan blob %s (%d bytes)", digest, size)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(filepath.Join(blobDir, "staging")); err != nil || len(entries) != 0 {
		t.Errorf("staging holds %d entries (%v)", len(entries), err)
	}
	if n, err := db.PendingBlobDeletions(ctx); err != nil || n != 0 {
		t.Errorf("%d blob deletions still queued (%v)", n, err)
	}

	// Acknowledged deletes stuck; acknowledged imports exist unless a delete
	// that may have removed them was sent.
	l.mu.Lock()
	defer l.mu.Unlock()
	for id := range l.deleted {
		if _, err := db.FindModelByID(ctx, project, id); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
			t.Errorf("model %s was acknowledged deleted but is there (%v)", id, err)
		}
	}
	gone := 0
	for id, name := range l.imported {
		_, err := db.FindModelByID(ctx, project, id)
		switch {
		case err == nil:
		case modelreg.ErrorCode(err) != modelreg.ENOTFOUND:
			t.Fatal(err)
		case l.deleted[id] || l.targeted[id] || l.cascaded[name]:
			gone++
		default:
			t.Errorf("model %s (%s) was acknowledged imported, never deleted, and is gone", id, name)
		}
	}
	t.Logf("%d models left (%d acknowledged imports, %d gone by deletes, %d deletes acknowledged, failures %v), %d blobs on disk",
		len(models), len(l.imported), gone, len(l.deleted), l.failures, onDisk)
}

// verifyBlob checks a blob's size and sha256 against a model file.
func verifyBlob(ctx context.Context, blobs *disk.Store, f modelreg.ModelFile) error {
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
