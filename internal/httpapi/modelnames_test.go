package httpapi_test

import (
	"context"
	"testing"

	"github.com/modelreg/modelreg"
)

func TestModelNames(t *testing.T) { eachStore(t, testModelNames) }

// testModelNames reads the per-name aggregates through the client: the
// count, the newest version as the model list shows it, the deployed and
// protected flags and the filters (the project's authorisation is
// auth_test.go's OtherProjectModelNames).
func testModelNames(t *testing.T) {
	e := MustServe(t)
	ctx := context.Background()
	a1 := MustImportPublished(t, e, e.c, "alpha", "1.0.0")
	MustImportPublished(t, e, e.c, "alpha", "1.0.1")
	b1 := MustImportPublished(t, e, e.c, "beta", "1.0.0")
	MustImportPublished(t, e, e.cb, "alpha", "9.0.0") // project B
	MustDeploy(t, e.c, "svc", a1)
	if _, err := e.c.SetProtection(ctx, b1, true, "keep"); err != nil {
		t.Fatal(err)
	}
	res, err := e.c.ModelNames(ctx, modelreg.ModelNameFilter{Names: []string{"beta", "gamma", "alpha"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count != 2 || len(res.Names) != 2 {
		t.Fatalf("got %d names (count %d), want beta and alpha", len(res.Names), res.Count)
	}
	beta, alpha := res.Names[0], res.Names[1]
	if beta.Name != "beta" || beta.VersionCount != 1 || beta.Newest.ID != b1 || beta.Deployed || !beta.Protected {
		t.Errorf("beta = %+v, want 1 version, protected, not deployed", beta)
	}
	list, err := e.c.ListModels(ctx, modelreg.ModelFilter{Name: "alpha", ExactMatch: true, Page: modelreg.Page{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if alpha.Name != "alpha" || alpha.VersionCount != 2 || !alpha.Deployed || alpha.Protected {
		t.Errorf("alpha = %+v, want 2 versions, deployed, not protected", alpha)
	}
	if alpha.Newest.ID != list.Models[0].ID || alpha.Newest.Version != list.Models[0].Version {
		t.Errorf("alpha newest = %s, want the list's first, %s", alpha.Newest.Version, list.Models[0].Version)
	}
	// A filter: the type matches nothing.
	res, err = e.c.ModelNames(ctx, modelreg.ModelNameFilter{Names: []string{"alpha"}, Type: "MindSpore"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count != 0 || res.Names == nil || len(res.Names) != 0 {
		t.Errorf("type MindSpore: got %+v, want an empty list", res)
	}
}
