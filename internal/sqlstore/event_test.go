package sqlstore

import (
	"testing"
	"time"

	"github.com/modelreg/modelreg"
)

func TestEventIDCarriesSeq(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_123)
	for _, seq := range []int64{1, 255, 1 << 40, 1<<48 - 1} {
		id := EventID(now, seq)
		if !modelreg.ValidID(id) {
			t.Errorf("EventID(%d) = %q: not a valid id", seq, id)
		}
		if got, ok := EventSeq(id); !ok || got != seq {
			t.Errorf("EventSeq(%q) = %d, %v; want %d", id, got, ok, seq)
		}
		if later := EventID(now.Add(time.Millisecond), 1); later <= id {
			t.Errorf("id of a later millisecond %q sorts before %q", later, id)
		}
	}
	if _, ok := EventSeq("not an id"); ok {
		t.Error("EventSeq accepted a non-id")
	}
}
