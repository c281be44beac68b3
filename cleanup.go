package modelreg

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"time"
)

// CleanupPolicy deletes old versions of the names matching NamePattern: a
// run deletes a version only when it is outside the newest KeepLast of its
// name (by create_at), older than KeepDays, not deployed, not protected.
type CleanupPolicy struct {
	ID          string `json:"policy_id"`
	ProjectID   string `json:"-"`
	NamePattern string `json:"name_pattern"`
	KeepLast    int    `json:"keep_last"`
	KeepDays    int    `json:"keep_days"`
	Enabled     bool   `json:"enabled"`
	CreatedAt   int64  `json:"created_at"`
	UpdatedAt   int64  `json:"updated_at"`
	LastRunAt   int64  `json:"last_run_at"`
}

// CleanupPolicyBody is the body of POST and PUT …/cleanup-policies: every
// field required on POST; on PUT absent fields keep their values.
type CleanupPolicyBody struct {
	NamePattern *string `json:"name_pattern"`
	KeepLast    *int    `json:"keep_last"`
	KeepDays    *int    `json:"keep_days"`
	Enabled     *bool   `json:"enabled"`
}

// Limits of a cleanup policy.
const (
	MaxPolicyPattern  = 128
	MaxPolicyKeepLast = 10000
	MaxPolicyKeepDays = 36500
)

// Apply validates b and applies it to p; with create every field but
// enabled (default true) must be present. EINVALID ModelArts.3036 for a
// missing field, ModelArts.3037 for a bad one.
func (b *CleanupPolicyBody) Apply(p *CleanupPolicy, create bool) error {
	if create {
		switch {
		case b.NamePattern == nil:
			return ParamRequired("name_pattern")
		case b.KeepLast == nil:
			return ParamRequired("keep_last")
		case b.KeepDays == nil:
			return ParamRequired("keep_days")
		}
		p.Enabled = true
	}
	if b.NamePattern != nil {
		np := *b.NamePattern
		if np == "" || len(np) > MaxPolicyPattern {
			return ParamInvalid("name_pattern", fmt.Sprintf("must be 1 to %d characters", MaxPolicyPattern))
		}
		if _, err := path.Match(np, ""); err != nil {
			return ParamInvalid("name_pattern", "not a glob pattern")
		}
		p.NamePattern = np
	}
	if b.KeepLast != nil {
		if *b.KeepLast < 1 || *b.KeepLast > MaxPolicyKeepLast {
			return ParamInvalid("keep_last", fmt.Sprintf("must be 1 to %d", MaxPolicyKeepLast))
		}
		p.KeepLast = *b.KeepLast
	}
	if b.KeepDays != nil {
		if *b.KeepDays < 0 || *b.KeepDays > MaxPolicyKeepDays {
			return ParamInvalid("keep_days", fmt.Sprintf("must be 0 to %d", MaxPolicyKeepDays))
		}
		p.KeepDays = *b.KeepDays
	}
	if b.Enabled != nil {
		p.Enabled = *b.Enabled
	}
	return nil
}

// PolicyNotFound returns the ModelReg.3301 error for cleanup policy id.
func PolicyNotFound(id string) *Error {
	return Errorf(ENOTFOUND, CodePolicyNotFound, "Cleanup policy (%s) does not exist.", id)
}

// Reasons a cleanup policy keeps a version.
const (
	KeepNewest    = "newest"
	KeepRecent    = "recent"
	KeepDeployed  = "deployed"
	KeepProtected = "protected"
)

// CleanupCandidate is a version a policy looks at.
type CleanupCandidate struct {
	ID        string
	Name      string
	Version   string
	CreateAt  int64 // ms
	Deployed  bool
	Protected bool
}

// CleanupDelete is a version a run would delete.
type CleanupDelete struct {
	ID      string `json:"model_id"`
	Name    string `json:"model_name"`
	Version string `json:"model_version"`
}

// CleanupKept is a version a run keeps, and why.
type CleanupKept struct {
	ID     string `json:"model_id"`
	Reason string `json:"reason"`
}

// CleanupPreview is the response of POST …/cleanup-policies/{id}/preview.
type CleanupPreview struct {
	ToDelete []CleanupDelete `json:"to_delete"`
	Kept     []CleanupKept   `json:"kept"`
}

// Plan decides, for the versions of the names p matches, which a run
// deletes and why it keeps the others (the first reason that holds, in the
// order newest, recent, deployed, protected). Names not matching the
// pattern are ignored. The result is ordered by name, then newest first.
func (p *CleanupPolicy) Plan(models []CleanupCandidate, now time.Time) *CleanupPreview {
	res := &CleanupPreview{ToDelete: []CleanupDelete{}, Kept: []CleanupKept{}}
	byName := map[string][]CleanupCandidate{}
	var names []string
	for _, m := range models {
		if ok, _ := path.Match(p.NamePattern, m.Name); !ok {
			continue
		}
		if _, seen := byName[m.Name]; !seen {
			names = append(names, m.Name)
		}
		byName[m.Name] = append(byName[m.Name], m)
	}
	slices.Sort(names)
	cutoff := Millis(now.Add(-time.Duration(p.KeepDays) * 24 * time.Hour))
	for _, name := range names {
		vs := byName[name]
		slices.SortFunc(vs, func(a, b CleanupCandidate) int {
			if c := cmp.Compare(b.CreateAt, a.CreateAt); c != 0 {
				return c
			}
			return cmp.Compare(b.ID, a.ID)
		})
		for i, v := range vs {
			reason := ""
			switch {
			case i < p.KeepLast:
				reason = KeepNewest
			case v.CreateAt > cutoff:
				reason = KeepRecent
			case v.Deployed:
				reason = KeepDeployed
			case v.Protected:
				reason = KeepProtected
			}
			if reason != "" {
				res.Kept = append(res.Kept, CleanupKept{ID: v.ID, Reason: reason})
			} else {
				res.ToDelete = append(res.ToDelete, CleanupDelete{ID: v.ID, Name: v.Name, Version: v.Version})
			}
		}
	}
	return res
}

// CleanupStore keeps cleanup policies; each change has its audit event.
type CleanupStore interface {
	// CreateCleanupPolicy stores p, assigning ID, CreatedAt and UpdatedAt.
	CreateCleanupPolicy(ctx context.Context, p *CleanupPolicy) error
	// FindCleanupPolicies returns the project's policies, oldest first;
	// with projectID "" every project's.
	FindCleanupPolicies(ctx context.Context, projectID string) ([]*CleanupPolicy, error)
	// FindCleanupPolicy returns one. Returns ENOTFOUND ModelReg.3301.
	FindCleanupPolicy(ctx context.Context, projectID, id string) (*CleanupPolicy, error)
	// UpdateCleanupPolicy stores p's fields (UpdatedAt assigned).
	// Returns ENOTFOUND ModelReg.3301.
	UpdateCleanupPolicy(ctx context.Context, p *CleanupPolicy) error
	// DeleteCleanupPolicy deletes one. Returns ENOTFOUND ModelReg.3301.
	DeleteCleanupPolicy(ctx context.Context, projectID, id string) error
	// FindCleanupCandidates returns every model of the project whose name
	// matches pattern (a glob), with whether it is deployed or protected.
	FindCleanupCandidates(ctx context.Context, projectID, pattern string) ([]CleanupCandidate, error)
	// MarkCleanupRun records that the policy ran at t.
	MarkCleanupRun(ctx context.Context, id string, t time.Time) error
}

// CleanupActor is the audit actor of a policy's run.
func CleanupActor(policyID string) string { return "cleanup-policy:" + policyID }

// Clock is implemented by a store that stamps the times it writes
// (create_at, deleted_at, purge_at, event times) with a clock of its own:
// the server's clock, replaceable in tests (the stores' Options.Now).
type Clock interface {
	Now() time.Time
}

// StoreNow returns the time of s's clock (Clock), or time.Now when s has
// none. Anything that compares the current time with times a store wrote
// (a cleanup preview or run, audit retention) asks it, so that it and the
// store agree on what "now" is. See docs/decisions.md, "One clock".
func StoreNow(s any) time.Time {
	if c, ok := s.(Clock); ok {
		return c.Now()
	}
	return time.Now()
}

// PreviewCleanup returns what a run of p would do now.
func PreviewCleanup(ctx context.Context, s CleanupStore, p *CleanupPolicy, now time.Time) (*CleanupPreview, error) {
	cs, err := s.FindCleanupCandidates(ctx, p.ProjectID, p.NamePattern)
	if err != nil {
		return nil, err
	}
	return p.Plan(cs, now), nil
}

// RunCleanup runs p once: it deletes each version the plan names through
// the user's delete path (DeleteModels: the deployed guard and protection
// checked again in the delete's transaction, the trash when trash > 0, the
// audit event) acting as CleanupActor(p.ID), and returns the ids deleted.
// A version refused meanwhile (deployed, protected) stays, with its
// model.delete_refused event.
func RunCleanup(ctx context.Context, s Store, p *CleanupPolicy, now time.Time, trash time.Duration) ([]string, error) {
	plan, err := PreviewCleanup(ctx, s, p, now)
	if err != nil {
		return nil, err
	}
	actor := CleanupActor(p.ID)
	ctx = NewContextWithRequestMeta(ctx, RequestMeta{Actor: actor})
	var deleted []string
	for _, d := range plan.ToDelete {
		res, err := DeleteModels(ctx, s, p.ProjectID, d.ID, false, 1, DeleteOptions{Trash: trash, Actor: actor})
		if ErrorCode(err) == ENOTFOUND {
			continue // deleted by someone else meanwhile
		}
		if err != nil {
			return deleted, err
		}
		deleted = append(deleted, res.Success...)
	}
	return deleted, s.MarkCleanupRun(ctx, p.ID, now)
}
