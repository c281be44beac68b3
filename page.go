package modelreg

import (
	"slices"
	"strings"
)

// Sort orders of a list.
const (
	OrderAsc  = "asc"
	OrderDesc = "desc"
)

// Page is the paging and order of a list: which page, how long, which way.
// Every list filter embeds one, and the filter's Validate validates it
// (Page.validate, the only place list paging is checked); a store trusts a
// validated Page: Limit in 1..MaxListLimit, Skip within an int32, SortBy
// one of the list's keys, Order OrderAsc or OrderDesc.
type Page struct {
	Offset int    // page index: records skipped = Offset × Limit
	Limit  int    // records a page; 0 means the list's default
	SortBy string // the list's sort key; "" means its default
	Order  string // asc or desc in any case; "" means desc
}

// Skip returns the number of records before the page.
func (p Page) Skip() int { return p.Offset * p.Limit }

// Desc reports whether the list runs in descending order (the default).
func (p Page) Desc() bool { return p.Order != OrderAsc }

// validate checks and normalises p for a list whose page size defaults to
// defaultLimit and whose sort keys are sorts, the first one the default.
// It returns EINVALID ModelArts.0101 naming the first bad parameter, in the
// order offset, limit, sort_by, order.
func (p *Page) validate(defaultLimit int, sorts ...string) error {
	if p.Offset < 0 {
		return Invalid("Invalid parameter offset: must be 0 or more.")
	}
	if p.Limit == 0 {
		p.Limit = defaultLimit
	}
	if p.Limit < 1 || p.Limit > MaxListLimit {
		return Invalid("Invalid parameter limit: must be between 1 and %d.", MaxListLimit)
	}
	if p.Offset > (1<<31)/p.Limit {
		return Invalid("Invalid parameter offset: too large.")
	}
	if p.SortBy == "" {
		p.SortBy = sorts[0]
	}
	if !slices.Contains(sorts, p.SortBy) {
		return Invalid("Invalid parameter sort_by: %q.", p.SortBy)
	}
	switch strings.ToLower(p.Order) {
	case "", OrderDesc:
		p.Order = OrderDesc
	case OrderAsc:
		p.Order = OrderAsc
	default:
		return Invalid("Invalid parameter order: %q.", p.Order)
	}
	return nil
}
