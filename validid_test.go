package modelreg_test

import (
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/modelreg/modelreg"
)

// TestValidIDs checks the byte-by-byte checks of ids against the patterns
// they implement, on valid ids, their one-byte mutations, and edge cases.
func TestValidIDs(t *testing.T) {
	for _, c := range []struct {
		name    string
		valid   func(string) bool
		pattern string
		seeds   []string
	}{
		{"ValidID", modelreg.ValidID, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`,
			[]string{"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "ffffffff-ffff-4fff-bfff-ffffffffffff", ""}},
		{"ValidProjectID", modelreg.ValidProjectID, `^[0-9a-f]{32}$`,
			[]string{"0123456789abcdef0123456789abcdef", "0123456789ABCDEF0123456789abcdef", ""}},
		{"ValidUserID", modelreg.ValidUserID, `^[0-9a-f]{32}$`,
			[]string{"fedcba9876543210fedcba9876543210", "0123456789abcdeg0123456789abcdef", ""}},
		{"ValidAccessKey", modelreg.ValidAccessKey, `^[A-Za-z0-9][A-Za-z0-9_.-]{3,127}$`,
			[]string{"AKIA", "a_b.c-d", "_abc", "ab", "Z123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567"}},
	} {
		re := regexp.MustCompile(c.pattern)
		rng := rand.New(rand.NewPCG(1, 2))
		alphabet := "0123456789abcdefABCDEFxyzXYZ-_.@ 4\x00\xff"
		check := func(s string) {
			if got, want := c.valid(s), re.MatchString(s); got != want {
				t.Errorf("%s(%q) = %v, the pattern says %v", c.name, s, got, want)
			}
		}
		for _, seed := range c.seeds {
			check(seed)
			for i := range len(seed) {
				for j := range len(alphabet) {
					check(seed[:i] + alphabet[j:j+1] + seed[i+1:]) // replaced
					check(seed[:i] + alphabet[j:j+1] + seed[i:])   // inserted
				}
				check(seed[:i] + seed[i+1:]) // deleted
			}
			for range 1000 {
				b := []byte(seed)
				for range 1 + rng.IntN(3) {
					if len(b) > 0 {
						b[rng.IntN(len(b))] = alphabet[rng.IntN(len(alphabet))]
					}
				}
				check(string(b))
			}
		}
	}
}
