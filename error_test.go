package modelreg_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/modelreg/modelreg"
)

// TestInternal checks what Internal's comment says: a plain error becomes
// EINTERNAL with the operation; an error holding an *Error comes back
// unchanged, its Op included (empty or not).
func TestInternal(t *testing.T) {
	if modelreg.Internal("op", nil) != nil {
		t.Error("Internal(nil) is not nil")
	}
	cause := errors.New("disk on fire")
	var e *modelreg.Error
	if err := modelreg.Internal("sqlite.Op", cause); !errors.As(err, &e) || e.Code != modelreg.EINTERNAL || e.APICode != modelreg.CodeInternal || e.Op != "sqlite.Op" || e.Err != cause {
		t.Errorf("Internal(plain) = %#v", err)
	}
	for _, op := range []string{"", "made.here"} {
		inner := &modelreg.Error{Code: modelreg.ENOTFOUND, APICode: modelreg.CodeModelNotFound, Message: "gone", Op: op}
		wrapped := fmt.Errorf("context: %w", inner)
		if got := modelreg.Internal("other.Op", wrapped); got != wrapped {
			t.Errorf("Internal(%v) = %v, want it unchanged", wrapped, got)
		}
		if inner.Op != op {
			t.Errorf("Internal changed Op %q to %q", op, inner.Op)
		}
	}
}
