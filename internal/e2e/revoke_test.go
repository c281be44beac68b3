package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/auth"
)

// revocationBound is how long after its acknowledgement a revocation may
// still work on another replica: auth.DefaultMaxStale, the age past which
// a replica's credential cache stops answering, rounded up to the 1 s the
// documentation promises.
const revocationBound = time.Second

// TestReplicaRevocation revokes an access key through replica A while both
// replicas have it cached: A refuses it at once, B within the bound, and
// every request sent after the bound is refused by both.
func TestReplicaRevocation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two servers")
	}
	ctx := context.Background()
	c := newCluster(t)
	procs := c.start(t, 2)
	admin := c.client(t, procs[0])
	cred, sk, err := admin.CreateCredential(ctx, "", "revoked by the test")
	if err != nil {
		t.Fatal(err)
	}
	signer := &auth.Signer{AccessKey: cred.AccessKey, SecretKey: sk}
	var kc [2]*client.Client
	for i, p := range procs {
		if kc[i], err = client.New(p.url, testProject, client.WithSigner(signer.Sign)); err != nil {
			t.Fatal(err)
		}
		for range 3 { // verified once, then served from the cache
			if _, err := kc[i].ListModels(ctx, modelreg.ModelFilter{Page: modelreg.Page{Limit: 1}}); err != nil {
				t.Fatalf("replica %d: the new key: %v", i, err)
			}
		}
	}

	// A project created on A is granted to its creator: usable at once on
	// A, whose cache still holds the key's old projects, and on B within
	// the bound.
	proj := &modelreg.Project{Name: "granted-" + strings.ToLower(auth.NewAccessKey()[:8])}
	mustUse := func(i int, deadline time.Time) {
		t.Helper()
		pc, err := client.New(procs[i].url, proj.ID, client.WithSigner(signer.Sign))
		if err != nil {
			t.Fatal(err)
		}
		for {
			_, err := pc.ListModels(ctx, modelreg.ModelFilter{Page: modelreg.Page{Limit: 1}})
			if err == nil {
				return
			}
			if client.StatusCode(err) != 403 || time.Now().After(deadline) {
				t.Fatalf("replica %d: the project just granted: %v", i, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := kc[0].CreateProject(ctx, proj); err != nil {
		t.Fatal(err)
	}
	mustUse(0, time.Now()) // no retry on A
	mustUse(1, time.Now().Add(revocationBound+30*time.Second))

	if err := admin.RevokeCredential(ctx, cred.AccessKey); err != nil {
		t.Fatal(err)
	}
	acked := time.Now()
	refused := func(i int) bool {
		t.Helper()
		_, err := kc[i].ListModels(ctx, modelreg.ModelFilter{Page: modelreg.Page{Limit: 1}})
		switch {
		case err == nil:
			return false
		case client.StatusCode(err) != 401 || modelreg.ErrorAPICode(err) != modelreg.CodeAKSKInvalid:
			t.Fatalf("replica %d: the revoked key: %v, want 401 %s", i, err, modelreg.CodeAKSKInvalid)
		}
		return true
	}
	if !refused(0) {
		t.Error("the replica that revoked the key still accepts it")
	}
	for !refused(1) {
		if time.Since(acked) > revocationBound+30*time.Second { // only a hung replica gets here
			t.Fatal("the other replica still accepts the revoked key")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the other replica refused the revoked key %v after the revocation was acknowledged", time.Since(acked))

	// Whatever the load: a request sent after the bound is refused by
	// every replica, since a replica's cache answers only while its last
	// read of the generation began less than auth.DefaultMaxStale ago.
	time.Sleep(time.Until(acked.Add(revocationBound)))
	for i := range kc {
		if !refused(i) {
			t.Errorf("replica %d accepts the revoked key %v after its revocation was acknowledged", i, revocationBound)
		}
	}
}

// TestReplicaUserDisable disables a user through replica A while both
// replicas have its access key cached: A refuses it at once, B within the
// bound; enabling the user again makes the key work on both.
func TestReplicaUserDisable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two servers")
	}
	ctx := context.Background()
	c := newCluster(t)
	procs := c.start(t, 2)
	admin := c.client(t, procs[0])
	u := &modelreg.User{Name: "disabled-" + strings.ToLower(auth.NewAccessKey()[:8]), ProjectIDs: []string{testProject}}
	if err := admin.CreateUser(ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	cred, sk, err := admin.CreateCredential(ctx, u.ID, "of a user the test disables")
	if err != nil {
		t.Fatal(err)
	}
	signer := &auth.Signer{AccessKey: cred.AccessKey, SecretKey: sk}
	var kc [2]*client.Client
	list := func(i int) error {
		_, err := kc[i].ListModels(ctx, modelreg.ModelFilter{Page: modelreg.Page{Limit: 1}})
		return err
	}
	for i, p := range procs {
		if kc[i], err = client.New(p.url, testProject, client.WithSigner(signer.Sign)); err != nil {
			t.Fatal(err)
		}
		for range 3 { // verified once, then served from the cache
			if err := list(i); err != nil {
				t.Fatalf("replica %d: the user's key: %v", i, err)
			}
		}
	}

	if _, err := admin.SetUserEnabled(ctx, u.ID, false); err != nil {
		t.Fatal(err)
	}
	acked := time.Now()
	refused := func(i int) bool {
		t.Helper()
		err := list(i)
		switch {
		case err == nil:
			return false
		case client.StatusCode(err) != 401 || modelreg.ErrorAPICode(err) != modelreg.CodeAKSKInvalid:
			t.Fatalf("replica %d: the disabled user's key: %v, want 401 %s", i, err, modelreg.CodeAKSKInvalid)
		}
		return true
	}
	if !refused(0) {
		t.Error("the replica that disabled the user still accepts its key")
	}
	for !refused(1) {
		if time.Since(acked) > revocationBound+30*time.Second { // only a hung replica gets here
			t.Fatal("the other replica still accepts the disabled user's key")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the other replica refused the disabled user's key %v after the change was acknowledged", time.Since(acked))
	time.Sleep(time.Until(acked.Add(revocationBound)))
	for i := range kc {
		if !refused(i) {
			t.Errorf("replica %d accepts the disabled user's key %v after the change was acknowledged", i, revocationBound)
		}
	}

	if _, err := admin.SetUserEnabled(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	for i := range kc { // a refusal is not cached: no wait
		if err := list(i); err != nil {
			t.Errorf("replica %d: the key of the user enabled again: %v", i, err)
		}
	}
}
