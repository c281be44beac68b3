package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelreg/modelreg"
)

// The auth part of the suite. Beyond the AuthStore comments it pins down:
//
//   - Project and user names are unique and compared exactly (case
//     included); lists are ordered by name and never nil.
//   - A user's ProjectIDs come back sorted and without duplicates, never
//     nil.
//   - A revoked credential keeps its row (inactive, RevokeAt set, no
//     secret) and its access key cannot be created again.
//   - FindCredentials never returns sealed secrets.
//   - CreateToken keeps IssuedAt and ExpiresAt as given and deletes the
//     tokens whose ExpiresAt is at or before the store's clock.

// Users and keys of the auth tests.
var (
	sealedA = []byte("sealed secret A (opaque to the store)")
	sealedB = []byte("sealed secret B (opaque to the store)")
)

func testAuthStore(t *testing.T, open Opener) {
	t.Run("CreateProject", func(t *testing.T) { testCreateProject(t, open) })
	t.Run("FindProjects", func(t *testing.T) { testFindProjects(t, open) })
	t.Run("CreateUser", func(t *testing.T) { testCreateUser(t, open) })
	t.Run("GrantProject", func(t *testing.T) { testGrantProject(t, open) })
	t.Run("CreateCredential", func(t *testing.T) { testCreateCredential(t, open) })
	t.Run("RevokeCredential", func(t *testing.T) { testRevokeCredential(t, open) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open) })
	t.Run("Bootstrap", func(t *testing.T) { testBootstrap(t, open) })
	t.Run("AuthGeneration", func(t *testing.T) { testAuthGeneration(t, open) })
	t.Run("SetUserDisabled", func(t *testing.T) { testSetUserDisabled(t, open) })
}

// testSetUserDisabled checks that the flag is stored and read back by every
// user query, that a change bumps the generation and a no-op does not, and
// that an unknown user is ENOTFOUND.
func testSetUserDisabled(t *testing.T, open Opener) {
	e := newEnv(t, open)
	e.createProject(projA, "a")
	u := e.createUser("alice", projA)
	other := e.createUser("bob", projA)
	if u.Disabled {
		t.Fatalf("a new user is disabled: %+v", u)
	}
	gen := func() int64 {
		t.Helper()
		g, err := e.s.AuthGeneration(e.ctx)
		ok(t, err)
		return g
	}
	check := func(want bool) {
		t.Helper()
		byID, err := e.s.FindUserByID(e.ctx, u.ID)
		ok(t, err)
		byName, err := e.s.FindUserByName(e.ctx, u.Name)
		ok(t, err)
		all, err := e.s.FindUsers(e.ctx)
		ok(t, err)
		if byID.Disabled != want || byName.Disabled != want || len(all) != 2 || all[0].Disabled != want || all[1].Disabled {
			t.Fatalf("want disabled=%v: by id %+v, by name %+v, all %+v %+v", want, byID, byName, all[0], all[1])
		}
		if byID.Name != "alice" || byID.PasswordHash != "hash-of-alice" || len(byID.ProjectIDs) != 1 {
			t.Errorf("disabling changed the user: %+v", byID)
		}
	}
	now := e.nowMs()
	for i, uid := range []string{u.ID, other.ID} {
		ok(t, e.s.CreateToken(e.ctx, &modelreg.Token{Hash: digest(i + 1), UserID: uid, ProjectID: projA, Method: modelreg.MethodPassword,
			IssuedAt: now, ExpiresAt: now + time.Hour.Milliseconds()}))
	}
	ok(t, e.s.CreateCredential(e.ctx, &modelreg.Credential{AccessKey: "AK000001", UserID: u.ID, SecretEnc: sealedA}))
	g0 := gen()
	ok(t, e.s.SetUserDisabled(e.ctx, u.ID, true))
	check(true)
	// Disabling deletes the user's tokens, not others', and keeps its keys.
	_, err := e.s.FindToken(e.ctx, digest(1))
	wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
	if _, err := e.s.FindToken(e.ctx, digest(2)); err != nil {
		t.Errorf("the other user's token: %v", err)
	}
	if c, err := e.s.FindCredential(e.ctx, "AK000001"); err != nil || c.Status != modelreg.CredentialActive {
		t.Errorf("the disabled user's key: %+v, %v", c, err)
	}
	g1 := gen()
	if g1 <= g0 {
		t.Errorf("disabling: the generation stayed %d", g1)
	}
	ok(t, e.s.SetUserDisabled(e.ctx, u.ID, true))
	check(true)
	if g := gen(); g != g1 {
		t.Errorf("disabling a disabled user: the generation changed from %d to %d", g1, g)
	}
	ok(t, e.s.SetUserDisabled(e.ctx, u.ID, false))
	check(false)
	if g := gen(); g <= g1 {
		t.Errorf("enabling: the generation stayed %d", g)
	}
	g2 := gen()
	wantErr(t, e.s.SetUserDisabled(e.ctx, "ffffffffffffffffffffffffffffffff", true), modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
	wantErr(t, e.s.SetUserDisabled(e.ctx, "not-an-id", true), modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
	if g := gen(); g != g2 {
		t.Errorf("failed changes: the generation changed from %d to %d", g2, g)
	}
	if got, err := e.s.FindUserByID(e.ctx, other.ID); err != nil || got.Disabled {
		t.Errorf("the other user: %+v, %v", got, err)
	}

	// A user may be created disabled.
	c := &modelreg.User{Name: "carol", Disabled: true}
	ok(t, e.s.CreateUser(e.ctx, c))
	if got, err := e.s.FindUserByID(e.ctx, c.ID); err != nil || !got.Disabled {
		t.Errorf("a user created disabled: %+v, %v", got, err)
	}
}

// testAuthGeneration checks that every change withdrawing or changing
// access increases the generation, and that nothing else does (a cache
// flushed on every request would be no cache).
func testAuthGeneration(t *testing.T, open Opener) {
	e := newEnv(t, open)
	gen := func() int64 {
		t.Helper()
		g, err := e.s.AuthGeneration(e.ctx)
		ok(t, err)
		return g
	}
	last := gen()
	step := func(what string, grew bool) {
		t.Helper()
		g := gen()
		switch {
		case g < last:
			t.Fatalf("%s: the generation went back from %d to %d", what, last, g)
		case grew && g == last:
			t.Errorf("%s: the generation stayed %d", what, g)
		case !grew && g != last:
			t.Errorf("%s: the generation changed from %d to %d", what, last, g)
		}
		last = g
	}
	e.createProject(projA, "a")
	e.createProject(projB, "b")
	u := e.createUser("alice", projA)
	ok(t, e.s.CreateCredential(e.ctx, &modelreg.Credential{AccessKey: "AK000001", UserID: u.ID, SecretEnc: sealedA}))
	now := e.nowMs()
	ok(t, e.s.CreateToken(e.ctx, &modelreg.Token{Hash: digest(1), UserID: u.ID, ProjectID: projA, Method: modelreg.MethodPassword,
		IssuedAt: now, ExpiresAt: now + time.Hour.Milliseconds()}))
	_, err := e.s.FindCredential(e.ctx, "AK000001")
	ok(t, err)
	step("creating and reading", false)

	ok(t, e.s.GrantProject(e.ctx, u.ID, projB))
	step("GrantProject", true)
	ok(t, e.s.RevokeCredential(e.ctx, "AK000001"))
	step("RevokeCredential", true)
	ok(t, e.s.RevokeCredential(e.ctx, "AK000001"))
	step("RevokeCredential of a revoked key", false)
	ok(t, e.s.DeleteToken(e.ctx, digest(1)))
	step("DeleteToken", true)

	wantErr(t, e.s.RevokeCredential(e.ctx, "AK000002"), modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
	wantErr(t, e.s.DeleteToken(e.ctx, digest(1)), modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
	wantErr(t, e.s.GrantProject(e.ctx, u.ID, "ffffffffffffffffffffffffffffffff"), modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
	step("failed changes", false)
}

// createProject creates a project with a given id.
func (e *env) createProject(id, name string) *modelreg.Project {
	e.t.Helper()
	p := &modelreg.Project{ID: id, Name: name}
	ok(e.t, e.s.CreateProject(e.ctx, p))
	return p
}

// createUser creates a user in projects.
func (e *env) createUser(name string, projects ...string) *modelreg.User {
	e.t.Helper()
	u := &modelreg.User{Name: name, PasswordHash: "hash-of-" + name, ProjectIDs: projects}
	ok(e.t, e.s.CreateUser(e.ctx, u))
	return u
}

func testCreateProject(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		p := &modelreg.Project{Name: "cn-north-4", Description: "the first"}
		ok(t, e.s.CreateProject(e.ctx, p))
		if !modelreg.ValidProjectID(p.ID) || p.CreateAt != e.nowMs() {
			t.Fatalf("created %+v", p)
		}
		got, err := e.s.FindProjectByID(e.ctx, p.ID)
		ok(t, err)
		if diff := cmp.Diff(p, got); diff != "" {
			t.Errorf("FindProjectByID mismatch (-want +got):\n%s", diff)
		}
		q := e.createProject(projA, "other")
		if q.ID != projA {
			t.Errorf("the given id was replaced: %s", q.ID)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		e := newEnv(t, open)
		e.createProject(projA, "a")
		wantErr(t, e.s.CreateProject(e.ctx, &modelreg.Project{Name: "a"}), modelreg.ECONFLICT, "")
		wantErr(t, e.s.CreateProject(e.ctx, &modelreg.Project{ID: projA, Name: "b"}), modelreg.ECONFLICT, "")
		e.createProject(projB, "A") // names are case-sensitive
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		e := newEnv(t, open)
		for _, p := range []*modelreg.Project{{Name: ""}, {Name: "has space"}, {ID: "ABC", Name: "x"}, {Name: "x", Description: "<b>"}} {
			wantErr(t, e.s.CreateProject(e.ctx, p), modelreg.EINVALID, modelreg.CodeInvalidArgument)
		}
		ps, err := e.s.FindProjects(e.ctx, modelreg.ProjectFilter{})
		ok(t, err)
		if len(ps) != 0 {
			t.Errorf("invalid projects were stored: %v", ps)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		_, err := e.s.FindProjectByID(e.ctx, projA)
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
	})
}

func testFindProjects(t *testing.T, open Opener) {
	e := newEnv(t, open)
	ps, err := e.s.FindProjects(e.ctx, modelreg.ProjectFilter{})
	ok(t, err)
	if ps == nil || len(ps) != 0 {
		t.Fatalf("empty store: %#v, want an empty non-nil slice", ps)
	}
	b := e.createProject(projB, "beta")
	a := e.createProject(projA, "alpha")
	u := e.createUser("alice", projB)
	for _, tt := range []struct {
		f    modelreg.ProjectFilter
		want []*modelreg.Project
	}{
		{modelreg.ProjectFilter{}, []*modelreg.Project{a, b}},
		{modelreg.ProjectFilter{Name: "beta"}, []*modelreg.Project{b}},
		{modelreg.ProjectFilter{Name: "Beta"}, []*modelreg.Project{}},
		{modelreg.ProjectFilter{ID: projA}, []*modelreg.Project{a}},
		{modelreg.ProjectFilter{UserID: u.ID}, []*modelreg.Project{b}},
		{modelreg.ProjectFilter{UserID: u.ID, Name: "alpha"}, []*modelreg.Project{}},
	} {
		got, err := e.s.FindProjects(e.ctx, tt.f)
		ok(t, err)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("FindProjects(%+v) mismatch (-want +got):\n%s", tt.f, diff)
		}
	}
}

func testCreateUser(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		e.createProject(projA, "a")
		e.createProject(projB, "b")
		u := &modelreg.User{Name: "alice", Admin: true, PasswordHash: "pbkdf2-sha256$1$x$y", ProjectIDs: []string{projB, projA, projB}}
		ok(t, e.s.CreateUser(e.ctx, u))
		if !modelreg.ValidUserID(u.ID) || u.CreateAt != e.nowMs() {
			t.Fatalf("created %+v", u)
		}
		if diff := cmp.Diff([]string{projA, projB}, u.ProjectIDs); diff != "" {
			t.Errorf("ProjectIDs (-want +got):\n%s", diff)
		}
		byID, err := e.s.FindUserByID(e.ctx, u.ID)
		ok(t, err)
		byName, err := e.s.FindUserByName(e.ctx, "alice")
		ok(t, err)
		for _, got := range []*modelreg.User{byID, byName} {
			if diff := cmp.Diff(u, got); diff != "" {
				t.Errorf("found user mismatch (-want +got):\n%s", diff)
			}
		}
		bob := e.createUser("bob")
		if bob.ProjectIDs == nil || len(bob.ProjectIDs) != 0 || bob.Admin {
			t.Errorf("user without projects: %+v", bob)
		}
		all, err := e.s.FindUsers(e.ctx)
		ok(t, err)
		if len(all) != 2 || all[0].Name != "alice" || all[1].Name != "bob" || all[1].ProjectIDs == nil {
			t.Errorf("FindUsers = %+v", all)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		e := newEnv(t, open)
		u := e.createUser("alice")
		wantErr(t, e.s.CreateUser(e.ctx, &modelreg.User{Name: "alice"}), modelreg.ECONFLICT, "")
		wantErr(t, e.s.CreateUser(e.ctx, &modelreg.User{ID: u.ID, Name: "other"}), modelreg.ECONFLICT, "")
	})
	t.Run("ErrProjectNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		e.createProject(projA, "a")
		err := e.s.CreateUser(e.ctx, &modelreg.User{Name: "alice", ProjectIDs: []string{projA, projB}})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
		_, err = e.s.FindUserByName(e.ctx, "alice")
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		e := newEnv(t, open)
		for _, u := range []*modelreg.User{{Name: ""}, {Name: "a b"}, {Name: "x", ProjectIDs: []string{"nope"}}} {
			wantErr(t, e.s.CreateUser(e.ctx, u), modelreg.EINVALID, modelreg.CodeInvalidArgument)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		_, err := e.s.FindUserByID(e.ctx, projA)
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
		_, err = e.s.FindUserByName(e.ctx, "nobody")
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
	})
}

func testGrantProject(t *testing.T, open Opener) {
	e := newEnv(t, open)
	e.createProject(projA, "a")
	e.createProject(projB, "b")
	u := e.createUser("alice", projA)
	ok(t, e.s.GrantProject(e.ctx, u.ID, projB))
	ok(t, e.s.GrantProject(e.ctx, u.ID, projB))
	got, err := e.s.FindUserByID(e.ctx, u.ID)
	ok(t, err)
	if diff := cmp.Diff([]string{projA, projB}, got.ProjectIDs); diff != "" {
		t.Errorf("ProjectIDs (-want +got):\n%s", diff)
	}
	wantErr(t, e.s.GrantProject(e.ctx, u.ID, "ffffffffffffffffffffffffffffffff"), modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
	wantErr(t, e.s.GrantProject(e.ctx, "ffffffffffffffffffffffffffffffff", projA), modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
}

func testCreateCredential(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		alice, bob := e.createUser("alice"), e.createUser("bob")
		c1 := &modelreg.Credential{AccessKey: "AKALICE0000000000001", UserID: alice.ID, Description: "ci", SecretEnc: sealedA}
		ok(t, e.s.CreateCredential(e.ctx, c1))
		if c1.Status != modelreg.CredentialActive || c1.CreateAt != e.nowMs() || c1.RevokeAt != 0 {
			t.Fatalf("created %+v", c1)
		}
		e.clk.Advance(time.Second)
		c2 := &modelreg.Credential{AccessKey: "AKBOB000000000000001", UserID: bob.ID, SecretEnc: sealedB}
		ok(t, e.s.CreateCredential(e.ctx, c2))
		e.clk.Advance(time.Second)
		// A key scoped to one project (made with a project-scoped token).
		c3 := &modelreg.Credential{AccessKey: "AKALICE0000000000000", UserID: alice.ID, SecretEnc: sealedB, ProjectID: projA}
		ok(t, e.s.CreateCredential(e.ctx, c3))

		for _, c := range []*modelreg.Credential{c1, c3} {
			got, err := e.s.FindCredential(e.ctx, c.AccessKey)
			ok(t, err)
			if diff := cmp.Diff(c, got); diff != "" {
				t.Errorf("FindCredential mismatch (-want +got):\n%s", diff)
			}
		}
		noSecret := func(cs ...*modelreg.Credential) []*modelreg.Credential {
			out := []*modelreg.Credential{}
			for _, c := range cs {
				cc := *c
				cc.SecretEnc = nil
				out = append(out, &cc)
			}
			return out
		}
		all, err := e.s.FindCredentials(e.ctx, modelreg.CredentialFilter{})
		ok(t, err)
		if diff := cmp.Diff(noSecret(c1, c2, c3), all); diff != "" {
			t.Errorf("FindCredentials mismatch (-want +got):\n%s", diff)
		}
		mine, err := e.s.FindCredentials(e.ctx, modelreg.CredentialFilter{UserID: alice.ID})
		ok(t, err)
		if diff := cmp.Diff(noSecret(c1, c3), mine); diff != "" {
			t.Errorf("FindCredentials(alice) mismatch (-want +got):\n%s", diff)
		}
		none, err := e.s.FindCredentials(e.ctx, modelreg.CredentialFilter{UserID: projA})
		ok(t, err)
		if none == nil || len(none) != 0 {
			t.Errorf("FindCredentials(nobody) = %#v, want an empty non-nil slice", none)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		e := newEnv(t, open)
		u := e.createUser("alice")
		ok(t, e.s.CreateCredential(e.ctx, &modelreg.Credential{AccessKey: "AK000001", UserID: u.ID, SecretEnc: sealedA}))
		wantErr(t, e.s.CreateCredential(e.ctx, &modelreg.Credential{AccessKey: "AK000001", UserID: u.ID, SecretEnc: sealedB}), modelreg.ECONFLICT, "")
		got, err := e.s.FindCredential(e.ctx, "AK000001")
		ok(t, err)
		if string(got.SecretEnc) != string(sealedA) {
			t.Errorf("a conflicting create replaced the secret")
		}
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		err := e.s.CreateCredential(e.ctx, &modelreg.Credential{AccessKey: "AK000001", UserID: projA, SecretEnc: sealedA})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		e := newEnv(t, open)
		u := e.createUser("alice")
		for _, c := range []*modelreg.Credential{
			{AccessKey: "a,b", UserID: u.ID, SecretEnc: sealedA},
			{AccessKey: "AK000001", UserID: "nope", SecretEnc: sealedA},
			{AccessKey: "AK000001", UserID: u.ID},
			{AccessKey: "AK000001", UserID: u.ID, SecretEnc: sealedA, ProjectID: "alpha"},
		} {
			wantErr(t, e.s.CreateCredential(e.ctx, c), modelreg.EINVALID, modelreg.CodeInvalidArgument)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		_, err := e.s.FindCredential(e.ctx, "AK000001")
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
	})
}

func testRevokeCredential(t *testing.T, open Opener) {
	e := newEnv(t, open)
	u := e.createUser("alice")
	ok(t, e.s.CreateCredential(e.ctx, &modelreg.Credential{AccessKey: "AK000001", UserID: u.ID, SecretEnc: sealedA}))
	e.clk.Advance(time.Minute)
	ok(t, e.s.RevokeCredential(e.ctx, "AK000001"))
	got, err := e.s.FindCredential(e.ctx, "AK000001")
	ok(t, err)
	if got.Status != modelreg.CredentialInactive || len(got.SecretEnc) != 0 || got.RevokeAt != e.nowMs() {
		t.Fatalf("revoked credential: %+v", got)
	}
	e.clk.Advance(time.Minute)
	ok(t, e.s.RevokeCredential(e.ctx, "AK000001"))
	again, err := e.s.FindCredential(e.ctx, "AK000001")
	ok(t, err)
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("revoking twice changed the credential (-first +second):\n%s", diff)
	}
	wantErr(t, e.s.CreateCredential(e.ctx, &modelreg.Credential{AccessKey: "AK000001", UserID: u.ID, SecretEnc: sealedB}), modelreg.ECONFLICT, "")
	wantErr(t, e.s.RevokeCredential(e.ctx, "AK000002"), modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
}

func testTokens(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		e.createProject(projA, "a")
		u := e.createUser("alice", projA)
		now := e.nowMs()
		tok := &modelreg.Token{Hash: digest(1), UserID: u.ID, ProjectID: projA, Method: modelreg.MethodPassword,
			IssuedAt: now, ExpiresAt: now + time.Hour.Milliseconds()}
		ok(t, e.s.CreateToken(e.ctx, tok))
		got, err := e.s.FindToken(e.ctx, digest(1))
		ok(t, err)
		if diff := cmp.Diff(tok, got); diff != "" {
			t.Errorf("FindToken mismatch (-want +got):\n%s", diff)
		}
		ok(t, e.s.DeleteToken(e.ctx, digest(1)))
		_, err = e.s.FindToken(e.ctx, digest(1))
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
		wantErr(t, e.s.DeleteToken(e.ctx, digest(1)), modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
	})
	t.Run("ExpiredArePurged", func(t *testing.T) {
		e := newEnv(t, open)
		e.createProject(projA, "a")
		u := e.createUser("alice", projA)
		now := e.nowMs()
		for i, life := range []time.Duration{time.Minute, time.Hour} {
			ok(t, e.s.CreateToken(e.ctx, &modelreg.Token{Hash: digest(i), UserID: u.ID, ProjectID: projA,
				Method: modelreg.MethodPassword, IssuedAt: now, ExpiresAt: now + life.Milliseconds()}))
		}
		e.clk.Advance(time.Minute) // the first expires now
		got, err := e.s.FindToken(e.ctx, digest(0))
		ok(t, err) // expired tokens are still found until purged
		if !got.Expired(e.clk.Now()) {
			t.Errorf("token %+v not expired at %v", got, e.clk.Now())
		}
		ok(t, e.s.CreateToken(e.ctx, &modelreg.Token{Hash: digest(9), UserID: u.ID, ProjectID: projA,
			Method: modelreg.MethodPassword, IssuedAt: e.nowMs(), ExpiresAt: e.nowMs() + 1}))
		_, err = e.s.FindToken(e.ctx, digest(0))
		wantErr(t, err, modelreg.ENOTFOUND, "")
		_, err = e.s.FindToken(e.ctx, digest(1))
		ok(t, err)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		e.createProject(projA, "a")
		u := e.createUser("alice", projA)
		now := e.nowMs()
		err := e.s.CreateToken(e.ctx, &modelreg.Token{Hash: digest(1), UserID: projB, ProjectID: projA, IssuedAt: now, ExpiresAt: now + 1000})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
		err = e.s.CreateToken(e.ctx, &modelreg.Token{Hash: digest(1), UserID: u.ID, ProjectID: projB, IssuedAt: now, ExpiresAt: now + 1000})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
		_, err = e.s.FindToken(e.ctx, digest(1))
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeResourceNotFound)
	})
}

func testBootstrap(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		p := &modelreg.Project{ID: projA, Name: "default"}
		u := &modelreg.User{Name: "admin", Admin: true}
		c := &modelreg.Credential{AccessKey: "AKADMIN0000000000001", SecretEnc: sealedA}
		done, err := e.s.Bootstrap(e.ctx, p, u, c)
		ok(t, err)
		if !done || p.CreateAt != e.nowMs() || !modelreg.ValidUserID(u.ID) || c.UserID != u.ID || c.Status != modelreg.CredentialActive {
			t.Fatalf("Bootstrap = %v: %+v %+v %+v", done, p, u, c)
		}
		got, err := e.s.FindUserByName(e.ctx, "admin")
		ok(t, err)
		if !got.Admin || !got.Member(projA) {
			t.Errorf("admin user %+v", got)
		}
		cred, err := e.s.FindCredential(e.ctx, c.AccessKey)
		ok(t, err)
		if cred.UserID != u.ID || string(cred.SecretEnc) != string(sealedA) {
			t.Errorf("admin credential %+v", cred)
		}

		// A second bootstrap finds a user and does nothing.
		done, err = e.s.Bootstrap(e.ctx, &modelreg.Project{ID: projB, Name: "other"}, &modelreg.User{Name: "root"},
			&modelreg.Credential{AccessKey: "AKROOT", SecretEnc: sealedB})
		ok(t, err)
		if done {
			t.Error("a second bootstrap ran")
		}
		ps, err := e.s.FindProjects(e.ctx, modelreg.ProjectFilter{})
		ok(t, err)
		if len(ps) != 1 {
			t.Errorf("projects after a second bootstrap: %+v", ps)
		}
	})
	t.Run("ExistingProject", func(t *testing.T) {
		e := newEnv(t, open)
		existing := e.createProject(projA, "kept")
		e.clk.Advance(time.Hour)
		p := &modelreg.Project{ID: projA, Name: "default"}
		done, err := e.s.Bootstrap(e.ctx, p, &modelreg.User{Name: "admin", Admin: true},
			&modelreg.Credential{AccessKey: "AKADMIN", SecretEnc: sealedA})
		ok(t, err)
		if !done || p.Name != "kept" || p.CreateAt != existing.CreateAt {
			t.Errorf("Bootstrap over an existing project: %v %+v", done, p)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		e := newEnv(t, open)
		const n = 8
		results := make([]bool, n)
		errs := make([]error, n)
		fns := make([]func(), n)
		for i := range fns {
			fns[i] = func() {
				results[i], errs[i] = e.s.Bootstrap(e.ctx, &modelreg.Project{ID: projA, Name: "default"},
					&modelreg.User{Name: "admin", Admin: true},
					&modelreg.Credential{AccessKey: fmt.Sprintf("AKADMIN%d", i), SecretEnc: sealedA})
			}
		}
		together(fns...)
		n1 := 0
		for i := range n {
			// A replica that lost the race reports that it did nothing,
			// not a conflict.
			if errs[i] != nil {
				t.Errorf("Bootstrap %d: %v", i, errs[i])
			}
			if results[i] {
				n1++
			}
		}
		if n1 != 1 {
			t.Fatalf("%d bootstraps ran, want 1", n1)
		}
		us, err := e.s.FindUsers(e.ctx)
		ok(t, err)
		if len(us) != 1 {
			t.Errorf("users after concurrent bootstraps: %d", len(us))
		}
	})
}
