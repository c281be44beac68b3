// Package sqlstore holds what the SQL stores (internal/sqlite,
// internal/postgres) share that is not SQL of one dialect: how a model and
// a service are encoded into their rows and decoded from them, the columns
// a validated list Page sorts by, and the merge of migration statuses the
// CLI reports. It depends on the root package only.
package sqlstore

import "github.com/modelreg/modelreg"

// ModelSortColumn returns the models column of a validated sort key.
func ModelSortColumn(sortBy string) string {
	switch sortBy {
	case modelreg.ModelSortVersion:
		return "version_key"
	case modelreg.ModelSortSize:
		return "size"
	}
	return "create_at"
}

// ServiceSortColumn returns the services column of a validated sort key.
func ServiceSortColumn(sortBy string) string {
	if sortBy == modelreg.ServiceSortName {
		return "name"
	}
	return "publish_at"
}

// Direction returns the SQL direction of a validated page: ASC or DESC.
func Direction(p modelreg.Page) string {
	if p.Desc() {
		return "DESC"
	}
	return "ASC"
}
