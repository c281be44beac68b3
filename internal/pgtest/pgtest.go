// Package pgtest gives tests a PostgreSQL database of their own on the
// server named by MODELREG_TEST_POSTGRES_DSN: a fresh schema (fast) or a
// fresh database (for processes that must see nothing else), dropped when
// the test ends, and a TCP proxy that can take the database away.
//
// Without the variable the helpers skip the test. CI sets it
// (.ci/services.sh starts a private PostgreSQL 15 cluster); so can a
// developer:
//
//	. .ci/services.sh && go test ./...
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// DSNEnv names the environment variable holding the DSN of a PostgreSQL
// server the tests may create schemas, databases and roles on.
const DSNEnv = "MODELREG_TEST_POSTGRES_DSN"

// Available reports whether a test server is configured.
func Available() bool { return os.Getenv(DSNEnv) != "" }

// DSN returns the test server's DSN, or skips the test.
func DSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(DSNEnv)
	if dsn == "" {
		tb.Skipf("%s is not set: skipping the PostgreSQL tests (CI sets it; .ci/services.sh starts a private server)", DSNEnv)
	}
	return dsn
}

// WithParams returns dsn with the given connection parameters (key, value,
// key, value...) set, in URL or keyword/value form. The key "addr" sets
// host:port, "dbname" the database and "user" the user; any other key is
// a connection or run-time parameter (search_path, application_name...).
func WithParams(tb testing.TB, dsn string, kv ...string) string {
	tb.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatalf("parse the DSN: %v", err)
		}
		q := u.Query()
		for i := 0; i < len(kv); i += 2 {
			switch kv[i] {
			case "addr":
				u.Host = kv[i+1]
			case "dbname":
				u.Path = "/" + kv[i+1]
			case "user":
				u.User = url.User(kv[i+1])
			default:
				q.Set(kv[i], kv[i+1])
			}
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i] == "addr" {
			host, port, _ := strings.Cut(kv[i+1], ":")
			dsn += " host=" + host + " port=" + port
			continue
		}
		dsn += " " + kv[i] + "='" + kv[i+1] + "'"
	}
	return dsn
}

// Addr returns the host:port of dsn's server.
func Addr(tb testing.TB, dsn string) string {
	tb.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		tb.Fatalf("parse the DSN: %v", err)
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// RandomName returns prefix followed by random hex digits: a name for a
// schema, database or role that no other test uses.
func RandomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Exec runs statements, each on its own, on dsn.
func Exec(tb testing.TB, dsn string, stmts ...string) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			tb.Fatalf("%s: %v", s, err)
		}
	}
}

// trigramOnce installs pg_trgm in the public schema of the test database
// once, so that the per-test schemas share it (an extension lives in one
// schema of a database; created in a test schema it would be dropped with
// it).
var trigramOnce sync.Once

// MustSchema creates an empty schema, dropped when tb ends, and returns a
// DSN whose search_path starts with it (and whose application_name is its
// name). A schema is much faster to create than a database.
func MustSchema(tb testing.TB) string {
	tb.Helper()
	dsn := DSN(tb)
	trigramOnce.Do(func() {
		ctx := context.Background()
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public`)
			conn.Close(ctx)
		}
	})
	name := RandomName("mr_")
	Exec(tb, dsn, `CREATE SCHEMA `+name)
	tb.Cleanup(func() { Exec(tb, dsn, `DROP SCHEMA `+name+` CASCADE`) })
	return WithParams(tb, dsn, "search_path", name+",public", "application_name", name)
}

// MustDatabase creates an empty database, dropped when tb ends (the
// sessions still connected to it are ended first), and returns its DSN and
// name.
func MustDatabase(tb testing.TB) (dsn, name string) {
	tb.Helper()
	admin := DSN(tb)
	name = RandomName("mr_")
	Exec(tb, admin, `CREATE DATABASE `+name)
	tb.Cleanup(func() { Exec(tb, admin, `DROP DATABASE `+name+` WITH (FORCE)`) })
	return WithParams(tb, admin, "dbname", name, "application_name", name), name
}
