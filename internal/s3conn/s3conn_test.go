package s3conn

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		kind Kind
		want string
	}{
		{minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}, KindNotFound, "no such object"},
		{minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}, KindNoBucket, "no such bucket"},
		{minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, KindDenied, "access denied"},
		{minio.ErrorResponse{Code: "SignatureDoesNotMatch", StatusCode: 403}, KindDenied, "access denied (SignatureDoesNotMatch)"},
		{minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, KindUnreachable, "SlowDown (HTTP Service Unavailable)"},
		{minio.ErrorResponse{Code: "InvalidArgument", StatusCode: 400}, KindOther, "InvalidArgument (HTTP Bad Request)"},
		{&net.DNSError{Name: "nowhere.invalid", IsNotFound: true}, KindUnreachable, "unknown host nowhere.invalid"},
		{context.Canceled, KindCanceled, "canceled"},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.kind {
			t.Errorf("Classify(%v) = %d, want %d", tt.err, got, tt.kind)
		}
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestCheckBucket(t *testing.T) {
	for _, name := range []string{"abc", "my.bucket-1", "b12", strings.Repeat("a", 63)} {
		if err := CheckBucket(name); err != nil {
			t.Errorf("CheckBucket(%q): %v", name, err)
		}
	}
	for name, msg := range map[string]string{
		"":                      "3 to 63",
		"ab":                    "3 to 63",
		strings.Repeat("a", 64): "3 to 63",
		"Bucket":                "lower-case",
		"my_bucket":             "lower-case",
		"a@b.c":                 "lower-case",
		"-bucket":               "start and end",
		"bucket.":               "start and end",
		"a..b":                  "two dots",
	} {
		err := CheckBucket(name)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("CheckBucket(%q) = %v, want an error mentioning %q", name, err, msg)
		}
	}
}

func TestEndpoint(t *testing.T) {
	if got := (Endpoint{Host: "h:9000", Insecure: true}).URL(); got != "http://h:9000" {
		t.Errorf("URL() = %q", got)
	}
	if got := (Endpoint{Host: "obs.example.com"}).URL(); got != "https://obs.example.com" {
		t.Errorf("URL() = %q", got)
	}
	for _, ep := range []Endpoint{
		{Host: "obs.example.com"}, {Host: "127.0.0.1:9000", Insecure: true, Style: "path"}, {Host: "[::1]:9000"},
		{Host: "h", AccessKey: "AK", SecretKey: "SK", Style: "virtual"},
	} {
		if err := ep.Validate(); err != nil {
			t.Errorf("%+v.Validate(): %v", ep, err)
		}
		if _, err := ep.NewClient(); err != nil {
			t.Errorf("%+v.NewClient(): %v", ep, err)
		}
	}
	for _, ep := range []Endpoint{
		{}, {Host: "http://h"}, {Host: "h/p"}, {Host: "u@h"}, {Host: "h:0"}, {Host: "h:x"},
		{Host: "h", Style: "dns"}, {Host: "h", SecretKey: "SK"},
	} {
		if err := ep.Validate(); err == nil {
			t.Errorf("%+v.Validate() succeeded", ep)
		}
		if _, err := ep.NewClient(); err == nil {
			t.Errorf("%+v.NewClient() succeeded", ep)
		}
	}
}
