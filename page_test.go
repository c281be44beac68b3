package modelreg_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelreg/modelreg"
)

// TestPageValidate checks that every list filter validates its Page the
// same way, with the list's own defaults and sort keys, and leaves it in
// the form the stores trust.
func TestPageValidate(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		m, s, e := modelreg.ModelFilter{}, modelreg.ServiceFilter{}, modelreg.EventFilter{}
		for _, err := range []error{m.Validate(), s.Validate(), e.Validate()} {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct{ got, want modelreg.Page }{
			{m.Page, modelreg.Page{Limit: modelreg.DefaultModelLimit, SortBy: modelreg.ModelSortCreateAt, Order: modelreg.OrderDesc}},
			{s.Page, modelreg.Page{Limit: modelreg.DefaultServiceLimit, SortBy: modelreg.ServiceSortPublishAt, Order: modelreg.OrderDesc}},
			{e.Page, modelreg.Page{Limit: modelreg.DefaultServiceLimit, SortBy: modelreg.EventSortOccurTime, Order: modelreg.OrderDesc}},
		} {
			if diff := cmp.Diff(c.want, c.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		}
	})
	t.Run("Normalised", func(t *testing.T) {
		f := modelreg.ServiceFilter{Page: modelreg.Page{Offset: 3, Limit: 7, SortBy: modelreg.ServiceSortName, Order: "ASC"}}
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		if f.Order != modelreg.OrderAsc || f.Desc() || f.Skip() != 21 {
			t.Errorf("page = %+v (desc %v, skip %d), want asc, skip 21", f.Page, f.Desc(), f.Skip())
		}
	})
	for name, p := range map[string]modelreg.Page{
		"Offset":        {Offset: -1},
		"LimitHigh":     {Limit: modelreg.MaxListLimit + 1},
		"LimitNegative": {Limit: -1},
		"OffsetHuge":    {Offset: 1 << 30, Limit: 1000},
		"SortBy":        {SortBy: "name"},
		"Order":         {Order: "up"},
	} {
		t.Run(name, func(t *testing.T) {
			m := modelreg.ModelFilter{Page: p}
			s := modelreg.ServiceFilter{Page: p}
			e := modelreg.EventFilter{Page: p}
			for _, err := range []error{m.Validate(), s.Validate(), e.Validate()} {
				if modelreg.ErrorAPICode(err) != modelreg.CodeInvalidArgument {
					t.Errorf("Validate() = %v, want ModelArts.0101", err)
				}
			}
		})
	}
	t.Run("EventSortKey", func(t *testing.T) {
		f := modelreg.EventFilter{Page: modelreg.Page{SortBy: modelreg.EventSortOccurTime}}
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("FirstBadParameterNamed", func(t *testing.T) {
		// Offset, limit, sort_by, order: the same order for every list.
		p := modelreg.Page{Offset: 1 << 30, Limit: 1000, SortBy: "x", Order: "up"}
		m := modelreg.ModelFilter{Page: p}
		s := modelreg.ServiceFilter{Page: p}
		e := modelreg.EventFilter{Page: p}
		for _, err := range []error{m.Validate(), s.Validate(), e.Validate()} {
			if msg := modelreg.ErrorMessage(err); msg != "Invalid parameter offset: too large." {
				t.Errorf("Validate() = %q, want the offset named", msg)
			}
		}
		p.Offset = 0
		m, s, e = modelreg.ModelFilter{Page: p}, modelreg.ServiceFilter{Page: p}, modelreg.EventFilter{Page: p}
		for _, err := range []error{m.Validate(), s.Validate(), e.Validate()} {
			if msg := modelreg.ErrorMessage(err); msg != `Invalid parameter sort_by: "x".` {
				t.Errorf("Validate() = %q, want sort_by named", msg)
			}
		}
	})
}
