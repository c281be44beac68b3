package httpapi_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/modelreg/modelreg"
)

// TestConcurrentDeletes sends 20 DELETEs of one model at once: exactly one
// call deletes it; the others see it gone (404 ModelArts.3001, or a call
// that lists it nowhere as deleted).
func TestConcurrentDeletes(t *testing.T) { eachStore(t, testConcurrentDeletes) }

func testConcurrentDeletes(t *testing.T) {
	ctx := context.Background()
	e := MustServe(t)
	for round := range 3 {
		id := MustImportPublished(t, e, e.c, "contended", fmt.Sprintf("1.0.%d", round))
		const n = 20
		var (
			wg       sync.WaitGroup
			start    = make(chan struct{})
			results  = make([]*modelreg.DeleteResult, n)
			failures = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				results[i], failures[i] = e.c.DeleteModel(ctx, id, i%2 == 0)
			})
		}
		close(start)
		wg.Wait()
		deleted := 0
		for i := range n {
			switch err := failures[i]; {
			case err == nil:
				if slices.Contains(results[i].Success, id) {
					deleted++
				}
			case modelreg.ErrorAPICode(err) != modelreg.CodeModelNotFound:
				t.Errorf("call %d: %v, want success or 404 ModelArts.3001", i, err)
			}
		}
		if deleted != 1 {
			t.Errorf("round %d: %d calls deleted the model, want exactly 1", round, deleted)
		}
		if _, err := e.c.GetModel(ctx, id); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
			t.Errorf("round %d: the model is still there: %v", round, err)
		}
	}
}

// TestDeployDeleteRace deploys and deletes the same model at once, many
// times: never both succeed, and never both fail.
func TestDeployDeleteRace(t *testing.T) { eachStore(t, testDeployDeleteRace) }

func testDeployDeleteRace(t *testing.T) {
	ctx := context.Background()
	e := MustServe(t)
	deployedWins, deleteWins := 0, 0
	for i := range 30 {
		id := MustImportPublished(t, e, e.c, fmt.Sprintf("raced-%d", i), "1.0.0")
		var (
			wg        sync.WaitGroup
			start     = make(chan struct{})
			created   *modelreg.ServiceCreateResult
			deployErr error
			res       *modelreg.DeleteResult
			deleteErr error
		)
		wg.Go(func() {
			<-start
			created, deployErr = e.c.CreateService(ctx, newService(fmt.Sprintf("svc-%d", i), id))
		})
		wg.Go(func() {
			<-start
			res, deleteErr = e.c.DeleteModel(ctx, id, i%2 == 0)
		})
		close(start)
		wg.Wait()

		if deleteErr != nil {
			t.Fatalf("round %d: delete call failed: %v", i, deleteErr)
		}
		deleted := slices.Contains(res.Success, id)
		deployed := deployErr == nil
		switch {
		case deployed && deleted:
			t.Fatalf("round %d: the model was deleted and deployed (service %s)", i, created.ServiceID)
		case deployed:
			deployedWins++
			if len(res.Failed) != 1 || res.Failed[0].ErrorCode != modelreg.CodeModelDeployed {
				t.Errorf("round %d: deploy won but the delete reported %+v", i, res)
			}
			if _, err := e.c.GetModel(ctx, id); err != nil {
				t.Errorf("round %d: deployed model is gone: %v", i, err)
			}
		case deleted:
			deleteWins++
			if modelreg.ErrorAPICode(deployErr) != modelreg.CodeServiceModelGone {
				t.Errorf("round %d: delete won but the deploy failed with %v, want ModelArts.3507", i, deployErr)
			}
		default:
			t.Errorf("round %d: neither succeeded: deploy %v, delete %+v", i, deployErr, res)
		}
	}
	t.Logf("deploy won %d times, delete won %d times", deployedWins, deleteWins)
	list, err := e.c.ListServices(ctx, modelreg.ServiceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if list.TotalCount != deployedWins {
		t.Errorf("%d services exist, want %d", list.TotalCount, deployedWins)
	}
}
