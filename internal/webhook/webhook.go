// Package webhook delivers the webhook outbox: it claims due deliveries
// from the store, POSTs each event signed with its webhook's secret, and
// records the outcome, retrying with exponential backoff for 24 hours.
//
// Destinations are checked twice against server-side request forgery:
// when a webhook is created (CheckDestination) and when a connection is
// made (the dialer's Control hook sees the address actually dialled, after
// DNS resolution, so a name that resolves to a private address later — DNS
// rebinding — is refused too). See docs/decisions.md.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/modelreg/modelreg"
)

// Header names of a delivery.
const (
	HeaderEvent     = "X-Modelreg-Event"
	HeaderDelivery  = "X-Modelreg-Delivery"
	HeaderSignature = "X-Modelreg-Signature"
)

// Sign returns the X-Modelreg-Signature value of body: "sha256=" and the
// hex HMAC-SHA256 of body keyed by secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is body's signature with secret (constant
// time): what a receiver does.
func Verify(secret string, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(sig))
}

// sealLabel binds a sealed secret to its webhook.
func sealLabel(id string) string { return "webhook:" + id }

// Seal seals a webhook's secret with sealer; without one (no master key:
// --auth=none) the secret is kept as it is, marked by a 0 byte.
func Seal(sealer modelreg.SecretSealer, id, secret string) []byte {
	if sealer == nil {
		return append([]byte{0}, secret...)
	}
	return sealer.Seal(sealLabel(id), secret)
}

// Open opens a secret Seal sealed.
func Open(sealer modelreg.SecretSealer, id string, sealed []byte) (string, error) {
	if len(sealed) > 0 && sealed[0] == 0 {
		return string(sealed[1:]), nil
	}
	if sealer == nil {
		return "", errors.New("webhook secret sealed with a master key, and the server has none")
	}
	return sealer.Open(sealLabel(id), sealed)
}

// Blocked reports whether ip is an address webhooks may not reach without
// --webhook-allow-private: loopback, link-local (the cloud metadata
// address 169.254.169.254 included), private (RFC 1918, fc00::/7),
// unspecified, multicast, shared address space (100.64.0.0/10) and the
// IPv4 "this network" block, also as IPv4-mapped IPv6 addresses.
func Blocked(ip netip.Addr) bool {
	ip = ip.Unmap()
	return !ip.IsValid() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsPrivate() || ip.IsUnspecified() ||
		cgnat.Contains(ip) || thisNetwork.Contains(ip)
}

var (
	cgnat       = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
)

// errBlocked is the dialer's refusal.
var errBlocked = errors.New("destination address is loopback, link-local or private (--webhook-allow-private allows it)")

// CheckDestination refuses (EINVALID ModelReg.3202) a webhook URL whose
// host is, or resolves to, an address Blocked refuses, unless
// allowPrivate. A name that does not resolve now is accepted: the sender
// checks every address it dials.
func CheckDestination(ctx context.Context, rawURL string, allowPrivate bool) error {
	if allowPrivate {
		return nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return modelreg.Invalid("Invalid parameter url: not a URL.")
	}
	host := u.Hostname()
	refuse := func() error {
		return modelreg.Errorf(modelreg.EINVALID, modelreg.CodeWebhookURL,
			"Webhook destination %s is a loopback, link-local or private address; the server refuses it (--webhook-allow-private).", host)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if Blocked(ip) {
			return refuse()
		}
		return nil
	}
	if host == "localhost" || len(host) > len(".localhost") && host[len(host)-len(".localhost"):] == ".localhost" {
		return refuse()
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if Blocked(a) {
			return refuse()
		}
	}
	return nil
}

// Client returns the HTTP client deliveries go through: no proxy (the
// dialer must see the real destination), no redirects (a 3xx is a failed
// attempt, never a hop to an address nobody checked), and, unless
// allowPrivate, a dialer that refuses blocked addresses after resolution.
func Client(timeout time.Duration, allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || Blocked(ap.Addr()) {
				return errBlocked
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Config configures a Sender.
type Config struct {
	Store  modelreg.WebhookStore
	Sealer modelreg.SecretSealer // nil: secrets were stored unsealed
	// Owner names this sender in leases (unique per process).
	Owner string
	// Client sends the requests; nil means Client(Timeout, AllowPrivate).
	Client       *http.Client
	AllowPrivate bool
	// Timeout bounds one attempt (default 10 s).
	Timeout time.Duration
	// Interval is the pause between polls of an empty queue (default 1 s).
	// With a Store that is a modelreg.DeliveryNotifier, a commit that
	// queues a delivery wakes the sender, so polls only find retries that
	// came due and other processes' deliveries: the pause doubles after
	// each empty poll, up to MaxInterval (default 10 × Interval).
	Interval, MaxInterval time.Duration
	// Gather is how long the sender waits after a commit woke it before it
	// claims (default 100 ms): the deliveries of a burst of changes are
	// claimed and recorded a batch at a time, not one a change.
	Gather time.Duration
	// Batch is the most deliveries one round claims (default 4 × Workers).
	Batch int
	// Workers is how many deliveries are sent at once (default 4).
	Workers int
	// MinBackoff is the pause after the first failure (default 10 s); it
	// doubles with every failure, up to MaxBackoff (default 1 h).
	MinBackoff, MaxBackoff time.Duration
	// Window is how long a delivery is retried (default 24 h).
	Window time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// Sender drains the delivery outbox.
type Sender struct {
	cfg  Config
	wake chan struct{}
}

// New returns a Sender for cfg.
func New(cfg Config) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = Client(cfg.Timeout, cfg.AllowPrivate)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.MaxInterval < cfg.Interval {
		cfg.MaxInterval = 10 * cfg.Interval
	}
	if cfg.Gather <= 0 {
		cfg.Gather = 100 * time.Millisecond
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 4 * cfg.Workers
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 10 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.Window <= 0 {
		cfg.Window = modelreg.WebhookRetryWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("webhook-%s-%d", host, os.Getpid())
	}
	return &Sender{cfg: cfg, wake: make(chan struct{}, 1)}
}

// Wake makes the sender poll now (a change was committed).
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run sends deliveries until ctx ends.
//
// A round claims a batch, sends it and records the attempts in one
// transaction each. Another round follows at once after a full batch;
// otherwise the sender waits: for a commit that queued deliveries (then
// Gather longer, so a burst is taken in batches), for Wake, or for the
// poll interval, which grows while polls find nothing. On SQLite every
// claim and record takes the single writer from the changes; a sender
// that polled or claimed a delivery at a time would slow them.
func (s *Sender) Run(ctx context.Context) error {
	var queued <-chan struct{}
	if n, ok := s.cfg.Store.(modelreg.DeliveryNotifier); ok {
		queued = n.DeliveriesQueued()
	}
	idle := s.cfg.Interval
	t := time.NewTimer(0)
	defer t.Stop()
	reset := func(d time.Duration) {
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(d)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-queued:
			// Gather the burst, then claim (a Wake or the timer may come
			// first; either runs the round).
			reset(s.cfg.Gather)
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			case <-s.wake:
			}
		case <-t.C:
		case <-s.wake:
		}
		n, err := s.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("webhook deliveries", "err", err)
		}
		var wait time.Duration
		switch {
		case n == s.cfg.Batch:
			wait = 0 // a full batch: more may be due
			idle = s.cfg.Interval
		case n > 0 || queued == nil:
			wait = s.cfg.Interval
			idle = s.cfg.Interval
		default:
			wait = idle // nothing due: the next commit wakes us
			idle = min(2*idle, s.cfg.MaxInterval)
		}
		reset(wait)
	}
}

// RunOnce claims one batch of due deliveries, sends them, and returns how
// many it claimed.
func (s *Sender) RunOnce(ctx context.Context) (int, error) {
	// The lease outlasts the round: Batch attempts, Workers at a time,
	// each bounded by Timeout.
	waves := time.Duration((s.cfg.Batch + s.cfg.Workers - 1) / s.cfg.Workers)
	lease := s.cfg.Timeout*(waves+1) + 30*time.Second
	ds, err := s.cfg.Store.ClaimWebhookDeliveries(ctx, s.cfg.Owner, lease, s.cfg.Batch)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, s.cfg.Workers)
	attempts := make([]modelreg.DeliveryAttempt, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			attempts[i] = s.deliver(ctx, d)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return len(ds), nil // shutting down: the leases run out and other attempts follow
	}
	// One transaction for the batch: on SQLite's single writer, a
	// transaction a delivery would compete with the deletes.
	if _, err := s.cfg.Store.FinishWebhookDeliveries(ctx, s.cfg.Owner, attempts); err != nil {
		return len(ds), fmt.Errorf("recording webhook deliveries: %w", err)
	}
	return len(ds), nil
}

// Backoff returns the pause after the attempts-th failed attempt.
func (s *Sender) Backoff(attempts int) time.Duration {
	d := s.cfg.MinBackoff
	for i := 1; i < attempts && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.MaxBackoff)
}

// deliver makes one attempt of d and returns its outcome.
func (s *Sender) deliver(ctx context.Context, d *modelreg.WebhookDelivery) modelreg.DeliveryAttempt {
	code, err := s.send(ctx, d)
	a := modelreg.DeliveryAttempt{ID: d.ID, Status: modelreg.DeliveryDelivered, Code: code, Next: s.cfg.Now()}
	if err != nil {
		a.Error = err.Error()
		if len(a.Error) > 512 {
			a.Error = a.Error[:512]
		}
		a.Next = a.Next.Add(s.Backoff(d.Attempts + 1))
		a.Status = modelreg.DeliveryPending
		if a.Next.After(time.UnixMilli(d.CreatedAt).Add(s.cfg.Window)) {
			a.Status = modelreg.DeliveryFailed
		}
		if ctx.Err() == nil {
			s.cfg.Logger.Info("webhook delivery failed", "delivery", d.ID, "webhook", d.WebhookID, "attempt", d.Attempts+1,
				"status", a.Status, "err", a.Error)
		}
	}
	return a
}

// send POSTs d and returns the receiver's status code.
func (s *Sender) send(ctx context.Context, d *modelreg.WebhookDelivery) (int, error) {
	secret, err := Open(s.cfg.Sealer, d.WebhookID, d.SecretSealed)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "modelreg-webhook/1")
	req.Header.Set(HeaderEvent, d.Action)
	req.Header.Set(HeaderDelivery, d.ID)
	req.Header.Set(HeaderSignature, Sign(secret, d.Payload))
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}
