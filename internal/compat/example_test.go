package compat_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/def"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
)

// Example_readme is the Go snippet of the README's "Authentication"
// section, kept here so that it compiles. It needs a running server, so it
// has no output to check and is not run.
func Example_readme() {
	cred, err := basic.NewCredentialsBuilder().
		WithAk(os.Getenv("MODELREG_ACCESS_KEY")).
		WithSk(os.Getenv("MODELREG_SECRET_KEY")).
		WithProjectId(os.Getenv("MODELREG_PROJECT_ID")). // or leave it out and use WithRegion(region.NewRegion(
		SafeBuild()                                      // "<project name>", endpoint)) with WithIamEndpointOverride(endpoint)
	if err != nil {
		log.Fatal(err)
	}
	client, err := core.NewHcHttpClientBuilder().
		WithEndpoints([]string{"http://127.0.0.1:8080"}).
		WithCredential(cred).
		SafeBuild()
	if err != nil {
		log.Fatal(err)
	}

	type listModelsRequest struct {
		ModelName *string `json:"model_name,omitempty"`
	}
	type listModelsResponse struct {
		TotalCount int `json:"total_count"`
		Models     []struct {
			ID      string `json:"model_id"`
			Version string `json:"model_version"`
		} `json:"models"`
		HttpStatusCode int `json:"-"`
	}
	listModels := def.NewHttpRequestDefBuilder().
		WithMethod(http.MethodGet).
		WithPath("/v1/{project_id}/models").
		WithResponse(new(listModelsResponse)).
		WithContentType("application/json").
		WithRequestField(def.NewFieldDef().WithName("ModelName").WithJsonTag("model_name").WithLocationType(def.Query)).
		Build()

	name := "digits"
	resp, err := client.Sync(&listModelsRequest{ModelName: &name}, listModels)
	var se *sdkerr.ServiceResponseError
	if errors.As(err, &se) {
		log.Fatalf("%d %s: %s (request %s)", se.StatusCode, se.ErrorCode, se.ErrorMessage, se.RequestId)
	} else if err != nil {
		log.Fatal(err)
	}
	for _, m := range resp.(*listModelsResponse).Models {
		fmt.Println(m.ID, m.Version)
	}
}
