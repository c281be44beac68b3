package bench

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelreg/modelreg/client"
)

// rssInterval is how often the server's resident memory is sampled.
const rssInterval = 250 * time.Millisecond

// rssSampler samples the server's resident memory from its /metrics
// (process_resident_memory_bytes, the Prometheus process collector), which
// works whatever machine the server runs on.
type rssSampler struct {
	c    *client.Client
	done chan struct{}
	once sync.Once

	mu   sync.Mutex
	peak float64 // since reset, in bytes
}

func newRSSSampler(c *client.Client) *rssSampler {
	s := &rssSampler{c: c, done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *rssSampler) loop() {
	t := time.NewTicker(rssInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		if v, ok := s.sample(); ok {
			s.mu.Lock()
			s.peak = max(s.peak, v)
			s.mu.Unlock()
		}
	}
}

// sample reads the metric once.
func (s *rssSampler) sample() (float64, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var body bytes.Buffer
	if err := s.c.Do(ctx, http.MethodGet, "/metrics", nil, nil, &body); err != nil {
		return 0, false
	}
	for line := range strings.Lines(body.String()) {
		if rest, ok := strings.CutPrefix(line, "process_resident_memory_bytes "); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); err == nil {
				return f, true
			}
		}
	}
	return 0, false
}

// reset starts a new peak.
func (s *rssSampler) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peak = 0
}

// max returns the peak since reset in MiB (0 when nothing was sampled).
func (s *rssSampler) max() float64 {
	if v, ok := s.sample(); ok {
		s.mu.Lock()
		s.peak = max(s.peak, v)
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak / (1 << 20)
}

func (s *rssSampler) stop() { s.once.Do(func() { close(s.done) }) }
