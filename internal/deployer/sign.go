// Package deployer is modelreg's HTTP deployer: it tells an orchestrator
// (Kubernetes, Nomad, a team's own controller behind a small adapter) what
// each service should be, from the stores' outbox, and signs and checks
// the messages both ways with a shared secret. The protocol is in
// docs/deployer.md.
package deployer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Headers of a signed message.
const (
	HeaderTimestamp = "X-Modelreg-Timestamp" // Unix seconds
	HeaderSignature = "X-Modelreg-Signature" // hex HMAC-SHA256
)

// MaxSkew is how far a message's timestamp may be from the receiver's
// clock.
const MaxSkew = 5 * time.Minute

// MinSecretLen is the shortest shared secret accepted.
const MinSecretLen = 16

// Signature returns the hex HMAC-SHA256, under secret, of
// "<timestamp>\n<METHOD>\n<path>\n<body>": path is the request path
// without the query.
func Signature(secret []byte, timestamp, method, path string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp + "\n" + method + "\n" + path + "\n"))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Sign sets the timestamp and signature headers of r, whose body is body.
func Sign(r *http.Request, secret []byte, body []byte, now time.Time) {
	ts := strconv.FormatInt(now.Unix(), 10)
	r.Header.Set(HeaderTimestamp, ts)
	r.Header.Set(HeaderSignature, Signature(secret, ts, r.Method, r.URL.Path, body))
}

// Verify checks the signature of r, whose body is body, at now. Its
// errors say what is wrong without echoing the signature.
func Verify(r *http.Request, secret []byte, body []byte, now time.Time) error {
	ts, sig := r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature)
	if ts == "" || sig == "" {
		return errors.New("the message is not signed: " + HeaderTimestamp + " and " + HeaderSignature + " are required")
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New(HeaderTimestamp + " is not a Unix time in seconds")
	}
	if d := now.Sub(time.Unix(secs, 0)); d > MaxSkew || d < -MaxSkew {
		return errors.New(HeaderTimestamp + " is more than 5 minutes off")
	}
	want := Signature(secret, ts, r.Method, r.URL.Path, body)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return errors.New("the signature does not match")
	}
	return nil
}
