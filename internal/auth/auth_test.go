package auth_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelreg/modelreg/internal/auth"
)

func TestParseAuthorization(t *testing.T) {
	sig := strings.Repeat("ab", 32)
	for _, tt := range []struct {
		in   string
		want *auth.Authorization
	}{
		{"SDK-HMAC-SHA256 Access=AK123456, SignedHeaders=host;x-sdk-date, Signature=" + sig,
			&auth.Authorization{AccessKey: "AK123456", SignedHeaders: []string{"host", "x-sdk-date"}, Signature: sig}},
		{"SDK-HMAC-SHA256 Signature=" + strings.ToUpper(sig) + ",SignedHeaders=x-sdk-date,  Access=AK123456",
			&auth.Authorization{AccessKey: "AK123456", SignedHeaders: []string{"x-sdk-date"}, Signature: sig}},
		{"", nil},
		{"SDK-HMAC-SHA256", nil},
		{"sdk-hmac-sha256 Access=AK123456, SignedHeaders=host, Signature=" + sig, nil},
		{"SDK-HMAC-SM3 Access=AK123456, SignedHeaders=host, Signature=" + sig, nil},
		{"SDK-HMAC-SHA256 Access=AK123456, SignedHeaders=host", nil},
		{"SDK-HMAC-SHA256 Access=AK123456, Access=AK123456, SignedHeaders=host, Signature=" + sig, nil},
		{"SDK-HMAC-SHA256 Access=AK123456, SignedHeaders=host, Signature=" + sig + ", Extra=1", nil},
		{"SDK-HMAC-SHA256 Access=AK 123456, SignedHeaders=host, Signature=" + sig, nil},
		{"SDK-HMAC-SHA256 Access=AK123456, SignedHeaders=Host, Signature=" + sig, nil},
		{"SDK-HMAC-SHA256 Access=AK123456, SignedHeaders=host;;x, Signature=" + sig, nil},
		{"SDK-HMAC-SHA256 Access=AK123456, SignedHeaders=host;host, Signature=" + sig, nil},
		{"SDK-HMAC-SHA256 Access=AK123456, SignedHeaders=host, Signature=" + sig[:62], nil},
		{"SDK-HMAC-SHA256 Access=AK123456, SignedHeaders=host, Signature=" + strings.Repeat("zz", 32), nil},
		{"SDK-HMAC-SHA256 Credential=AK123456/20150907//ec2/sdk_request, SignedHeaders=host, Signature=" + sig, nil},
		{"SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature=" + sig, nil},
	} {
		got, err := auth.ParseAuthorization(tt.in)
		if tt.want == nil {
			if err == nil {
				t.Errorf("ParseAuthorization(%q) = %+v, want an error", tt.in, got)
			} else if strings.Contains(err.Error(), sig) {
				t.Errorf("the error echoes the header: %v", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseAuthorization(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseAuthorization(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestKeyring(t *testing.T) {
	k1, err := auth.NewKeyring(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := auth.NewKeyring(bytes.Repeat([]byte{2}, 32))
	sealed := k1.Seal("AK1", "the secret key")
	if bytes.Contains(sealed, []byte("the secret key")) {
		t.Fatal("the secret is in clear")
	}
	if again := k1.Seal("AK1", "the secret key"); bytes.Equal(sealed, again) {
		t.Error("two seals of one secret are equal: the nonce is not random")
	}
	if sk, err := k1.Open("AK1", sealed); err != nil || sk != "the secret key" {
		t.Errorf("Open = %q, %v", sk, err)
	}
	if _, err := k2.Open("AK1", sealed); err == nil {
		t.Error("another master key opened it")
	}
	if _, err := k1.Open("AK2", sealed); err == nil {
		t.Error("the secret of AK1 opened as AK2's")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := k1.Open("AK1", sealed); err == nil {
		t.Error("an altered seal opened")
	}
	for _, bad := range [][]byte{nil, {1}, {9, 1, 2, 3}} {
		if _, err := k1.Open("AK1", bad); err == nil {
			t.Errorf("Open(%v) succeeded", bad)
		}
	}
	if _, err := auth.NewKeyring(make([]byte, 16)); err == nil {
		t.Error("a 16-byte master key was accepted")
	}
}

func TestMasterKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xab}, 32)
	for _, s := range []string{hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw), " " + hex.EncodeToString(raw) + "\n"} {
		got, err := auth.ParseMasterKey(s)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("ParseMasterKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "short", hex.EncodeToString(raw[:16]), base64.StdEncoding.EncodeToString(raw[:31])} {
		if _, err := auth.ParseMasterKey(s); err == nil {
			t.Errorf("ParseMasterKey(%q) succeeded", s)
		}
	}

	dir := t.TempDir()
	k1, created, err := auth.LoadMasterKey("", dir)
	if err != nil || !created || len(k1) != 32 {
		t.Fatalf("first load: %x %v %v", k1, created, err)
	}
	fi, err := os.Stat(filepath.Join(dir, auth.MasterKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master.key: %v %v", fi, err)
	}
	k2, created, err := auth.LoadMasterKey("", dir)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Errorf("second load: %x %v %v", k2, created, err)
	}
	k3, created, err := auth.LoadMasterKey(hex.EncodeToString(raw), dir)
	if err != nil || created || !bytes.Equal(k3, raw) {
		t.Errorf("from the environment: %x %v %v", k3, created, err)
	}
	if _, _, err := auth.LoadMasterKey("not a key", dir); err == nil || strings.Contains(err.Error(), "not a key") {
		t.Errorf("a bad MODELREG_MASTER_KEY: %v", err)
	}
}

func TestPassword(t *testing.T) {
	h, err := auth.HashPassword("correct horse", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "pbkdf2-sha256$1000$") || strings.Contains(h, "correct horse") {
		t.Errorf("hash %q", h)
	}
	if !auth.CheckPassword(h, "correct horse") {
		t.Error("the right password does not match")
	}
	for _, wrong := range []string{"", "correct horse ", "Correct horse"} {
		if auth.CheckPassword(h, wrong) {
			t.Errorf("%q matches", wrong)
		}
	}
	if h2, _ := auth.HashPassword("correct horse", 1000); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, bad := range []string{"", "plain", "pbkdf2-sha256$x$a$b", "pbkdf2-sha256$99999999$YQ$YQ", "bcrypt$1$a$b", "pbkdf2-sha256$1000$!!$YQ"} {
		if auth.CheckPassword(bad, "x") {
			t.Errorf("malformed hash %q matched", bad)
		}
	}
}

func TestRandomCredentials(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		ak, sk, pw := auth.NewAccessKey(), auth.NewSecretKey(), auth.NewPassword()
		tok, hash := auth.NewToken()
		if len(ak) != 20 || strings.ToUpper(ak) != ak || len(sk) != 40 || len(pw) != 20 || !strings.HasPrefix(tok, "mrt_") ||
			len(tok) != 47 || hash != auth.HashToken(tok) || len(hash) != 64 {
			t.Fatalf("ak %q sk %q pw %q token %q hash %q", ak, sk, pw, tok, hash)
		}
		for _, s := range []string{ak, sk, tok} {
			if seen[s] {
				t.Fatalf("%q drawn twice", s)
			}
			seen[s] = true
		}
	}
}

func TestLimiter(t *testing.T) {
	l := auth.NewLimiter(auth.LimiterConfig{AddrRate: 1, AddrBurst: 2, KeyRate: 0.5, KeyBurst: 1, MaxEntries: 2})
	t0 := time.Date(2024, 3, 8, 12, 0, 0, 0, time.UTC)
	if w := l.Wait(t0, "1.2.3.4", "k"); w != 0 {
		t.Fatalf("a new client waits %v", w)
	}
	l.Fail(t0, "1.2.3.4", "k")
	if w := l.Wait(t0, "1.2.3.4", "k"); w != 2*time.Second {
		t.Errorf("after a failure the key waits %v, want 2s", w)
	}
	if w := l.Wait(t0, "1.2.3.4", "other"); w != 0 {
		t.Errorf("another key waits %v", w)
	}
	l.Fail(t0, "1.2.3.4", "other")
	if w := l.Wait(t0, "1.2.3.4", ""); w != time.Second {
		t.Errorf("the address waits %v, want 1s", w)
	}
	if w := l.Wait(t0.Add(time.Second), "1.2.3.4", ""); w != 0 {
		t.Errorf("the address waits %v after refilling", w)
	}
	if w := l.Wait(t0, "5.6.7.8", ""); w != 0 {
		t.Errorf("another address waits %v", w)
	}
	// Past MaxEntries, refilled buckets are dropped to make room, and a
	// new key is not tracked while the others are still draining.
	l.Fail(t0, "9.9.9.9", "third")
	if w := l.Wait(t0, "", "third"); w != 0 {
		t.Errorf("an untracked key waits %v", w)
	}
	later := t0.Add(time.Hour)
	l.Fail(later, "9.9.9.9", "fourth")
	if w := l.Wait(later, "", "fourth"); w == 0 {
		t.Error("after the sweep the new key is not tracked")
	}
}

// TestLimiterGuess checks WaitGuess: a guess waits while the address's or
// the key's bucket is empty, except from an address known for the key,
// which has a bucket of its own; a known address is forgotten after
// KnownTTL.
func TestLimiterGuess(t *testing.T) {
	l := auth.NewLimiter(auth.LimiterConfig{AddrRate: 1, AddrBurst: 5, KeyRate: 0.5, KeyBurst: 2, KnownTTL: time.Hour})
	t0 := time.Date(2024, 3, 8, 12, 0, 0, 0, time.UTC)
	l.Succeed(t0, "10.0.0.1", "user:a")
	l.Fail(t0, "10.0.0.2", "user:a")
	l.Fail(t0, "10.0.0.3", "user:a")
	if w := l.WaitGuess(t0, "10.0.0.4", "user:a"); w != 2*time.Second {
		t.Errorf("a new address waits %v, want 2s", w)
	}
	if w := l.WaitGuess(t0, "10.0.0.1", "user:a"); w != 0 {
		t.Errorf("the known address waits %v", w)
	}
	// Failures from the known address drain the pair's bucket too.
	l.Fail(t0, "10.0.0.1", "user:a")
	l.Fail(t0, "10.0.0.1", "user:a")
	if w := l.WaitGuess(t0, "10.0.0.1", "user:a"); w == 0 {
		t.Error("the known address guesses on after failing twice")
	}
	if w := l.WaitGuess(t0, "10.0.0.1", "user:b"); w != 0 {
		t.Errorf("another key waits %v", w)
	}
	// Known for an hour only.
	later := t0.Add(2 * time.Hour)
	l.Fail(later, "10.0.0.2", "user:a")
	l.Fail(later, "10.0.0.2", "user:a")
	if w := l.WaitGuess(later, "10.0.0.1", "user:a"); w == 0 {
		t.Error("the address is still known after KnownTTL")
	}
}
