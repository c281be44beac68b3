package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/modelreg/modelreg"
)

// CatalogConfig is the --catalog part of Config.
type CatalogConfig struct {
	CatalogFile string // YAML or JSON file of runtimes, flavors and pools; "" means the built-in catalog
}

func (c *CatalogConfig) registerCatalog(fs *flag.FlagSet) {
	fs.StringVar(&c.CatalogFile, "catalog", c.CatalogFile, "YAML or JSON `file` of the AI engine runtimes, deployment flavors and dedicated pools on offer (default: the built-in catalog; see docs/configuration.md)")
}

// loadCatalog loads and checks --catalog, when serve starts.
func (c *CatalogConfig) loadCatalog() (*modelreg.Catalog, error) {
	if c.CatalogFile == "" {
		return modelreg.DefaultCatalog(), nil
	}
	cat, err := LoadCatalog(c.CatalogFile)
	if err != nil {
		return nil, fmt.Errorf("--catalog: %w", err)
	}
	return cat, nil
}

// LoadCatalog reads a catalog file: JSON when its name ends in .json, YAML
// otherwise. Unknown fields are errors (a misspelt field would otherwise be
// silently dropped). A section the file leaves out keeps the built-in
// default; an empty list empties it.
func LoadCatalog(path string) (*modelreg.Catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(filepath.Ext(path), ".json") {
		var doc any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if b, err = json.Marshal(doc); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	// Sections present in the file replace the defaults.
	var sections map[string]json.RawMessage
	if err := json.Unmarshal(b, &sections); err != nil {
		return nil, fmt.Errorf("%s: want an object with engines, specifications and clusters: %w", path, err)
	}
	def := modelreg.DefaultCatalog()
	cat := &modelreg.Catalog{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cat); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: data after the catalog", path)
	}
	if _, ok := sections["engines"]; !ok {
		cat.Engines = def.Engines
	}
	if _, ok := sections["specifications"]; !ok {
		cat.Flavors = def.Flavors
	}
	if err := cat.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cat, nil
}
