package client_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
)

// ExampleWithAccessKey lists a project's models with a client that signs
// every request with an access key, as the Huawei Cloud SDK does. It uses
// only the public API (this file is package client_test); CI compiles it.
func ExampleWithAccessKey() {
	c, err := client.New("http://127.0.0.1:8080", os.Getenv("MODELREG_PROJECT_ID"),
		client.WithAccessKey(os.Getenv("MODELREG_ACCESS_KEY"), os.Getenv("MODELREG_SECRET_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	list, err := c.ListModels(context.Background(), modelreg.ModelFilter{Name: "resnet", Page: modelreg.Page{Limit: 10}})
	if err != nil {
		log.Fatal(modelreg.ErrorCode(err), err)
	}
	for _, m := range list.Models {
		fmt.Println(m.ID, m.Name, m.Version, m.Status)
	}
}
