package modelreg

import (
	"errors"
	"fmt"
)

// Internal error codes. They classify a failure for the HTTP layer (which maps
// each to one status) and for programs; they are wire-stable: only add to
// this list.
const (
	EINVALID      = "invalid"       // bad input: 400
	ENOTFOUND     = "not_found"     // unknown resource: 404
	ECONFLICT     = "conflict"      // duplicate or state conflict: 409
	EUNAUTHORIZED = "unauthorized"  // missing or bad credentials: 401
	EFORBIDDEN    = "forbidden"     // credentials valid, access refused: 403
	ETOOLARGE     = "too_large"     // request body over the limit: 413
	ERATELIMIT    = "rate_limited"  // too many requests: 429
	EUNAVAILABLE  = "unavailable"   // dependency down, retry later: 503
	EINTERNAL     = "internal"      // a bug or an unexpected failure: 500
	ESTATE        = "invalid_state" // the resource's state forbids the operation: 400
	// EPRECONDITION: an If-Match precondition does not hold: 412.
	EPRECONDITION = "precondition_failed"
)

// ModelArts error codes used by modelreg. The full table lives in the
// ModelArts reference; these are the ones the service returns. Every code
// modelreg puts on the wire is named in this file, and the server uses the
// names; only tests that check the wire format spell codes out.
const (
	CodeInternal          = "ModelArts.0010" // internal error
	CodeInvalidArgument   = "ModelArts.0101" // bad path or query parameter
	CodeProjectMismatch   = "ModelArts.0210" // URL project does not match the credential
	CodeModelNotFound     = "ModelArts.3001" // model does not exist
	CodeModelExists       = "ModelArts.3002" // (name, version) already exists
	CodeModelDeployed     = "ModelArts.3009" // model referenced by a service
	CodeConfigInvalid     = "ModelArts.3015" // config.json does not conform
	CodeConfigUnsupported = "ModelArts.3016" // config.json field, type or format unsupported
	CodeSourceInvalid     = "ModelArts.3017" // source_location not compliant
	CodeParamRequired     = "ModelArts.3036" // required body parameter missing
	CodeParamInvalid      = "ModelArts.3037" // body parameter invalid
	CodeFileTooLarge      = "ModelArts.3044" // a model file is over the size limit
	CodePublishFailed     = "ModelArts.3006" // publishing failed
	CodeServiceNotFound   = "ModelArts.3502" // service does not exist
	CodeServiceExists     = "ModelArts.3503" // service name already exists
	CodeServiceModelGone  = "ModelArts.3507" // model of a service config does not exist
	CodeModelPublishing   = "ModelArts.3515" // model still publishing, cannot deploy
	CodeDuplicateVersion  = "ModelArts.3516" // same model version twice in a config
	CodeServiceState      = "ModelArts.3519" // service state forbids the update
	CodeModelAbnormal     = "ModelArts.3078" // model status abnormal (failed import)
	CodeRequestTooLarge   = "ModelArts.0104" // parameter error: body too large
	CodeClusterNotFound   = "ModelArts.3547" // cluster (dedicated pool) does not exist
	CodeFlavorNotFound    = "ModelArts.3954" // resource specification does not exist
	CodeMonitorFailed     = "ModelArts.3508" // monitoring query failed
)

// ModelArts codes of authentication and authorisation. Which failure gets
// which code is recorded in docs/decisions.md ("Authentication").
const (
	CodeTokenMissing     = "ModelArts.0201" // no credential at all: 401
	CodeTokenExpired     = "ModelArts.0202" // X-Auth-Token expired: 401
	CodeTokenInvalid     = "ModelArts.0203" // X-Auth-Token unknown, revoked or malformed: 401
	CodeNoProjectScope   = "ModelArts.0204" // a token request without a project scope: 400
	CodeNoAuthorization  = "ModelArts.0205" // X-Sdk-Date without an Authorization header: 401
	CodeAKSKInvalid      = "ModelArts.0206" // malformed Authorization, unknown or revoked AK: 401
	CodeAuthCheckFailed  = "ModelArts.0208" // wrong signature, clock skew, wrong password: 401
	CodeNotAuthorized    = "ModelArts.0108" // not allowed to perform the operation: 403
	CodeResourceNotFound = "ModelArts.0015" // the resource does not exist: 404
	CodeBusy             = "ModelArts.6101" // too many requests (or failed authentications): 429
)

// modelreg's own codes (ARCHITECTURE §4a), in the ModelArts body shape.
const (
	CodePreconditionFailed = "ModelReg.0412" // If-Match does not hold
	CodeModelProtected     = "ModelReg.3101" // model protected against deletion
	CodeWebhookNotFound    = "ModelReg.3201" // webhook does not exist
	CodeWebhookURL         = "ModelReg.3202" // webhook destination refused (private, loopback, …)
	CodePolicyNotFound     = "ModelReg.3301" // cleanup policy does not exist
)

// Error is the one error type of modelreg. Code classifies it, APICode is the
// ModelArts code a client sees, Message is safe to show to users. Op and Err
// are for logs only and never leave the server.
type Error struct {
	Code    string // one of the E* constants
	APICode string // "ModelArts.NNNN"
	Message string // safe for users
	Op      string // "sqlite.DeleteModel"
	Err     error  // underlying cause
}

// Error implements the error interface.
func (e *Error) Error() string {
	s := e.Message
	if e.APICode != "" {
		s = e.APICode + ": " + s
	}
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given codes and a formatted message.
func Errorf(code, apiCode, format string, args ...any) *Error {
	return &Error{Code: code, APICode: apiCode, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected error as EINTERNAL with an operation name.
// An error that already holds an *Error is returned unchanged, Op
// included: the *Error may be shared, and its Op names where it was made.
func Internal(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Code: EINTERNAL, APICode: CodeInternal, Message: "Internal error.", Op: op, Err: err}
}

// ErrorCode returns the internal code of err: the Code of the first *Error in
// its chain, "" for nil, and EINTERNAL for anything else.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorAPICode returns the ModelArts code of err (ModelArts.0010 for
// anything that is not an *Error).
func ErrorAPICode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) && e.APICode != "" {
		return e.APICode
	}
	return CodeInternal
}

// ErrorMessage returns the user-safe message of err, "Internal error." for
// anything that is not an *Error.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "Internal error."
}

// Invalid returns a 400 error naming a path or query parameter (ModelArts.0101).
func Invalid(format string, args ...any) *Error {
	return Errorf(EINVALID, CodeInvalidArgument, format, args...)
}

// ParamRequired returns the ModelArts.3036 error for a missing body field.
func ParamRequired(field string) *Error {
	return Errorf(EINVALID, CodeParamRequired, "Parameter verification failed, parameter (%s) is required.", field)
}

// ParamInvalid returns the ModelArts.3037 error for a bad body field.
func ParamInvalid(field, why string) *Error {
	return Errorf(EINVALID, CodeParamInvalid, "Parameter (%s:%s) is invalid.", field, why)
}

// ModelNotFound returns the ModelArts.3001 error for model id.
func ModelNotFound(id string) *Error {
	return Errorf(ENOTFOUND, CodeModelNotFound, "Model (%s) does not exist.", id)
}

// ModelDeployed returns the ModelArts.3009 error for model id.
func ModelDeployed(id string) *Error {
	return Errorf(ECONFLICT, CodeModelDeployed, "Failed to delete model, model (%s) already deploy service.", id)
}

// ModelProtected returns the ModelReg.3101 error for model id, protected
// with reason.
func ModelProtected(id, reason string) *Error {
	if reason == "" {
		reason = "no reason given"
	}
	return Errorf(ECONFLICT, CodeModelProtected, "Model (%s) is protected against deletion: %s.", id, reason)
}

// PreconditionFailed returns the ModelReg.0412 error of an If-Match that
// does not hold for the resource what names.
func PreconditionFailed(what string) *Error {
	return Errorf(EPRECONDITION, CodePreconditionFailed,
		"The precondition If-Match does not hold: %s changed since its ETag was read.", what)
}

// ServiceNotFound returns the ModelArts.3502 error for service id.
func ServiceNotFound(id string) *Error {
	return Errorf(ENOTFOUND, CodeServiceNotFound, "Service %s does not exist.", id)
}

// ServiceExists returns the ModelArts.3503 error for a service name taken
// in the project.
func ServiceExists(name string) *Error {
	return Errorf(ECONFLICT, CodeServiceExists, "Service %s already exists.", name)
}

// ServiceModelGone returns the ModelArts.3507 error for a service config
// naming model id, which does not exist in the project.
func ServiceModelGone(id string) *Error {
	return Errorf(ENOTFOUND, CodeServiceModelGone, "Model %s does not exist.", id)
}

// DuplicateVersion returns the ModelArts.3516 error of a service config
// naming one model twice.
func DuplicateVersion() *Error {
	return Errorf(EINVALID, CodeDuplicateVersion,
		"Failed to deploy services because the version of the model that is used for deploying services is the same.")
}
