package modelreg

import "testing"

func TestModelCursorRoundTrip(t *testing.T) {
	c := ModelCursor{SortBy: ModelSortSize, Order: "asc", Key: -5, ID: NewID()}
	got, err := DecodeModelCursor(c.Encode())
	if err != nil || got != c {
		t.Fatalf("DecodeModelCursor(Encode(%+v)) = %+v, %v", c, got, err)
	}
	for _, bad := range []string{"", "x", "e30", ModelCursor{SortBy: "name", Order: "asc", ID: NewID()}.Encode(),
		ModelCursor{SortBy: "size", Order: "up", ID: NewID()}.Encode(), ModelCursor{SortBy: ModelSortSize, Order: "asc", ID: "x"}.Encode()} {
		if _, err := DecodeModelCursor(bad); ErrorAPICode(err) != CodeInvalidArgument {
			t.Errorf("DecodeModelCursor(%q) = %v, want ModelArts.0101", bad, err)
		}
	}
}

// FuzzDecodeModelCursor checks that any marker either is refused with
// ModelArts.0101 or decodes to a cursor that encodes back to a marker
// decoding to the same cursor.
func FuzzDecodeModelCursor(f *testing.F) {
	f.Add(ModelCursor{SortBy: ModelSortCreateAt, Order: "desc", Key: 1709294400000, ID: "0b0f5d6e-3c8a-4f6b-9d2e-1a2b3c4d5e6f"}.Encode())
	f.Add("eyJzIjoiY3JlYXRlX2F0In0")
	f.Add("")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, marker string) {
		c, err := DecodeModelCursor(marker)
		if err != nil {
			if ErrorAPICode(err) != CodeInvalidArgument {
				t.Fatalf("error %v is not ModelArts.0101", err)
			}
			return
		}
		again, err := DecodeModelCursor(c.Encode())
		if err != nil || again != c {
			t.Fatalf("%+v re-encoded decodes to %+v, %v", c, again, err)
		}
	})
}
