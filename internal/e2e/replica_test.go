package e2e

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/auth"
	"github.com/modelreg/modelreg/internal/pgtest"
	"github.com/modelreg/modelreg/internal/postgres"
)

// The binary shared by the replica tests, built once.
var (
	binOnce sync.Once
	binPath string
)

// TestMain removes the shared binary after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// mustBinary returns the modelreg binary, building it on first use.
func mustBinary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "modelreg-e2e-")
		if err != nil {
			tb.Fatal(err)
		}
		binPath = buildBinary(tb, dir)
	})
	if binPath == "" {
		tb.Fatal("building the binary failed")
	}
	return binPath
}

// testProject is the project every replica serves by default.
const testProject = "0123456789abcdef0123456789abcdef"

// cluster is a few replicas of the server on one PostgreSQL database and
// one blob store, configured alike: the same project, admin key and master
// key (docs/scaling.md). A load balancer spreads requests over them.
type cluster struct {
	dsn    string
	be     *blobEnv // the blob store; with a disk, one directory they share
	root   string   // the import root
	tmp    string
	env    []string // the shared secrets, as KEY=value
	signer *auth.Signer
	mu     sync.Mutex
	procs  []*proc          // every replica launched
	ready  []*proc          // those listening, which the load balancer uses
	lb     *httptest.Server // round robin over the ready replicas
	next   int
}

// newCluster makes an empty database and import root; setBlobs then
// chooses the blob store.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	dsn, _ := pgtest.MustDatabase(t)
	tmp := t.TempDir()
	c := &cluster{dsn: dsn, root: filepath.Join(tmp, "import"), tmp: tmp,
		signer: &auth.Signer{AccessKey: auth.NewAccessKey(), SecretKey: auth.NewSecretKey()}}
	c.setBlobs(sharedDisk(filepath.Join(tmp, "shared")))
	master := make([]byte, auth.MasterKeySize)
	crand.Read(master)
	c.env = []string{"MODELREG_PROJECT_ID=" + testProject, "MODELREG_ACCESS_KEY=" + c.signer.AccessKey,
		"MODELREG_SECRET_KEY=" + c.signer.SecretKey, "MODELREG_MASTER_KEY=" + hex.EncodeToString(master)}
	if err := os.MkdirAll(c.root, 0o755); err != nil {
		t.Fatal(err)
	}
	// A load balancer: each request goes to the next replica, the Host
	// header (which requests are signed with) unchanged.
	c.lb = httptest.NewServer(&httputil.ReverseProxy{ErrorLog: log.New(io.Discard, "", 0), Rewrite: func(pr *httputil.ProxyRequest) {
		c.mu.Lock()
		p := c.ready[c.next%len(c.ready)]
		c.next++
		c.mu.Unlock()
		u, _ := url.Parse(p.url)
		pr.SetURL(u)
		pr.Out.Host = pr.In.Host
	}})
	t.Cleanup(func() {
		c.lb.Close()
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, p := range c.procs {
			p.cmd.Process.Kill()
		}
		if t.Failed() {
			for i, p := range c.procs {
				b, _ := os.ReadFile(p.log)
				t.Logf("replica %d (pid %d) log (tail):\n%s", i, p.cmd.Process.Pid, tail(string(b), 40))
			}
		}
	})
	return c
}

// sharedDisk is a blob store directory that every replica is given.
func sharedDisk(dir string) *blobEnv {
	be := diskEnv(dir)
	be.args = []string{"--blob-store", filepath.Join(dir, "blobs")}
	return be
}

// setBlobs chooses the blob store of the replicas started from now on.
func (c *cluster) setBlobs(be *blobEnv) { c.be = be }

// start launches n more replicas at the same moment (so that they migrate
// the database concurrently when it is new), waits until they listen, and
// adds them to the load balancer.
func (c *cluster) start(t *testing.T, n int, args ...string) []*proc {
	t.Helper()
	bin := mustBinary(t)
	var started []*proc
	for range n {
		c.mu.Lock()
		i := len(c.procs)
		p := launch(t, bin, filepath.Join(c.tmp, fmt.Sprintf("replica-%d.log", i)), c.env, append(append([]string{
			"--database", c.dsn, "--import-root", c.root, "--data-dir", filepath.Join(c.tmp, fmt.Sprintf("data-%d", i)),
		}, c.be.args...), args...)...)
		c.procs = append(c.procs, p)
		c.mu.Unlock()
		started = append(started, p)
	}
	for _, p := range started {
		p.waitListening(t)
	}
	c.mu.Lock()
	c.ready = append(c.ready, started...)
	c.mu.Unlock()
	return started
}

// client returns a client of replica p, or of the load balancer when p is
// nil.
func (c *cluster) client(t *testing.T, p *proc) *client.Client {
	t.Helper()
	u := c.lb.URL
	if p != nil {
		u = p.url
	}
	cl, err := client.New(u, testProject, client.WithSigner(c.signer.Sign))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// stop stops every replica still running with SIGTERM; each must exit 0.
func (c *cluster) stop(t *testing.T) {
	t.Helper()
	for _, p := range c.procs {
		if p.exited {
			continue
		}
		if err := p.kill(t, syscall.SIGTERM); err != nil {
			t.Errorf("replica %s: SIGTERM: exited with %v", p.url, err)
		}
	}
}

// store opens the cluster's database from the test, with the clock now.
func (c *cluster) store(t *testing.T, now func() time.Time) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), c.dsn, postgres.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// queryInt runs a query of one integer on the cluster's database.
func (c *cluster) queryInt(t *testing.T, sql string, args ...any) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// waitSettled waits until no model is publishing, through cl.
func waitSettled(t *testing.T, cl *client.Client) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		list, err := cl.ListModels(context.Background(), modelreg.ModelFilter{Status: modelreg.ModelPublishing, Page: modelreg.Page{Limit: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if list.TotalCount == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d models still publishing", list.TotalCount)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logLines returns the lines of the replicas' logs whose message is one of
// msgs, each prefixed with the replica's pid.
func (c *cluster) logLines(t *testing.T, msgs ...string) []string {
	t.Helper()
	var lines []string
	for _, p := range c.procs {
		f, err := os.Open(p.log)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			for _, msg := range msgs {
				if strings.Contains(sc.Text(), `msg="`+msg+`"`) {
					lines = append(lines, fmt.Sprintf("[pid %d] %s", p.cmd.Process.Pid, sc.Text()))
				}
			}
		}
		f.Close()
	}
	return lines
}

var modelIDField = regexp.MustCompile(`model_id=([0-9a-f-]{36})`)

// TestReplicas runs three servers on one PostgreSQL database and one blob
// store behind a round-robin load balancer, so that the requests of every
// operation, and of every push, are spread over them: concurrent imports,
// pushes, deploys, single and cascade deletes (the third replica joins
// while the load runs, so its start-up sweep overlaps the others' work),
// then deploy-against-delete races on two replicas. Then it checks what
// coordination through the database must guarantee: every model was
// deleted exactly once across all responses, no service references a
// deleted model, every import job ran to its end exactly once (none lost,
// none stuck, none published twice), and, after a collection, every
// published model has all its bytes and no blob is orphaned. It runs on a
// shared blob directory, and on an S3 bucket when an S3 server is
// configured.
func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three servers")
	}
	t.Run("Disk", func(t *testing.T) { testReplicas(t, nil) })
	t.Run("S3", func(t *testing.T) {
		testReplicas(t, func(folders []folder) *blobEnv { return s3Env(t, folders) })
	})
}

// testReplicas runs TestReplicas on the blob store newEnv returns (nil: a
// shared directory).
func testReplicas(t *testing.T, newEnv func([]folder) *blobEnv) {
	c := newCluster(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	folders := makeFolders(t, c.root, rand.New(rand.NewPCG(seed, 99)))
	if newEnv != nil {
		c.setBlobs(newEnv(folders))
	}
	args := []string{"--job-lease", "2s"}
	c.start(t, 2, args...)
	l := newLedger()
	lb := c.client(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { load(ctx, t, lb, l, folders, c.be, seed, false) })
	// The third replica joins under load, and takes its share.
	sleep(ctx, time.Second)
	c.start(t, 1, args...)
	sleep(ctx, 7*time.Second)
	cancel()
	wg.Wait()
	replicas := []*client.Client{c.client(t, c.procs[0]), c.client(t, c.procs[1]), c.client(t, c.procs[2])}
	deployDeleteRaces(t, replicas, l, folders[0])
	waitSettled(t, lb)

	// Every model was deleted exactly once across all responses.
	l.mu.Lock()
	for id, n := range l.deletions {
		if n != 1 {
			t.Errorf("model %s is in the success list of %d delete responses", id, n)
		}
	}
	t.Logf("%d imports and pushes (%d pushes), %d models deleted, %d services deployed, delete failures %v",
		len(l.imported), l.pushes, len(l.deleted), l.deploys.Load(), l.failures)
	l.mu.Unlock()

	// No service references a deleted model (nor any model that is gone).
	if n := c.queryInt(t, `SELECT count(*) FROM service_models sm WHERE NOT EXISTS (SELECT 1 FROM models m WHERE m.id = sm.model_id)`); n != 0 {
		t.Errorf("%d service configs reference a model that is gone", n)
	}
	svcs, err := lb.ListServices(context.Background(), modelreg.ServiceFilter{Page: modelreg.Page{Limit: modelreg.MaxListLimit}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs.Services {
		full, err := lb.GetService(context.Background(), s.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, cfg := range full.Config {
			l.mu.Lock()
			deleted := l.deleted[cfg.ModelID]
			l.mu.Unlock()
			if deleted {
				t.Errorf("service %s references model %s, acknowledged deleted", s.ID, cfg.ModelID)
			}
		}
	}

	// No job lost, stuck or doubled: the queue is empty, and each model was
	// published by one replica once.
	if n := c.queryInt(t, `SELECT count(*) FROM import_jobs`); n != 0 {
		t.Errorf("%d import jobs left", n)
	}
	c.stop(t)
	published := map[string][]string{}
	for _, line := range c.logLines(t, "import published", "upload published") {
		if m := modelIDField.FindStringSubmatch(line); m != nil {
			published[m[1]] = append(published[m[1]], line)
		}
	}
	byReplica := map[string]int{}
	for id, lines := range published {
		if len(lines) != 1 {
			t.Errorf("model %s published %d times:\n%s", id, len(lines), strings.Join(lines, "\n"))
		}
		byReplica[lines[0][:strings.Index(lines[0], "]")+1]]++
	}
	t.Logf("models published by replica: %v", byReplica)
	if len(byReplica) != len(c.procs) {
		t.Errorf("models were published on %d replicas of %d", len(byReplica), len(c.procs))
	}
	later := func() time.Time { return time.Now().Add(time.Hour) } // leases and backoffs are over
	db := c.store(t, later)
	ms, _, err := db.FindModels(context.Background(), modelreg.ModelFilter{ProjectID: testProject, Page: modelreg.Page{Limit: modelreg.MaxListLimit}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Status == modelreg.ModelPublished && len(published[m.ID]) == 0 {
			t.Errorf("model %s is published but no replica logged publishing it", m.ID)
		}
	}
	if lines := c.logLines(t, "import attempt failed; retrying"); len(lines) > 0 {
		t.Errorf("imports failed on the way (a replica's start-up sweep removed another's staged blob?):\n%s", strings.Join(lines, "\n"))
	}
	checkStores(t, db, testProject, folders, l, c.be, later, true)
}

// TestFailover kills the replica that is importing a model, in the middle
// of the import, and checks that another takes the job over once the lease
// has expired and publishes the model with exactly its files, leaving no
// orphan blob.
func TestFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two servers")
	}
	ctx := context.Background()
	c := newCluster(t)
	// Many small files: an import takes long enough to be killed halfway,
	// whatever the speed of the machine, and its progress is visible in
	// the database file by file.
	const nFiles = 1500
	src := folder{dir: filepath.Join(c.root, "big"), files: map[string]string{}}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for i := range nFiles {
		name := fmt.Sprintf("model/part-%04d.bin", i)
		b := make([]byte, 4096)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if i == 0 {
			name, b = "model/config.json", []byte(`{"model_type":"PyTorch"}`)
		}
		p := filepath.Join(src.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		src.files[name] = hex.EncodeToString(sum[:])
	}
	procs := c.start(t, 2, "--job-lease", "2s")
	id, err := c.client(t, procs[0]).ImportModel(ctx, &modelreg.ModelImport{
		Name: "big", Version: "1.0.0", Type: "PyTorch", SourceLocation: "file://" + filepath.ToSlash(src.dir)})
	if err != nil {
		t.Fatal(err)
	}
	l := newLedger()
	l.imported[id] = "big"

	// Whichever replica claimed the job is the victim.
	var owner string
	waitUntil(t, "a replica claims the job", func() bool {
		owner = c.queryString(t, `SELECT coalesce(lease_owner, '') FROM import_jobs WHERE model_id = $1`, id)
		return owner != ""
	})
	victim, survivor := procs[0], procs[1]
	if pid := ownerPID(t, owner); pid == survivor.cmd.Process.Pid {
		victim, survivor = survivor, victim
	} else if pid != victim.cmd.Process.Pid {
		t.Fatalf("the job is leased to %s, neither replica", owner)
	}
	waitUntil(t, "the import is under way", func() bool {
		return c.queryInt(t, `SELECT count(*) FROM model_files WHERE model_id = $1`, id) >= 20
	})
	victim.kill(t, syscall.SIGKILL)
	attached := c.queryInt(t, `SELECT count(*) FROM model_files WHERE model_id = $1`, id)
	if got := c.queryString(t, `SELECT coalesce(lease_owner, '') FROM import_jobs WHERE model_id = $1`, id); got != owner {
		t.Fatalf("the import ended before the kill (job leased to %q); make it bigger", got)
	}
	t.Logf("killed pid %d with %d of %d files attached", victim.cmd.Process.Pid, attached, nFiles)

	// The survivor takes the job over after the lease and publishes.
	cl := c.client(t, survivor)
	var m *modelreg.Model
	waitUntil(t, "the model leaves publishing", func() bool {
		m, err = cl.GetModel(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return m.Status != modelreg.ModelPublishing
	})
	if m.Status != modelreg.ModelPublished {
		t.Fatalf("model %s: %s (%s)", id, m.Status, m.FailureReason)
	}
	if n := c.queryInt(t, `SELECT count(*) FROM import_jobs`); n != 0 {
		t.Errorf("%d import jobs left", n)
	}
	started := c.logLines(t, "import started")
	var takeover bool
	for _, line := range started {
		if strings.Contains(line, fmt.Sprintf("[pid %d]", survivor.cmd.Process.Pid)) && strings.Contains(line, "attempt=2") {
			takeover = true
		}
	}
	if !takeover {
		t.Errorf("the survivor never ran the job's second attempt:\n%s", strings.Join(started, "\n"))
	}
	c.stop(t)
	later := func() time.Time { return time.Now().Add(time.Hour) }
	checkStores(t, c.store(t, later), testProject, []folder{src}, l, c.be, later, true)
}

// deployDeleteRaces deploys and deletes the same published model at the
// same moment through two different replicas, many times over, and checks
// that exactly one of the two wins each time: either the model is deleted
// and the deploy fails with ModelArts.3507, or the service exists and the
// delete reports ModelArts.3009. Half the deletes are cascades (which also
// take the model's other version). It records what it did in l.
func deployDeleteRaces(t *testing.T, clients []*client.Client, l *ledger, f folder) {
	t.Helper()
	ctx := context.Background()
	const rounds = 24
	ids := make([]string, rounds)
	for i := range rounds {
		for v, version := range []string{"1.0.0", "1.0.1"} {
			id, err := clients[i%len(clients)].ImportModel(ctx, &modelreg.ModelImport{Name: fmt.Sprintf("race-%d", i),
				Version: version, Type: "PyTorch", SourceLocation: "file://" + filepath.ToSlash(f.dir)})
			if err != nil {
				t.Fatal(err)
			}
			l.mu.Lock()
			l.imported[id] = fmt.Sprintf("race-%d", i)
			l.mu.Unlock()
			if v == 0 {
				ids[i] = id
			}
		}
	}
	waitSettled(t, clients[0])
	var wins [2]int // deploys, deletes
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, id := range ids {
		deployer, deleter := clients[i%len(clients)], clients[(i+1)%len(clients)]
		cascade := i%2 == 0
		var svcErr, delErr error
		var res *modelreg.DeleteResult
		var race sync.WaitGroup
		race.Add(2)
		start := make(chan struct{})
		go func() {
			defer race.Done()
			<-start
			_, svcErr = deployer.CreateService(ctx, &modelreg.ServiceCreate{
				Name: fmt.Sprintf("race-svc-%d", i), InferType: modelreg.InferRealTime,
				Config: []modelreg.ServiceConfig{{ModelID: id, Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 1}},
			})
		}()
		go func() {
			defer race.Done()
			<-start
			l.mu.Lock()
			if cascade {
				l.cascaded[fmt.Sprintf("race-%d", i)] = true
			} else {
				l.targeted[id] = true
			}
			l.mu.Unlock()
			res, delErr = deleter.DeleteModel(ctx, id, cascade)
		}()
		wg.Go(func() {
			close(start)
			race.Wait()
			if delErr != nil {
				t.Errorf("round %d: delete: %v", i, delErr)
				return
			}
			deleted := false
			l.mu.Lock()
			for _, d := range res.Success {
				l.deleted[d] = true
				l.deletions[d]++
				deleted = deleted || d == id
			}
			for _, f := range res.Failed {
				l.failures[f.ErrorCode]++
			}
			l.mu.Unlock()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case svcErr == nil && !deleted && len(res.Failed) == 1 && res.Failed[0].ErrorCode == modelreg.CodeModelDeployed:
				wins[0]++
				l.deploys.Add(1)
			case deleted && modelreg.ErrorAPICode(svcErr) == modelreg.CodeServiceModelGone:
				wins[1]++
			default:
				t.Errorf("round %d: deploy %v, delete %+v: want exactly one to win", i, svcErr, res)
			}
		})
	}
	wg.Wait()
	t.Logf("deploy against delete, on two replicas: %d deploys won, %d deletes won", wins[0], wins[1])
}

// queryString runs a query of one text value on the cluster's database.
func (c *cluster) queryString(t *testing.T, sql string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql, args...).Scan(&s); err != nil && err != pgx.ErrNoRows {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// ownerPID returns the process id in a lease owner name (host:pid:random).
func ownerPID(t *testing.T, owner string) int {
	t.Helper()
	parts := strings.Split(owner, ":")
	if len(parts) < 3 {
		t.Fatalf("lease owner %q is not host:pid:random", owner)
	}
	pid, err := strconv.Atoi(parts[len(parts)-2])
	if err != nil {
		t.Fatalf("lease owner %q: %v", owner, err)
	}
	return pid
}

// waitUntil polls cond every 10 ms until it holds, failing the test after
// waitLimit.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOutage runs a server whose database goes away, and then the network
// to it: /readyz answers 503 meanwhile and the API answers 503 within the
// query timeout rather than hanging; once the database is back, both work
// again without a restart.
func TestOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := context.Background()
	c := newCluster(t)
	proxy := pgtest.StartProxy(t, pgtest.Addr(t, c.dsn))
	c.dsn = proxy.DSN(t, c.dsn)
	p := c.start(t, 1, "--postgres-query-timeout", "2s", "--request-timeout", "20s")[0]
	cl := c.client(t, p)
	id, err := cl.ImportModel(ctx, &modelreg.ModelImport{Name: "m", Version: "1.0.0", Type: "Custom",
		SourceLocation: "file://" + filepath.ToSlash(c.root)})
	if err != nil {
		t.Fatal(err)
	}
	ready := func() error { return cl.Ready(ctx) }
	if err := ready(); err != nil {
		t.Fatalf("readyz before the outage: %v", err)
	}
	for _, mode := range []pgtest.Mode{pgtest.Refuse, pgtest.Blackhole} {
		proxy.Set(mode)
		waitUntil(t, "readyz answers 503", func() bool { return client.StatusCode(ready()) == 503 })
		if err := cl.Health(ctx); err != nil {
			t.Errorf("healthz: %v", err)
		}
		if _, err := cl.GetModel(ctx, id); client.StatusCode(err) != 503 {
			t.Errorf("get during the outage (mode %d): %v, want 503", mode, err)
		}
		proxy.Set(pgtest.Forward)
		waitUntil(t, "readyz answers 200", func() bool { return ready() == nil })
		if _, err := cl.GetModel(ctx, id); err != nil {
			t.Errorf("get after the outage (mode %d): %v", mode, err)
		}
	}
	c.stop(t)
}
