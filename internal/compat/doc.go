// Package compat proves that a client nobody here wrote works against
// modelreg unchanged: the Huawei Cloud SDK core
// (github.com/huaweicloud/huaweicloud-sdk-go-v3/core), with its own signer,
// transport, project lookup and error parsing, drives every model and
// service endpoint and the IAM token, project and access key routes of a
// real server.
//
// The SDK ships no definitions of the ModelArts v1 model and service
// operations, so the tests write them (defs_test.go), the way the SDK's
// generated service packages do. The package has no non-test code; the
// SDK is a test dependency only.
package compat
