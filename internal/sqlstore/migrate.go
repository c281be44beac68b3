package sqlstore

import (
	"slices"
	"time"
)

// MigrationState is one migration and whether the database has it.
type MigrationState struct {
	Name      string    // file name, as 0001_init.sql
	Known     bool      // this version of modelreg has it (else a newer one applied it)
	Applied   bool      // recorded in the database
	AppliedAt time.Time // when, in UTC; zero when not applied
}

// MergeMigrations returns the state of every migration of known (this
// version's, in order), then of every one in applied (name to applied_at in
// ms, as the database records them) that known lacks, by name.
func MergeMigrations(known []string, applied map[string]int64) []MigrationState {
	var states []MigrationState
	for _, name := range known {
		st := MigrationState{Name: name, Known: true}
		if at, ok := applied[name]; ok {
			st.Applied, st.AppliedAt = true, time.UnixMilli(at).UTC()
		}
		states = append(states, st)
	}
	var unknown []string
	for name := range applied {
		if !slices.Contains(known, name) {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		states = append(states, MigrationState{Name: name, Applied: true, AppliedAt: time.UnixMilli(applied[name]).UTC()})
	}
	return states
}
