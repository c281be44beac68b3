package console_test

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/sqlite"
)

// countingStore counts the store reads the console's pages cause.
type countingStore struct {
	modelreg.Store
	mu sync.Mutex
	n  map[string]int
}

func (s *countingStore) count(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n[op]++
}

// take returns the counts since the last take.
func (s *countingStore) take() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := maps.Clone(s.n)
	clear(s.n)
	return n
}

func (s *countingStore) FindModels(ctx context.Context, f modelreg.ModelFilter) ([]*modelreg.ModelSummary, int, error) {
	s.count("FindModels")
	return s.Store.FindModels(ctx, f)
}

func (s *countingStore) FindModelNames(ctx context.Context, f modelreg.ModelNameFilter) ([]*modelreg.ModelName, error) {
	s.count("FindModelNames")
	return s.Store.FindModelNames(ctx, f)
}

func (s *countingStore) FindModelByID(ctx context.Context, projectID, id string) (*modelreg.Model, error) {
	s.count("FindModelByID")
	return s.Store.FindModelByID(ctx, projectID, id)
}

func (s *countingStore) FindServices(ctx context.Context, f modelreg.ServiceFilter) ([]*modelreg.Service, int, error) {
	s.count("FindServices")
	return s.Store.FindServices(ctx, f)
}

func (s *countingStore) FindModelProtection(ctx context.Context, projectID, id string) (*modelreg.ModelProtection, error) {
	s.count("FindModelProtection")
	return s.Store.FindModelProtection(ctx, projectID, id)
}

func (s *countingStore) FindToken(ctx context.Context, hash string) (*modelreg.Token, error) {
	s.count("FindToken")
	return s.Store.FindToken(ctx, hash)
}

func (s *countingStore) FindUserByID(ctx context.Context, id string) (*modelreg.User, error) {
	s.count("FindUserByID")
	return s.Store.FindUserByID(ctx, id)
}

// watch runs the authenticator's Watch, as the server does (serve.go), so
// that its credential cache answers.
func (e *env) watch(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.auth.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.auth.Watch(ctx, 20*time.Millisecond, nil)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// seedNames bulk-creates names "model-%03d", each in versions versions
// (1.0.0, 1.0.1, …), in project alpha.
func seedNames(t testing.TB, store modelreg.Store, names, versions int) {
	t.Helper()
	var ms []*modelreg.Model
	for i := range names * versions {
		ms = append(ms, &modelreg.Model{ModelSummary: modelreg.ModelSummary{
			Name: fmt.Sprintf("model-%03d", i/versions), Version: fmt.Sprintf("1.0.%d", i%versions), Type: "PyTorch",
			ProjectID: projectA, Description: fmt.Sprintf("seeded model %d", i), ModelSource: "custom", Size: int64(i) << 10,
		}})
	}
	if err := store.CreateModels(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
}

// TestModelsPageCalls pins down what a models page costs, whatever it
// holds: one model list and one name-aggregates call (one store read
// each), no per-name or per-model call, and no authentication read of
// the store (the user's token is served from the credential cache).
// Before, a page of 30 models made about 37 API calls, each reading the
// token and its user.
func TestModelsPageCalls(t *testing.T) {
	base, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { base.Close() })
	store := &countingStore{Store: base, n: map[string]int{}}
	e := newEnv(t, store)
	e.watch(t)
	seedNames(t, store, 40, 3)
	ctx := context.Background()
	first, err := e.alice.ListModels(ctx, modelreg.ModelFilter{Page: modelreg.Page{Limit: 30}})
	if err != nil {
		t.Fatal(err)
	}
	deployedName := first.Models[0].Name
	deploy(t, e.alice, "svc", first.Models[0].ID)
	var protectedName string
	for _, m := range first.Models {
		if m.Name != deployedName {
			protectedName = m.Name
			if _, err := e.alice.SetProtection(ctx, m.ID, true, "keep"); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	br := e.browser(t)
	br.signIn("alice", "alpha")
	p := br.get("/console/models") // the token's first use loads it into the cache
	next := reNext.FindStringSubmatch(p.body)
	if next == nil {
		t.Fatalf("no next page link:\n%s", p.body)
	}
	store.take()

	authReads := 0
	for _, target := range []string{
		"/console/models",
		"/console/models?" + unescapeAmp(next[1]),
		"/console/models?q=model-01&in=name",
		"/console/models?type=PyTorch&status=published&sort=model_size&order=asc",
		"/console/models?q=" + url.QueryEscape("seeded model 1") + "&in=description",
	} {
		p := br.get(target)
		if p.status != 200 {
			t.Fatalf("GET %s: %d\n%s", target, p.status, p.body)
		}
		n := store.take()
		authReads += n["FindToken"] + n["FindUserByID"]
		delete(n, "FindToken")
		delete(n, "FindUserByID")
		want := map[string]int{"FindModels": 1, "FindModelNames": 1}
		if !maps.Equal(n, want) {
			t.Errorf("GET %s: store reads %v, want %v", target, n, want)
		}
		if groups := strings.Count(p.body, `<th scope="row">`); groups < 10 {
			t.Errorf("GET %s: %d names on the page, want at least 10 (the count must not depend on them)", target, groups)
		}
	}
	// A poll starved for longer than the cache's staleness bound on a
	// loaded machine can cost one miss; a read per API call would be 20.
	if authReads > 2 {
		t.Errorf("pages read the token or its user %d times, want them served from the credential cache", authReads)
	}

	// What the aggregates put on the page.
	p = br.get("/console/models")
	for name, want := range map[string][]string{
		deployedName:  {`<td>3</td>`, `<span class="badge">deployed</span>`},
		protectedName: {`<td>3</td>`, `<span class="badge">protected</span>`},
	} {
		row := rowOf(t, p.body, name)
		for _, w := range want {
			if !strings.Contains(row, w) {
				t.Errorf("row of %s lacks %s:\n%s", name, w, row)
			}
		}
	}
	if row := rowOf(t, p.body, deployedName); strings.Contains(row, "protected</span>") {
		t.Errorf("row of %s says protected:\n%s", deployedName, row)
	}
}

// rowOf returns the models table row of name.
func rowOf(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr>\s*<th scope="row"><a href="/console/names/` + regexp.QuoteMeta(name) + `">.*?</tr>`).FindString(body)
	if m == "" {
		t.Fatalf("no row of %s on the page:\n%s", name, body)
	}
	return m
}
