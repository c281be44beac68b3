package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/sqlstore"
)

// CreateModel stores m as publishing, with its import job, in one
// transaction. It assigns m.ID (when empty), m.Status, m.CreateAt and
// m.UpdateAt; m is left unchanged when it fails. Returns ECONFLICT
// ModelArts.3002 when the project has m.Name at m.Version already.
func (db *DB) CreateModel(ctx context.Context, m *modelreg.Model) error {
	c := *m
	if c.ID == "" {
		c.ID = modelreg.NewID()
	}
	err := db.update(ctx, "sqlite.CreateModel", func(tx *Tx) error {
		return createModel(ctx, tx, &c)
	})
	if err != nil {
		return err
	}
	*m = c
	return nil
}

func createModel(ctx context.Context, tx *Tx, m *modelreg.Model) error {
	m.Status = modelreg.ModelPublishing
	m.FailureReason = ""
	m.CreateAt = tx.ms()
	m.UpdateAt = m.CreateAt
	if err := insertModel(ctx, tx, m); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO import_jobs (model_id, project_id, source_location, attempts, not_before, created_at)
		VALUES (?, ?, ?, 0, ?, ?)`, m.ID, m.ProjectID, m.SourceLocation, m.CreateAt, m.CreateAt); err != nil {
		return err
	}
	return record(ctx, tx, modelreg.ImportEvent(ctx, m))
}

// insertModel inserts the row of m as it is. Returns ECONFLICT
// ModelArts.3002 when the project has m.Name at m.Version already, or m.ID
// is taken.
func insertModel(ctx context.Context, tx *Tx, m *modelreg.Model) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM models WHERE project_id = ? AND name = ? AND version = ?`,
		m.ProjectID, m.Name, m.Version).Scan(&one)
	if err == nil {
		return modelExists(m.Name, m.Version)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	summary, details, err := sqlstore.EncodeModel(m)
	if err != nil {
		return err
	}
	// seq keys the model in models_fts (see migration 0002); the single
	// writer makes max + 1 unique.
	_, err = tx.ExecContext(ctx, `INSERT INTO models (id, project_id, name, version, version_key, type, status,
		description, size, workspace_id, owner, tenant, create_at, update_at, failure_reason, config, summary, details, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT IFNULL(MAX(seq), 0) + 1 FROM models))`,
		m.ID, m.ProjectID, m.Name, m.Version, modelreg.VersionKey(m.Version), m.Type, m.Status,
		m.Description, m.Size, m.WorkspaceID, m.Owner, m.Tenant, m.CreateAt, m.UpdateAt, m.FailureReason, m.Config,
		summary, details)
	if isUniqueViolation(err) {
		// Only the id can collide here: the name and version were checked
		// in this transaction.
		return modelreg.Errorf(modelreg.ECONFLICT, modelreg.CodeModelExists, "Model (%s) already exists.", m.ID)
	}
	return err
}

// CreateModels stores published models without files or import jobs, all
// in one transaction or none (modelreg's bulk path, which seeds load tests
// and migrations). It assigns each model's ID (when empty), Status,
// CreateAt and UpdateAt; ms are left unchanged when it fails. Returns
// ECONFLICT ModelArts.3002 naming the first model whose name and version
// exist (in the store or earlier in ms).
//
// The rows are staged in a temporary table and moved into models by one
// INSERT … SELECT: FTS5 writes its pending index data out at the start of
// every statement that runs triggers, so inserting the rows one statement
// each would write one tiny index segment per model.
func (db *DB) CreateModels(ctx context.Context, ms []*modelreg.Model) error {
	cs := make([]modelreg.Model, len(ms))
	seen := make(map[[2]string]bool, len(ms))
	for i, m := range ms {
		cs[i] = *m
		if cs[i].ID == "" {
			cs[i].ID = modelreg.NewID()
		}
		k := [2]string{m.ProjectID + "/" + m.Name, m.Version}
		if seen[k] {
			return modelExists(m.Name, m.Version)
		}
		seen[k] = true
	}
	if len(cs) == 0 {
		return nil
	}
	err := db.update(ctx, "sqlite.CreateModels", func(tx *Tx) error {
		return createModels(ctx, tx, cs)
	})
	if err != nil {
		return err
	}
	for i, m := range ms {
		*m = cs[i]
	}
	return nil
}

func createModels(ctx context.Context, tx *Tx, cs []modelreg.Model) error {
	if _, err := tx.Tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS bulk_models AS SELECT * FROM models WHERE 0`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM temp.bulk_models`); err != nil {
		return err
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT IFNULL(MAX(seq), 0) FROM models`).Scan(&seq); err != nil {
		return err
	}
	for i := range cs {
		c := &cs[i]
		c.Status = modelreg.ModelPublished
		c.FailureReason = ""
		c.CreateAt = tx.ms()
		c.UpdateAt = c.CreateAt
		summary, details, err := sqlstore.EncodeModel(c)
		if err != nil {
			return err
		}
		seq++
		if _, err := tx.ExecContext(ctx, `INSERT INTO temp.bulk_models (id, project_id, name, version, version_key, type, status,
			description, size, workspace_id, owner, tenant, create_at, update_at, failure_reason, config, summary, details, seq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.ProjectID, c.Name, c.Version, modelreg.VersionKey(c.Version), c.Type, c.Status,
			c.Description, c.Size, c.WorkspaceID, c.Owner, c.Tenant, c.CreateAt, c.UpdateAt, c.FailureReason, c.Config,
			summary, details, seq); err != nil {
			return err
		}
	}
	var name, version string
	err := tx.QueryRowContext(ctx, `SELECT b.name, b.version FROM temp.bulk_models b
		JOIN models m ON m.project_id = b.project_id AND m.name = b.name AND m.version = b.version
		ORDER BY b.seq LIMIT 1`).Scan(&name, &version)
	if err == nil {
		return modelExists(name, version)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO models SELECT * FROM temp.bulk_models ORDER BY seq`)
	if isUniqueViolation(err) {
		// Only an id can collide: names and versions were checked.
		return modelreg.Errorf(modelreg.ECONFLICT, modelreg.CodeModelExists, "A model id already exists.")
	} else if err != nil {
		return err
	}
	if _, err = tx.ExecContext(ctx, `DELETE FROM temp.bulk_models`); err != nil {
		return err
	}
	for i := range cs {
		if err := record(ctx, tx, modelreg.ImportEvent(ctx, &cs[i]).With("bulk", true)); err != nil {
			return err
		}
	}
	return nil
}

func modelExists(name, version string) *modelreg.Error {
	return modelreg.Errorf(modelreg.ECONFLICT, modelreg.CodeModelExists, "Model (%s, %s) already exists.", name, version)
}

// FindModelByID returns a model with all its details.
// Returns ENOTFOUND ModelArts.3001.
func (db *DB) FindModelByID(ctx context.Context, projectID, id string) (*modelreg.Model, error) {
	// One statement: no transaction needed (a BEGIN and a ROLLBACK would
	// double the work of the most frequent read). A read by primary key
	// takes microseconds, so it is not made cancellable: with a context
	// that can end, database/sql and the driver each start a goroutine per
	// query to watch it, which cost about 5 % of a GET's CPU. A context
	// that has ended already still fails it.
	if err := ctx.Err(); err != nil {
		return nil, formatError("sqlite.FindModelByID", err)
	}
	r, gen, ok := db.models.get(projectID, id)
	if ok {
		m, err := r.model()
		return m, formatError("sqlite.FindModelByID", err)
	}
	m, r, err := findModelByID(context.WithoutCancel(ctx), db.queryRow, projectID, id)
	if err != nil {
		return nil, formatError("sqlite.FindModelByID", err)
	}
	db.models.put(gen, projectID, id, r)
	return m, nil
}

// findModelQuery reads a model (its columns packed, see packColumns) and
// its protection, in the fast form of packing and in the safe one.
var findModelQuery = func() packing {
	p := packColumns(sqlstore.ModelColumns)
	query := func(cols string) string {
		return `SELECT ` + cols + `,
			IFNULL((SELECT protected FROM model_protection WHERE model_id = models.id), 0)
			FROM models WHERE id = ? AND project_id = ?`
	}
	return packing{fast: query(p.fast), safe: query(p.safe)}
}()

// modelColumnCount is the number of sqlstore.ModelColumns.
var modelColumnCount = strings.Count(sqlstore.ModelColumns, ",") + 1

// modelRow is a model's row as findModelQuery reads it: the packed
// columns, in the safe form when safe, and the protection.
type modelRow struct {
	packed    string
	safe      bool
	protected bool
}

// findModelByID reads a model with its protection through queryRow (the
// database's or a transaction's), and the row it decoded: in the fast form
// of packing unless a column holds its separator. Returns ENOTFOUND
// ModelArts.3001.
func findModelByID(ctx context.Context, queryRow func(ctx context.Context, q string, args ...any) *sql.Row, projectID, id string) (*modelreg.Model, modelRow, error) {
	read := func(safe bool) (*modelreg.Model, modelRow, error) {
		r := modelRow{safe: safe}
		if err := queryRow(ctx, findModelQuery.form(safe), id, projectID).Scan(&r.packed, &r.protected); err != nil {
			return nil, r, err
		}
		m, err := r.model()
		return m, r, err
	}
	m, r, err := read(false)
	if errors.Is(err, errSeparator) {
		m, r, err = read(true)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, r, modelreg.ModelNotFound(id)
	}
	return m, r, err
}

// model decodes the row.
func (r modelRow) model() (*modelreg.Model, error) {
	m, err := sqlstore.ScanModel(packedRow{r, modelColumnCount, r.safe})
	if err != nil {
		return nil, err
	}
	m.Protected = r.protected
	return m, nil
}

// Scan implements sqlstore.Scanner for packedRow: the packed text into
// dest[0].
func (r modelRow) Scan(dest ...any) error {
	if len(dest) != 1 {
		return fmt.Errorf("model row: %d destinations for 1 column", len(dest))
	}
	*dest[0].(*string) = r.packed
	return nil
}

// FindModels returns one page of the models matching f and the number of
// all matches, in the order of f.SortBy then id, both in f.Order.
func (db *DB) FindModels(ctx context.Context, f modelreg.ModelFilter) ([]*modelreg.ModelSummary, int, error) {
	var models []*modelreg.ModelSummary
	var n int
	err := db.view(ctx, "sqlite.FindModels", func(tx *Tx) (err error) {
		models, n, err = findModels(ctx, tx, f)
		return err
	})
	return models, n, err
}

// findModels reads a page in three steps: the where-clause (modelWhere),
// the plan (planModelQuery, then seek once the total is known), and the
// query itself (modelQuery.run).
func findModels(ctx context.Context, tx *Tx, f modelreg.ModelFilter) ([]*modelreg.ModelSummary, int, error) {
	w := modelWhere(f)
	q := planModelQuery(f, w)
	if q.count {
		models, total, err := q.read(ctx, tx)
		if err != nil || len(models) > 0 {
			return models, total, err
		}
		// Only a page past the end needs a count of its own.
		total, err = countModels(ctx, tx, f, w)
		return models, total, err
	}
	total, err := countModels(ctx, tx, f, w)
	if err != nil {
		return nil, 0, err
	}
	if total == 0 || f.Skip() >= total {
		return []*modelreg.ModelSummary{}, total, nil
	}
	q.seek(f.After, total)
	models, _, err := q.read(ctx, tx)
	return models, total, err
}

// modelConds is the where-clause of a model filter.
type modelConds struct {
	where []string
	args  []any
	// narrow is set when the filter selects few models through an index of
	// its own (the name, a trigram index, the index of unpublished
	// models): the matches are then found that way and sorted, rather than
	// found by walking the project in sort order.
	narrow bool
	text   bool // a text filter: no counter knows its total
}

// modelWhere builds the where-clause of f.
func modelWhere(f modelreg.ModelFilter) modelConds {
	w := modelConds{where: []string{"project_id = ?"}, args: []any{f.ProjectID}}
	for _, c := range []struct {
		column, fts, v string
		exact          bool
	}{
		{"name", "models_name_fts", f.Name, f.ExactMatch},
		{"description", "models_description_fts", f.Description, false},
	} {
		switch {
		case c.v == "":
			continue
		case c.exact:
			w.where, w.args = append(w.where, c.column+" = ?"), append(w.args, c.v)
		case utf8.RuneCountInString(c.v) >= 3:
			// The trigram index holds the text with ASCII in lower case
			// and matches exactly: what LIKE finds, without a scan.
			w.where = append(w.where, "seq IN (SELECT rowid FROM "+c.fts+" WHERE "+c.fts+" MATCH ?)")
			w.args = append(w.args, `"`+strings.ReplaceAll(lowerASCII(c.v), `"`, `""`)+`"`)
			// The unary + keeps SQLite from scanning the project's index
			// and probing the matches, rather than the other way round.
			w.where[0] = "+project_id = ?"
		default:
			// Too short for a trigram: scan.
			w.where, w.args = append(w.where, c.column+` LIKE ? ESCAPE '\'`), append(w.args, likePattern(c.v))
			w.text = true
			continue
		}
		w.narrow, w.text = true, true
	}
	for _, c := range []struct {
		expr, v string
	}{
		{"version = ?", f.Version},
		{"status = ?", f.Status},
		{"type = ?", f.Type},
		{"type <> ?", f.NotType},
		{"workspace_id = ?", f.WorkspaceID},
	} {
		if c.v != "" {
			w.where, w.args = append(w.where, c.expr), append(w.args, c.v)
		}
	}
	if f.Status != "" && f.Status != modelreg.ModelPublished {
		// The literal term lets SQLite use the partial index.
		w.where = append(w.where, "status <> 'published'")
		w.narrow = true
	}
	return w
}

// planModelQuery chooses how the page of f is read, before the total is
// known: a narrow filter without a cursor reads and sorts all its matches
// anyway, so it counts them in the same pass; any other reads the page
// after counting (see seek).
func planModelQuery(f modelreg.ModelFilter, w modelConds) modelQuery {
	sortCol := sqlstore.ModelSortColumn(f.SortBy)
	q := modelQuery{where: w.where, args: w.args, sortCol: sortCol, desc: f.Desc(), limit: f.Limit, skip: f.Skip()}
	if w.narrow {
		// The unary + keeps SQLite from walking the sort column's index.
		q.sortCol = "+" + sortCol
		q.count = f.After == nil
	}
	return q
}

// seek places the page among total matches: right after the cursor after
// (keyset continuation), or, past the middle, counted from the other end.
func (q *modelQuery) seek(after *modelreg.ModelCursor, total int) {
	switch {
	case after != nil:
		// The rows after the cursor in sort order.
		op := ">"
		if q.desc {
			op = "<"
		}
		q.where = append(slices.Clip(q.where), "("+strings.TrimPrefix(q.sortCol, "+")+", id) "+op+" (?, ?)")
		q.args = append(slices.Clip(q.args), after.Key, after.ID)
		q.skip = 0
	case q.skip > total/2:
		// A page past the middle is read from the other end: skipping
		// total-skip-limit records backwards costs less than skipping
		// skip forwards, and total is exact (same snapshot).
		q.reverse, q.desc = true, !q.desc
		back := total - q.skip - q.limit
		if back < 0 {
			q.limit += back
			back = 0
		}
		q.skip = back
	}
}

// listColumns are the columns of a list item, of the models aliased m,
// packed (see packColumns), and listColumnCount their number.
var (
	listColumns     = packColumns(sqlstore.SummaryColumns("m."))
	listColumnCount = strings.Count(sqlstore.SummaryColumns(""), ",") + 1
)

// modelQuery is the query of one page of models.
type modelQuery struct {
	where       []string
	args        []any
	sortCol     string
	desc        bool
	limit, skip int
	reverse     bool // reverse the rows read (a page read from the end)
	count       bool // also count every match, in the same pass
}

// read reads the page, and with q.count the number of all matches (0 when
// the page is empty): with its columns packed in the fast form, and again
// in the safe form when a column holds the fast form's separator.
func (q modelQuery) read(ctx context.Context, tx *Tx) ([]*modelreg.ModelSummary, int, error) {
	models, total, err := q.run(ctx, tx, false)
	if errors.Is(err, errSeparator) {
		return q.run(ctx, tx, true)
	}
	return models, total, err
}

// query returns the SQL of the page, its columns packed in the safe form
// when safe; queryArgs its arguments. Without q.count the page is read
// from the sort column's index alone, which holds every list column
// (migration 0013).
func (q modelQuery) query(safe bool) string {
	order := "ASC"
	if q.desc {
		order = "DESC"
	}
	if !q.count {
		return `SELECT ` + listColumns.form(safe) + ` FROM models m WHERE ` + strings.Join(q.where, " AND ") +
			` ORDER BY ` + q.sortCol + ` ` + order + `, id ` + order + ` LIMIT ? OFFSET ?`
	}
	// Sort and count the matches by their keys alone (models_seq covers
	// them for a substring match), then read the rows of the page only.
	return `SELECT ` + listColumns.form(safe) + `, p.n FROM (SELECT rowid AS r, COUNT(*) OVER () AS n FROM models
		WHERE ` + strings.Join(q.where, " AND ") + ` ORDER BY ` + q.sortCol + ` ` + order + `, id ` + order + ` LIMIT ? OFFSET ?) p
		JOIN models m ON m.rowid = p.r ORDER BY m.` + strings.TrimPrefix(q.sortCol, "+") + ` ` + order + `, m.id ` + order
}

func (q modelQuery) queryArgs() []any {
	return append(slices.Clip(q.args), q.limit, q.skip)
}

// run reads the page with its columns packed in the safe form when safe.
func (q modelQuery) run(ctx context.Context, tx *Tx, safe bool) ([]*modelreg.ModelSummary, int, error) {
	rows, err := tx.QueryContext(ctx, q.query(safe), q.queryArgs()...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	models := []*modelreg.ModelSummary{}
	total := 0
	decoded := sqlstore.NewSummaryDecoder()
	for rows.Next() {
		var m, cols modelreg.ModelSummary
		var summary string
		dst := sqlstore.SummaryDest(&cols, &summary)
		if q.count {
			dst = append(dst, &total)
		}
		if err := (packedRow{rows, listColumnCount, safe}).Scan(dst...); err != nil {
			return nil, 0, err
		}
		if err := decoded.Decode(summary, &m); err != nil {
			return nil, 0, err
		}
		sqlstore.SetSummaryColumns(&m, &cols)
		models = append(models, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if q.reverse {
		slices.Reverse(models)
	}
	return models, total, nil
}

// countModels returns the number of models matching f, whose where-clause
// is w. With no filter but status, type and not-type it
// sums model_counts; otherwise it counts the matches.
func countModels(ctx context.Context, tx *Tx, f modelreg.ModelFilter, w modelConds) (int, error) {
	var total int
	if w.text || f.Version != "" || f.WorkspaceID != "" {
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM models WHERE `+strings.Join(w.where, " AND "), w.args...).Scan(&total)
		return total, err
	}
	q, cargs := `SELECT IFNULL(SUM(n), 0) FROM model_counts WHERE project_id = ?`, []any{f.ProjectID}
	if f.Status != "" {
		q, cargs = q+` AND status = ?`, append(cargs, f.Status)
	}
	if f.Type != "" {
		q, cargs = q+` AND type = ?`, append(cargs, f.Type)
	}
	if f.NotType != "" {
		q, cargs = q+` AND type <> ?`, append(cargs, f.NotType)
	}
	err := tx.QueryRowContext(ctx, q, cargs...).Scan(&total)
	return total, err
}

// lowerASCII returns s with its ASCII letters in lower case, as SQLite's
// lower() does.
func lowerASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// FindCascadeSet returns the models a cascade delete of id works on: id
// first, then the other versions of its name oldest first (ties by id), at
// most limit in all (DefaultCascadeLimit when limit < 1), and how many
// versions it left out. Returns ENOTFOUND ModelArts.3001.
func (db *DB) FindCascadeSet(ctx context.Context, projectID, id string, limit int) (modelreg.CascadeSet, error) {
	var set modelreg.CascadeSet
	err := db.view(ctx, "sqlite.FindCascadeSet", func(tx *Tx) (err error) {
		set, err = findCascadeSet(ctx, tx, projectID, id, limit)
		return err
	})
	return set, err
}

func findCascadeSet(ctx context.Context, tx *Tx, projectID, id string, limit int) (modelreg.CascadeSet, error) {
	if limit < 1 {
		limit = modelreg.DefaultCascadeLimit
	}
	var name string
	err := tx.QueryRowContext(ctx, `SELECT name FROM models WHERE id = ? AND project_id = ?`, id, projectID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return modelreg.CascadeSet{}, modelreg.ModelNotFound(id)
	} else if err != nil {
		return modelreg.CascadeSet{}, err
	}
	set := modelreg.CascadeSet{IDs: []string{id}}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM models WHERE project_id = ? AND name = ? AND id <> ?
		ORDER BY create_at, id LIMIT ?`, projectID, name, id, limit-1)
	if err != nil {
		return modelreg.CascadeSet{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var other string
		if err := rows.Scan(&other); err != nil {
			return modelreg.CascadeSet{}, err
		}
		set.IDs = append(set.IDs, other)
	}
	if err := rows.Err(); err != nil {
		return modelreg.CascadeSet{}, err
	}
	var others int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM models WHERE project_id = ? AND name = ? AND id <> ?`,
		projectID, name, id).Scan(&others); err != nil {
		return modelreg.CascadeSet{}, err
	}
	set.Remaining = others - (len(set.IDs) - 1)
	return set, nil
}

// DeleteModelBatch deletes the models ids in one transaction and returns
// each model's refusal in its place: a model that is gone, deployed or
// protected is refused, the others are deleted together (deleteModels), or
// with opt.Trash moved into the trash (trashModels). Returns ENOTFOUND
// ModelArts.3001, and deletes nothing, when the first id does not exist,
// and EPRECONDITION ModelReg.0412 when opt.IfMatch does not hold for it. A
// single delete is a batch of one. With opt.DryRun the transaction is
// rolled back after the work: the results are the real ones. queued is the
// number of blob digests the call queued for collection (0 for a preview).
func (db *DB) DeleteModelBatch(ctx context.Context, projectID string, ids []string, opt modelreg.DeleteOptions) (errs []error, queued int, err error) {
	const op = "sqlite.DeleteModelBatch"
	err = db.update(ctx, op, func(tx *Tx) (err error) {
		if errs, queued, err = deleteModelBatch(ctx, tx, projectID, ids, opt); err == nil && opt.DryRun {
			return errDryRun
		}
		return err
	})
	if modelreg.ErrorCode(err) == modelreg.EPRECONDITION && !opt.DryRun {
		// A refused delete leaves its event: the refusal changed nothing,
		// so it is written on its own.
		if rerr := db.update(ctx, op, func(tx *Tx) error {
			return record(ctx, tx, modelreg.DeleteRefusedEvent(ctx, projectID, ids[0], "", "", err))
		}); rerr != nil {
			return nil, 0, rerr
		}
	}
	if errors.Is(err, errDryRun) {
		queued = 0
	} else if err != nil {
		return nil, 0, err
	}
	for i, err := range errs {
		errs[i] = formatError(op, err)
	}
	return errs, queued, nil
}

// errDryRun rolls back the transaction of a preview.
var errDryRun = errors.New("dry run: rolled back")

func deleteModelBatch(ctx context.Context, tx *Tx, projectID string, ids []string, opt modelreg.DeleteOptions) ([]error, int, error) {
	deletable, errs, names, err := checkDeletable(ctx, tx, projectID, ids)
	if err != nil {
		return nil, 0, err
	}
	if modelreg.ErrorCode(errs[0]) == modelreg.ENOTFOUND {
		return nil, 0, errs[0]
	}
	if opt.IfMatch != nil {
		m, _, err := findModelByID(ctx, tx.QueryRowContext, projectID, ids[0])
		if err != nil {
			return nil, 0, err
		}
		if !modelreg.MatchETag(opt.IfMatch, modelreg.ETag(m)) {
			return nil, 0, modelreg.PreconditionFailed("model " + ids[0])
		}
	}
	if len(deletable) == 0 {
		return errs, 0, recordDeletes(ctx, tx, projectID, ids, errs, names, nil, opt)
	}
	var gone, trashed []string
	for _, d := range deletable {
		if opt.Trash > 0 && d.status != modelreg.ModelPublishing {
			trashed = append(trashed, d.id)
		} else {
			gone = append(gone, d.id)
		}
	}
	if err := trashModels(ctx, tx, projectID, trashed, opt); err != nil {
		return nil, 0, err
	}
	queued, err := deleteModels(ctx, tx, gone)
	if isConstraint(err) && len(ids) == 1 {
		// The only constraint a delete can violate is service_models'
		// ON DELETE RESTRICT: the database's own guard behind the
		// single writer's check. For a batch it fails the whole call.
		return nil, 0, modelreg.ModelDeployed(ids[0])
	} else if err != nil {
		return nil, 0, err
	}
	return errs, queued, recordDeletes(ctx, tx, projectID, ids, errs, names, trashed, opt)
}

// recordDeletes records the event of each model of a delete call, in the
// call's order: model.delete for those deleted (or trashed), and
// model.delete_refused for those refused (a model gone meanwhile has none).
func recordDeletes(ctx context.Context, tx *Tx, projectID string, ids []string, errs []error, names [][2]string, trashed []string, opt modelreg.DeleteOptions) error {
	for i, id := range ids {
		var ev *modelreg.AuditEvent
		switch {
		case errs[i] == nil:
			ev = modelreg.DeleteEvent(ctx, projectID, id, names[i][0], names[i][1], slices.Contains(trashed, id))
		case modelreg.ErrorCode(errs[i]) != modelreg.ENOTFOUND:
			ev = modelreg.DeleteRefusedEvent(ctx, projectID, id, names[i][0], names[i][1], errs[i])
		default:
			continue
		}
		if err := record(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}

// deleteModels deletes the models ids for good: their files and import
// jobs go with them (ON DELETE CASCADE), their blobs that no other model
// (live or trashed) references are queued for collection (queueModelBlobs).
// It is the one place a model row is deleted: a delete without the trash,
// and a purge. It returns the number of digests it queued.
//
// The models go in one DELETE statement: FTS5 writes its pending index
// changes out at the start of every statement that runs triggers, so a
// DELETE a model would write one index segment a model.
func deleteModels(ctx context.Context, tx *Tx, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	queued, err := queueModelBlobs(ctx, tx, ids)
	if err != nil {
		return 0, err
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM models WHERE id IN (SELECT value FROM json_each(?))`, string(list))
	return int(queued), err
}

// deletable is a model a delete may remove.
type deletable struct {
	id, status, name, version string
}

// checkDeletable checks each of ids in one query: it returns the models
// that may be deleted, and for each id its refusal or nil: ENOTFOUND
// ModelArts.3001 unless the model exists in the project, ECONFLICT
// ModelReg.3101 when it is protected, ECONFLICT ModelArts.3009 when a
// service references it.
func checkDeletable(ctx context.Context, tx *Tx, projectID string, ids []string) ([]deletable, []error, [][2]string, error) {
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, nil, nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT j.key, m.id IS NOT NULL, IFNULL(m.status, ''), IFNULL(m.name, ''), IFNULL(m.version, ''),
			EXISTS (SELECT 1 FROM service_models s WHERE s.model_id = j.value),
			IFNULL(p.protected, 0), IFNULL(p.reason, '')
		FROM json_each(?) j LEFT JOIN models m ON m.id = j.value AND m.project_id = ?
		LEFT JOIN model_protection p ON p.model_id = m.id
		ORDER BY j.key`, string(list), projectID)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	errs := make([]error, len(ids))
	names := make([][2]string, len(ids))
	var ok []deletable
	for rows.Next() {
		var i int
		var exists, deployed, protected bool
		var status, name, version, reason string
		if err := rows.Scan(&i, &exists, &status, &name, &version, &deployed, &protected, &reason); err != nil {
			return nil, nil, nil, err
		}
		names[i] = [2]string{name, version}
		switch {
		case !exists:
			errs[i] = modelreg.ModelNotFound(ids[i])
		case protected:
			errs[i] = modelreg.ModelProtected(ids[i], reason)
		case deployed:
			errs[i] = modelreg.ModelDeployed(ids[i])
		default:
			ok = append(ok, deletable{ids[i], status, name, version})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, err
	}
	return ok, errs, names, nil
}

// FindModelFiles returns the files of a model ordered by path.
// Returns ENOTFOUND ModelArts.3001.
func (db *DB) FindModelFiles(ctx context.Context, projectID, id string) ([]modelreg.ModelFile, error) {
	var files []modelreg.ModelFile
	err := db.view(ctx, "sqlite.FindModelFiles", func(tx *Tx) (err error) {
		files, err = findModelFiles(ctx, tx, projectID, id)
		return err
	})
	return files, err
}

func findModelFiles(ctx context.Context, tx *Tx, projectID, id string) ([]modelreg.ModelFile, error) {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM models WHERE id = ? AND project_id = ?`, id, projectID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, modelreg.ModelNotFound(id)
	} else if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT path, digest, size FROM model_files WHERE model_id = ? ORDER BY path`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	files := []modelreg.ModelFile{}
	for rows.Next() {
		var f modelreg.ModelFile
		if err := rows.Scan(&f.Path, &f.Digest, &f.Size); err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, rows.Err()
}

// FindModelNames returns the aggregates of the names of f that have a
// matching version, in the order of f.Names: one statement over the
// models_project_name index, the newest version of each name by a window.
func (db *DB) FindModelNames(ctx context.Context, f modelreg.ModelNameFilter) ([]*modelreg.ModelName, error) {
	where := []string{"project_id = ?", "name IN (?" + strings.Repeat(", ?", len(f.Names)-1) + ")"}
	args := []any{f.ProjectID}
	for _, n := range f.Names {
		args = append(args, n)
	}
	if f.Description != "" {
		// The names select few rows: LIKE matches what the trigram
		// index of the model list matches (ASCII case-insensitive).
		where, args = append(where, `description LIKE ? ESCAPE '\'`), append(args, likePattern(f.Description))
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.Type != "" {
		where, args = append(where, "type = ?"), append(args, f.Type)
	}
	// The safe packing: this is not a hot read (see packColumns).
	q := `SELECT ` + listColumns.safe + `, p.n, p.deployed, p.protected FROM (SELECT id,
			ROW_NUMBER() OVER w AS rn, COUNT(*) OVER p AS n,
			MAX(EXISTS (SELECT 1 FROM service_models s WHERE s.model_id = models.id)) OVER p AS deployed,
			MAX(IFNULL((SELECT protected FROM model_protection x WHERE x.model_id = models.id), 0)) OVER p AS protected
		FROM models WHERE ` + strings.Join(where, " AND ") + `
		WINDOW p AS (PARTITION BY name), w AS (PARTITION BY name ORDER BY create_at DESC, id DESC)) p
		JOIN models m ON m.id = p.id WHERE p.rn = 1`
	got := map[string]*modelreg.ModelName{}
	err := db.view(ctx, "sqlite.FindModelNames", func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m, cols modelreg.ModelSummary
			var summary string
			var a modelreg.ModelName
			if err := (packedRow{rows, listColumnCount, true}).Scan(append(sqlstore.SummaryDest(&cols, &summary), &a.VersionCount, &a.Deployed, &a.Protected)...); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(summary), &m); err != nil {
				return err
			}
			sqlstore.SetSummaryColumns(&m, &cols)
			a.Name, a.Newest = m.Name, &m
			got[m.Name] = &a
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return sqlstore.NameAggregates(f.Names, got), nil
}
