package modelreg

import (
	"encoding/base64"
	"encoding/json"
)

// ModelCursor is a position in a sorted model list: the sort, and the sort
// key and id of the last model of a page. A keyset page starts right after
// it, so reading page n costs the same whatever n is, where an offset page
// costs the records it skips.
type ModelCursor struct {
	SortBy string `json:"s"` // create_at, model_version or model_size
	Order  string `json:"o"` // asc or desc
	Key    int64  `json:"k"` // the sort key of the model (see SortKey)
	ID     string `json:"i"` // the id of the model, which breaks ties
}

// Encode returns the cursor as an opaque marker: base64url (unpadded) of a
// small JSON document. Clients must not build or parse markers.
func (c ModelCursor) Encode() string {
	b, _ := json.Marshal(c) // cannot fail: strings and an int
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeModelCursor parses a marker made by Encode. Anything else is an
// EINVALID ModelArts.0101 naming the marker parameter.
func DecodeModelCursor(marker string) (ModelCursor, error) {
	bad := Invalid("Invalid parameter marker: not a marker returned by this server.")
	if len(marker) > 256 {
		return ModelCursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(marker)
	if err != nil {
		return ModelCursor{}, bad
	}
	var c ModelCursor
	if err := json.Unmarshal(b, &c); err != nil {
		return ModelCursor{}, bad
	}
	if _, ok := oneOf(c.SortBy, []string{ModelSortCreateAt, ModelSortVersion, ModelSortSize}, false); !ok {
		return ModelCursor{}, bad
	}
	if c.Order != "asc" && c.Order != "desc" {
		return ModelCursor{}, bad
	}
	if !ValidID(c.ID) {
		return ModelCursor{}, bad
	}
	return c, nil
}
