package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile is the file in the data dir that a server using SQLite holds
// an exclusive lock on while it runs; it holds the server's pid.
const LockFile = "modelreg.lock"

// errLocked is returned by tryLock when another process holds the lock.
var errLocked = errors.New("locked")

// dirLock is a held lock; Release it.
type dirLock struct {
	files []*os.File
}

// Release releases the locks (closing the file releases the lock) and
// leaves the files: removing them would race a server starting now.
func (l *dirLock) Release() {
	for _, f := range l.files {
		f.Close()
	}
}

// lockTarget is a lock file and what it protects.
type lockTarget struct{ path, what string }

// lockPaths returns the lock files a SQLite server holds: LockFile in the
// data dir (the blobs, the uploads' staging) and <database>.lock next to
// the database, which may be elsewhere: two servers with different data
// dirs must not share one database either.
func lockPaths(cfg Config) []lockTarget {
	return []lockTarget{
		{filepath.Join(cfg.DataDir, LockFile), "the data dir " + cfg.DataDir},
		{cfg.Database + ".lock", "the database " + cfg.Database},
	}
}

// lockStore takes the exclusive locks of a server using SQLite: a SQLite
// file and its data dir (the blobs, the uploads' staging) serve one
// process, which releases every lease left in them at start. A second
// server on the same data dir or database fails at once, naming the
// process that holds it. With PostgreSQL nothing is locked: replicas share
// the database by design.
func lockStore(cfg Config) (*dirLock, error) {
	l := &dirLock{}
	if cfg.sharedDatabase() {
		return l, nil
	}
	for _, t := range lockPaths(cfg) {
		path := t.path
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			l.Release()
			return nil, fmt.Errorf("opening the lock file: %w", err)
		}
		if err := tryLock(f); err != nil {
			f.Close()
			l.Release()
			if !errors.Is(err, errLocked) {
				return nil, fmt.Errorf("locking %s: %w", path, err)
			}
			return nil, lockedError(t)
		}
		// The pid is for the message of the next server; the lock is what
		// counts.
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
		l.files = append(l.files, f)
	}
	return l, nil
}

// lockedError describes a lock held by another server.
func lockedError(t lockTarget) error {
	who := "another process"
	if b, err := os.ReadFile(t.path); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			who = fmt.Sprintf("another modelreg server (pid %d)", pid)
		}
	}
	return fmt.Errorf("%s is using %s (it holds the lock on %s); a SQLite database and its data dir serve one server: stop that one, or give this one another --data-dir",
		who, t.what, t.path)
}
