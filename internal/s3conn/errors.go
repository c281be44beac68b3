package s3conn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/minio/minio-go/v7"
)

// Kind classifies an error of an S3 call.
type Kind int

// The kinds of S3 errors.
const (
	KindOther       Kind = iota // anything else: a bug, a refused argument
	KindNotFound                // no such key
	KindNoBucket                // no such bucket
	KindDenied                  // the server refused the credentials or the access
	KindUnreachable             // network, DNS, TLS, or the server is failing (5xx)
	KindCanceled                // the context was canceled or timed out
)

// deniedCodes are the S3 error codes that mean "not with these credentials".
var deniedCodes = map[string]bool{
	"AccessDenied":                 true,
	"AllAccessDisabled":            true,
	"InvalidAccessKeyId":           true,
	"SignatureDoesNotMatch":        true,
	"InvalidToken":                 true,
	"ExpiredToken":                 true,
	"TokenRefreshRequired":         true,
	"AccountProblem":               true,
	"InvalidSecurity":              true,
	"AuthorizationHeaderMalformed": true,
	"XAdminUserNotFound":           true, // versitygw: unknown access key
}

// unavailableCodes are the S3 error codes that mean "try again later".
var unavailableCodes = map[string]bool{
	"InternalError":              true,
	"ServiceUnavailable":         true,
	"SlowDown":                   true,
	"RequestTimeout":             true,
	"XMinioServerNotInitialized": true,
}

// Classify returns the kind of err, an error of a minio-go call.
func Classify(err error) Kind {
	if err == nil {
		return KindOther
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return KindCanceled
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.Code == minio.NoSuchKey:
			return KindNotFound
		case resp.Code == minio.NoSuchBucket:
			return KindNoBucket
		case deniedCodes[resp.Code] || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
			return KindDenied
		case unavailableCodes[resp.Code] || resp.StatusCode >= 500:
			return KindUnreachable
		}
		return KindOther
	}
	var ue *url.Error
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &ue), errors.As(err, &ne), errors.As(err, &oe):
		return KindUnreachable
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return KindUnreachable
	}
	if strings.Contains(err.Error(), "unexpected EOF") {
		return KindUnreachable // the connection closed mid-response
	}
	return KindOther
}

// Reason returns a short description of err, an error of a minio-go call or
// the network, fit for users: "connection refused", "access denied
// (SignatureDoesNotMatch)". It never holds credentials or request URLs.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.Code == minio.NoSuchKey:
			return "no such object"
		case resp.Code == minio.NoSuchBucket:
			return "no such bucket"
		case resp.Code == "AccessDenied":
			return "access denied"
		case deniedCodes[resp.Code]:
			return "access denied (" + resp.Code + ")"
		case resp.Code != "":
			if resp.StatusCode != 0 {
				return resp.Code + " (HTTP " + http.StatusText(resp.StatusCode) + ")"
			}
			return resp.Code
		case resp.StatusCode != 0:
			return "HTTP " + http.StatusText(resp.StatusCode)
		}
	}
	var dns *net.DNSError
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "unknown host " + dns.Name
		}
		return "cannot resolve " + dns.Name
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to host"
	case errors.As(err, &recErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "the server does not speak TLS (for plain http, set insecure)"
	case errors.As(err, &hostErr), errors.As(err, &authErr), errors.As(err, &certErr):
		return "its TLS certificate is not trusted"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	// Peel off url.Error and net.OpError: both name the request.
	for {
		var ue *url.Error
		var oe *net.OpError
		switch {
		case errors.As(err, &ue):
			err = ue.Err
			continue
		case errors.As(err, &oe) && oe.Err != nil:
			err = oe.Err
			continue
		}
		break
	}
	return err.Error()
}
