package worker

import (
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	base, max := time.Second, 10*time.Second
	for n, want := range map[int]time.Duration{0: time.Second, 1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 60: 10 * time.Second} {
		if got := Backoff(base, max, n); got != want {
			t.Errorf("Backoff(%v, %v, %d) = %v, want %v", base, max, n, got, want)
		}
	}
	// A base above max is cut to max.
	if got := Backoff(time.Minute, time.Second, 1); got != time.Second {
		t.Errorf("Backoff(1m, 1s, 1) = %v, want 1s", got)
	}
}

func TestOwner(t *testing.T) {
	pid := os.Getpid()
	for tag, pattern := range map[string]string{
		"":   fmt.Sprintf(`^[^:]+:%d:[0-9a-f]{8}$`, pid),
		"gc": fmt.Sprintf(`^[^:]+:%d:gc-[0-9a-f]{8}$`, pid),
	} {
		a, b := Owner(tag), Owner(tag)
		if !regexp.MustCompile(pattern).MatchString(a) {
			t.Errorf("Owner(%q) = %q, want it to match %s", tag, a, pattern)
		}
		if a == b {
			t.Errorf("Owner(%q) gave %q twice", tag, a)
		}
	}
}

func TestWake(t *testing.T) {
	w := NewWake()
	w.Notify()
	w.Notify() // coalesced; never blocks
	select {
	case <-w:
	default:
		t.Fatal("no wake-up after Notify")
	}
	select {
	case <-w:
		t.Fatal("two wake-ups after two Notify calls: want one")
	default:
	}
}
