package client_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/auth"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/sqlite"
)

const (
	testProject = "0123456789abcdef0123456789abcdef"
	testAK      = "AKCLIENTTEST00000001"
	testSK      = "client-test-secret-key-0123456789"
)

// startServer runs a real server (httpapi over SQLite, authentication on)
// whose admin holds testAK/testSK. Only the server side uses internal
// packages; the tests below use the client as any program would.
func startServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "modelreg.db"), sqlite.Options{Synchronous: "NORMAL", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := auth.NewKeyring(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{Store: db, Keyring: keys, PasswordIterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Bootstrap(ctx, &modelreg.Project{ID: testProject, Name: "default"}, &modelreg.User{Name: "admin", Admin: true},
		&modelreg.Credential{AccessKey: testAK, SecretEnc: a.Seal(testAK, testSK)}); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(httpapi.NewServer(httpapi.Config{Store: db, Auth: a, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(hs.Close)
	return hs.URL
}

// TestWithAccessKey checks that a client built with WithAccessKey is
// accepted by the server, and that a wrong secret key or no key is refused
// with the ModelArts authentication codes.
func TestWithAccessKey(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()

	c, err := client.New(url, testProject, client.WithAccessKey(testAK, testSK))
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.ListModels(ctx, modelreg.ModelFilter{})
	if err != nil {
		t.Fatalf("signed with the access key: %v", err)
	}
	if list.TotalCount != 0 {
		t.Errorf("total_count %d, want 0", list.TotalCount)
	}
	// A signed POST (the body is in the signature).
	if _, err := c.CreateModels(ctx, []modelreg.BulkModel{{ModelImport: modelreg.ModelImport{Name: "m", Version: "1.0.0", Type: "Custom", SourceLocation: "file:///m"}}}); err != nil {
		t.Fatalf("signed bulk create: %v", err)
	}

	for _, tt := range []struct {
		name string
		opts []client.Option
		code string
	}{
		{"WrongSecret", []client.Option{client.WithAccessKey(testAK, "not-the-secret-key-000000")}, modelreg.CodeAuthCheckFailed},
		{"NoKey", nil, modelreg.CodeTokenMissing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(url, testProject, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			var me *modelreg.Error
			_, err = c.ListModels(ctx, modelreg.ModelFilter{})
			if modelreg.ErrorCode(err) != modelreg.EUNAUTHORIZED || !asError(err, &me) || me.APICode != tt.code {
				t.Errorf("got %v, want %s %s", err, modelreg.EUNAUTHORIZED, tt.code)
			}
			if client.StatusCode(err) != 401 {
				t.Errorf("status %d, want 401", client.StatusCode(err))
			}
		})
	}

	// An empty key cannot sign: refused on this side, before sending.
	c, _ = client.New(url, testProject, client.WithAccessKey("", ""))
	_, err = c.ListModels(ctx, modelreg.ModelFilter{})
	if modelreg.ErrorCode(err) != modelreg.EUNAUTHORIZED || client.StatusCode(err) != 0 || !strings.Contains(err.Error(), "Cannot sign") {
		t.Errorf("empty key: %v", err)
	}
}

func asError(err error, target **modelreg.Error) bool {
	e, ok := err.(*modelreg.Error)
	if ok {
		*target = e
	}
	return ok
}
