// Package worker holds what the background workers share: the import
// runner (internal/importer) and the blob collector (internal/collector)
// both lease work from the database under an owner name, retry failed work
// after an exponential backoff, and wait for work between passes until
// woken.
package worker

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// Owner returns a lease owner name unique to this process, for the
// replicas sharing a database: "host:pid:tag-random", or "host:pid:random"
// when tag is "". The host is "modelreg" when it cannot be found.
func Owner(tag string) string {
	host, _ := os.Hostname()
	if host == "" {
		host = "modelreg"
	}
	var b [4]byte
	rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	if tag != "" {
		suffix = tag + "-" + suffix
	}
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), suffix)
}

// Backoff returns the delay before the next try after n consecutive
// failures: base after at most one, then 2×base, 4×base… never more than
// max.
func Backoff(base, max time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// Wake tells an idle worker to look for work now. Receiving from it is the
// wake-up; waking never blocks, and wake-ups that come while one is
// pending are one.
type Wake chan struct{}

// NewWake returns a Wake ready for use.
func NewWake() Wake { return make(Wake, 1) }

// Notify wakes the worker, or does nothing when a wake-up is pending.
func (w Wake) Notify() {
	select {
	case w <- struct{}{}:
	default:
	}
}
