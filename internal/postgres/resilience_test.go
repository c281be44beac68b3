package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/pgtest"
)

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// wantUnavailable fails unless err is EUNAVAILABLE.
func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	if modelreg.ErrorCode(err) != modelreg.EUNAVAILABLE {
		t.Errorf("%s: err = %v, want EUNAVAILABLE", what, err)
	}
	var e *modelreg.Error
	if err != nil && !errors.As(err, &e) {
		t.Errorf("%s: err is a %T, want a *modelreg.Error", what, err)
	}
}

// settle retries call while it fails with EUNAVAILABLE, for up to 10 s: the
// tests below run the store with query timeouts of a few hundred
// milliseconds, which a loaded CI machine can exceed on calls that are
// meant to succeed (the setup, the recovery).
func settle(t *testing.T, what string, call func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = call(); modelreg.ErrorCode(err) != modelreg.EUNAVAILABLE {
			break
		}
	}
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// openSettled is mustOpen retried while the first ping times out.
func openSettled(t *testing.T, dsn string, opt Options) *DB {
	t.Helper()
	var db *DB
	settle(t, "Open", func() error {
		var err error
		db, err = Open(context.Background(), dsn, opt)
		return err
	})
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// TestUnavailable takes the database away, and then the network, under a
// store, and checks that every call fails fast with EUNAVAILABLE (a 503,
// not a 500, and no hanging request) and that the store recovers by itself.
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	dsn := mustSchema(t)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := pgtest.StartProxy(t, net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)))
	db := openSettled(t, p.DSN(t, dsn), Options{QueryTimeout: 300 * time.Millisecond, MaxConns: 4})
	m := newTestModel("p", "m", "1.0.0")
	settle(t, "CreateModel", func() error { return db.CreateModel(ctx, m) })
	// works waits for the store to answer again by itself (no reopen):
	// the first calls after the network returns may still meet a
	// connection of the outage, or a 300 ms timeout on a loaded machine.
	works := func(t *testing.T) {
		t.Helper()
		var err error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if err = db.Ping(ctx); err != nil {
				continue
			}
			if _, err = db.FindModelByID(ctx, "p", m.ID); err != nil {
				continue
			}
			if _, _, err = db.FindModels(ctx, modelreg.ModelFilter{ProjectID: "p", Page: modelreg.Page{Limit: 10}}); err == nil {
				return
			}
		}
		t.Fatalf("the store did not recover in 10 s: %v", err)
	}
	fails := func(t *testing.T) {
		t.Helper()
		wantUnavailable(t, "Ping", db.Ping(ctx))
		_, err := db.FindModelByID(ctx, "p", m.ID)
		wantUnavailable(t, "FindModelByID", err)
		_, _, err = db.FindModels(ctx, modelreg.ModelFilter{ProjectID: "p", Page: modelreg.Page{Limit: 10}})
		wantUnavailable(t, "FindModels", err)
		wantUnavailable(t, "CreateModel", db.CreateModel(ctx, newTestModel("p", "m", "2.0.0")))
		wantUnavailable(t, "DeleteModel", modelreg.DeleteModel(ctx, db, "p", m.ID))
		_, err = db.ClaimImportJob(ctx, "w", time.Minute, 0)
		wantUnavailable(t, "ClaimImportJob", err)
	}

	t.Run("Down", func(t *testing.T) {
		p.Set(pgtest.Refuse)
		fails(t)
		p.Set(pgtest.Forward)
		works(t)
	})
	t.Run("Dark", func(t *testing.T) {
		p.Set(pgtest.Blackhole)
		fails(t)
		p.Set(pgtest.Forward)
		works(t)
	})
	// The model survived it all.
	if _, err := db.FindModelByID(ctx, "p", m.ID); err != nil {
		t.Fatal(err)
	}
}

// TestReconnect closes every connection of a store on the server side and
// checks that the next call, whatever it is, still works.
func TestReconnect(t *testing.T) {
	ctx := context.Background()
	dsn := mustSchema(t)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	app := cfg.RuntimeParams["application_name"]
	db := mustOpen(t, dsn, Options{MaxConns: 4})
	m := newTestModel("p", "m", "1.0.0")
	if err := db.CreateModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	terminate := func(t *testing.T) {
		t.Helper()
		// Fill the pool first, so that every idle connection is a dead one.
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := db.view(ctx, "test", func(tx *Tx) error {
					_, err := tx.exec(ctx, `SELECT pg_sleep(0.05)`)
					return err
				}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		var n int
		admin, err := pgx.Connect(ctx, testDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(ctx)
		// In the target list, not the WHERE clause: the planner may evaluate
		// quals in any order, and this one must only see the store's backends.
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM (
			SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()
			) AS t`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("no connection terminated")
		}
	}
	for name, call := range map[string]func() error{
		"Ping": func() error { return db.Ping(ctx) },
		"Read": func() error { _, err := db.FindModelByID(ctx, "p", m.ID); return err },
		"View": func() error {
			_, _, err := db.FindModels(ctx, modelreg.ModelFilter{ProjectID: "p", Page: modelreg.Page{Limit: 1}})
			return err
		},
		"Write": func() error {
			return db.CreateModel(ctx, newTestModel("p", "m", "2.0.0"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			terminate(t)
			if err := call(); err != nil {
				t.Fatalf("first call after the connections were closed: %v", err)
			}
		})
	}
}

// TestQueryTimeout holds a row lock from outside (a replica that hangs in
// a transaction) and checks that a store call waiting for it gives up after
// the query timeout with EUNAVAILABLE, and works once the lock is gone.
func TestQueryTimeout(t *testing.T) {
	ctx := context.Background()
	dsn := mustSchema(t)
	db := openSettled(t, dsn, Options{QueryTimeout: 200 * time.Millisecond})
	m := newTestModel("p", "m", "1.0.0")
	settle(t, "CreateModel", func() error { return db.CreateModel(ctx, m) })
	other, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM models WHERE id = $1 FOR UPDATE`, m.ID); err != nil {
		t.Fatal(err)
	}
	err = modelreg.DeleteModel(ctx, db, "p", m.ID)
	wantUnavailable(t, "DeleteModel", err)
	if sqlState(err) != "57014" {
		t.Errorf("err = %v, want the server's statement timeout (57014)", err)
	}
	// Reads do not wait for row locks (a timeout here is the machine's
	// load, not the lock: retried).
	settle(t, "FindModelByID", func() error { _, err := db.FindModelByID(ctx, "p", m.ID); return err })
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	settle(t, "DeleteModel after the lock was released", func() error { return modelreg.DeleteModel(ctx, db, "p", m.ID) })
}

func TestRetry(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)

	t.Run("SerializationFailure", func(t *testing.T) {
		n := 0
		err := db.update(ctx, "test", func(tx *Tx) error {
			n++
			if n < 3 {
				return &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
			}
			return nil
		})
		if err != nil || n != 3 {
			t.Errorf("update = %v after %d attempts, want success at the third", err, n)
		}
	})

	t.Run("GivesUp", func(t *testing.T) {
		n := 0
		err := db.update(ctx, "test", func(tx *Tx) error {
			n++
			return &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
		})
		wantUnavailable(t, "update", err)
		if n != maxAttempts {
			t.Errorf("%d attempts, want %d", n, maxAttempts)
		}
	})

	t.Run("DomainErrorsAreNotRetried", func(t *testing.T) {
		n := 0
		err := db.update(ctx, "test", func(tx *Tx) error {
			n++
			return modelreg.ModelNotFound("x")
		})
		if modelreg.ErrorAPICode(err) != modelreg.CodeModelNotFound || n != 1 {
			t.Errorf("update = %v after %d attempts", err, n)
		}
	})

	t.Run("Deadlock", func(t *testing.T) {
		// Two transactions lock two rows in opposite orders; the server
		// breaks the deadlock by failing one, which the store runs again.
		for _, d := range []string{"d1", "d2"} {
			if err := db.TrackBlob(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		var ready sync.WaitGroup
		ready.Add(2)
		var attempts [2]atomic.Int32
		lock := func(i int, first, second string) error {
			return db.update(ctx, "test", func(tx *Tx) error {
				a := attempts[i].Add(1)
				if _, err := tx.exec(ctx, `UPDATE blob_gc SET attempts = attempts + 1 WHERE digest = $1`, first); err != nil {
					return err
				}
				if a == 1 {
					ready.Done()
					ready.Wait()
				}
				_, err := tx.exec(ctx, `UPDATE blob_gc SET attempts = attempts + 1 WHERE digest = $1`, second)
				return err
			})
		}
		var errs [2]error
		var wg sync.WaitGroup
		wg.Go(func() { errs[0] = lock(0, "d1", "d2") })
		wg.Go(func() { errs[1] = lock(1, "d2", "d1") })
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("transaction %d: %v", i, err)
			}
		}
		if n := attempts[0].Load() + attempts[1].Load(); n < 3 {
			t.Errorf("%d attempts in all, want a retry", n)
		}
		// Each row was updated by the two committed transactions only.
		for _, d := range []string{"d1", "d2"} {
			var n int
			if err := db.pool.QueryRow(ctx, `SELECT attempts FROM blob_gc WHERE digest = $1`, d).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("%s updated %d times, want 2", d, n)
			}
		}
	})
}

func TestFormatError(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	domain := modelreg.ModelNotFound("x")
	for _, c := range []struct {
		name string
		ctx  context.Context
		err  error
		code string
	}{
		{"NoRows", live, pgx.ErrNoRows, modelreg.ENOTFOUND},
		{"Domain", live, domain, modelreg.ENOTFOUND},
		{"Unique", live, &pgconn.PgError{Code: "23505"}, modelreg.ECONFLICT},
		{"Syntax", live, &pgconn.PgError{Code: "42601"}, modelreg.EINTERNAL},
		{"UndefinedTable", live, &pgconn.PgError{Code: "42P01"}, modelreg.EINTERNAL},
		{"Serialization", live, &pgconn.PgError{Code: "40001"}, modelreg.EUNAVAILABLE},
		{"Deadlock", live, &pgconn.PgError{Code: "40P01"}, modelreg.EUNAVAILABLE},
		{"StatementTimeout", live, &pgconn.PgError{Code: "57014"}, modelreg.EUNAVAILABLE},
		{"AdminShutdown", live, &pgconn.PgError{Code: "57P01"}, modelreg.EUNAVAILABLE},
		{"CannotConnectNow", live, &pgconn.PgError{Code: "57P03"}, modelreg.EUNAVAILABLE},
		{"TooManyConnections", live, &pgconn.PgError{Code: "53300"}, modelreg.EUNAVAILABLE},
		{"ReadOnly", live, &pgconn.PgError{Code: "25006"}, modelreg.EUNAVAILABLE},
		{"ConnectionFailure", live, &pgconn.PgError{Code: "08006"}, modelreg.EUNAVAILABLE},
		{"EOF", live, fmt.Errorf("read: %w", io.ErrUnexpectedEOF), modelreg.EUNAVAILABLE},
		{"Reset", live, &net.OpError{Op: "read", Err: syscall.ECONNRESET}, modelreg.EUNAVAILABLE},
		{"ConnClosed", live, pgconn.ErrConnClosed, modelreg.EUNAVAILABLE},
		{"OurTimeout", live, context.DeadlineExceeded, modelreg.EUNAVAILABLE},
		{"CallerGone", done, context.Canceled, modelreg.EINTERNAL},
		{"CallerGoneConn", done, io.ErrUnexpectedEOF, modelreg.EINTERNAL},
		{"Other", live, errors.New("boom"), modelreg.EINTERNAL},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := formatError(c.ctx, "postgres.Test", c.err)
			var e *modelreg.Error
			if !errors.As(err, &e) {
				t.Fatalf("formatError = %T %v, want a *modelreg.Error", err, err)
			}
			if e.Code != c.code {
				t.Errorf("code = %s, want %s (%v)", e.Code, c.code, err)
			}
			if e.Op != "postgres.Test" && c.err != error(domain) {
				t.Errorf("op = %q", e.Op)
			}
			if modelreg.ErrorMessage(err) == "" {
				t.Error("no message")
			}
		})
	}
	if formatError(live, "x", nil) != nil {
		t.Error("formatError(nil) != nil")
	}
}

// TestCancelled checks that a call whose context is gone fails with an
// *Error (EINTERNAL, as with SQLite: the caller left, the database is fine).
func TestCancelled(t *testing.T) {
	db := MustOpenDB(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := db.FindModelByID(ctx, "p", "x")
	if _, ok := err.(*modelreg.Error); !ok {
		t.Fatalf("err = %T %v, want *modelreg.Error", err, err)
	}
	if modelreg.ErrorCode(err) != modelreg.EINTERNAL {
		t.Errorf("FindModelByID = %v, want EINTERNAL", err)
	}
	if err := modelreg.DeleteModel(ctx, db, "p", "x"); modelreg.ErrorCode(err) != modelreg.EINTERNAL {
		t.Errorf("DeleteModel = %v, want EINTERNAL", err)
	}
}
