package modelreg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// DeleteOptions are what a delete call asks beyond ModelArts (ARCHITECTURE
// §4a). The zero value is the ModelArts delete.
type DeleteOptions struct {
	// DryRun computes the whole delete in its transaction and rolls it
	// back: the result is the real call's, nothing changes.
	DryRun bool
	// IfMatch, when not nil, is the If-Match list (ETags, or "*") the
	// first model of the call (the target) must match when the delete
	// runs: EPRECONDITION ModelReg.0412 otherwise, and nothing changes.
	IfMatch []string
	// Trash, when > 0, moves each deleted model into the trash, to be
	// purged Trash later, rather than deleting it.
	Trash time.Duration
	// Actor is who deletes (a user id; "" without authentication).
	Actor string
}

// MaxProtectionReason is the longest protection reason, in characters.
const MaxProtectionReason = 256

// ModelProtection says whether a model may be deleted, why, who set it and
// when. A model never protected reads as not protected, with an empty
// reason, updated_at 0 and an empty updated_by.
type ModelProtection struct {
	ModelID   string `json:"model_id"`
	Protected bool   `json:"protected"`
	Reason    string `json:"reason"`
	UpdatedAt int64  `json:"updated_at"` // ms since the epoch
	UpdatedBy string `json:"updated_by"`
}

// ProtectionUpdate is the body of PUT …/models/{id}/protection.
type ProtectionUpdate struct {
	Protected *bool   `json:"protected"`
	Reason    *string `json:"reason"`
}

// Validate checks the body: protected is required, reason at most
// MaxProtectionReason characters of text.
func (u *ProtectionUpdate) Validate() error {
	if u.Protected == nil {
		return ParamRequired("protected")
	}
	if u.Reason != nil {
		r := *u.Reason
		if !utf8.ValidString(r) || strings.ContainsFunc(r, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			return ParamInvalid("reason", "must be text without control characters")
		}
		if utf8.RuneCountInString(r) > MaxProtectionReason {
			return ParamInvalid("reason", "longer than 256 characters")
		}
	}
	return nil
}

// ProtectionStore keeps the protection of models, live or in the trash.
type ProtectionStore interface {
	// SetModelProtection sets the protection of a model of the project,
	// live or in the trash, stamping UpdatedAt with the store's time, and
	// returns it. Returns ENOTFOUND ModelArts.3001.
	SetModelProtection(ctx context.Context, projectID string, p ModelProtection) (*ModelProtection, error)

	// FindModelProtection returns the protection of a model of the
	// project, live or in the trash. Returns ENOTFOUND ModelArts.3001.
	FindModelProtection(ctx context.Context, projectID, id string) (*ModelProtection, error)
}

// ETag returns the strong entity tag of a resource's details: a hash of
// their JSON encoding, so it changes whenever anything in them does.
func ETag(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // Model and Service always encode
	}
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// MatchETag reports whether an If-Match list holds for a resource that
// exists with etag: "*" matches any, otherwise a strong comparison.
func MatchETag(ifMatch []string, etag string) bool {
	return slices.Contains(ifMatch, "*") || slices.Contains(ifMatch, etag)
}
