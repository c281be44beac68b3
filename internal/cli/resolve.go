package cli

import (
	"strings"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
)

// splitModelRef splits NAME:VERSION; version is "" for a bare NAME.
func splitModelRef(ref string) (name, version string) {
	if i := strings.LastIndex(ref, ":"); i > 0 {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

// versionsOf returns every version of the model name (exact match), oldest
// first, paging through the list.
func (e *env) versionsOf(c *client.Client, name string) ([]*modelreg.ModelSummary, error) {
	f := modelreg.ModelFilter{Name: name, ExactMatch: true, Page: modelreg.Page{Limit: 1000, SortBy: "create_at", Order: "asc"}}
	var all []*modelreg.ModelSummary
	for {
		list, err := c.ListModels(e.ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, list.Models...)
		if list.NextMarker == "" || len(list.Models) == 0 {
			return all, nil
		}
		f.Marker = list.NextMarker
	}
}

// resolveModel returns the id of the model ref names: a model id as it is,
// NAME:VERSION, or a bare NAME that has exactly one version.
func (e *env) resolveModel(c *client.Client, ref string) (string, error) {
	if modelreg.ValidID(ref) {
		return ref, nil
	}
	name, version := splitModelRef(ref)
	vs, err := e.versionsOf(c, name)
	if err != nil {
		return "", err
	}
	if version != "" {
		for _, m := range vs {
			if m.Version == version {
				return m.ID, nil
			}
		}
		return "", modelreg.Errorf(modelreg.ENOTFOUND, modelreg.CodeModelNotFound, "No model %s version %s.", name, version)
	}
	switch len(vs) {
	case 0:
		return "", modelreg.Errorf(modelreg.ENOTFOUND, modelreg.CodeModelNotFound, "No model named %s (give a model id, NAME:VERSION or NAME).", name)
	case 1:
		return vs[0].ID, nil
	}
	versions := make([]string, len(vs))
	for i, m := range vs {
		versions[i] = m.Version
	}
	return "", usagef("model %s has %d versions (%s): give NAME:VERSION", name, len(vs), strings.Join(versions, ", "))
}

// resolveService returns the id of the service ref names: an id as it is,
// else the service of that exact name.
func (e *env) resolveService(c *client.Client, ref string) (string, error) {
	if modelreg.ValidID(ref) {
		return ref, nil
	}
	list, err := c.ListServices(e.ctx, modelreg.ServiceFilter{Name: ref})
	if err != nil {
		return "", err
	}
	for _, s := range list.Services {
		if s.Name == ref {
			return s.ID, nil
		}
	}
	return "", modelreg.Errorf(modelreg.ENOTFOUND, modelreg.CodeServiceNotFound, "No service named %s.", ref)
}

// resolveServices resolves each of refs.
func (e *env) resolveServices(c *client.Client, refs []string) ([]string, error) {
	ids := make([]string, len(refs))
	for i, r := range refs {
		id, err := e.resolveService(c, r)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

// pinningServices returns the names of the services that use the model id,
// for a refusal with ModelArts.3009.
func (e *env) pinningServices(c *client.Client, id string) []string {
	list, err := c.ListServices(e.ctx, modelreg.ServiceFilter{ModelID: id})
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(list.Services))
	for _, s := range list.Services {
		names = append(names, s.Name)
	}
	return names
}
