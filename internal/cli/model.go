package cli

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
)

// waitInterval is how often model import --wait polls the model.
const waitInterval = 300 * time.Millisecond

func modelCommands() []*command {
	return []*command{
		{
			name:    "model import",
			args:    "SOURCE --name NAME --version N.N.N --type TYPE [flags]",
			summary: "import a model from a folder or a URL",
			help: `SOURCE is a local folder, sent as an absolute file:// URL (the server must
run on this machine and have the folder under one of its --import-root
directories), or a URL passed as it is (obs://bucket/path, s3://bucket/path,
file:///path). The model is publishing until the server has copied its
files; --wait waits for that and fails when the import fails.`,
			flags: modelImport,
		},
		{
			name:    "model list",
			args:    "[flags]",
			summary: "list models",
			flags:   modelList,
		},
		{
			name:    "model show",
			args:    "MODEL [flags]",
			summary: "show the details of a model",
			flags:   modelShow,
		},
		{
			name:    "model delete",
			args:    "MODEL [--cascade] [--dry-run] [--yes] | NAME --all [flags]",
			summary: "delete a model, or with --cascade every version of its name",
			help: `MODEL is a model id or NAME:VERSION. A model used by a service (in any
status) is not deleted: it is reported with ModelArts.3009, with the
services that pin it, and the other models are still deleted; so is a
protected model (ModelReg.3101, see model protect). The command prints
every model with its result and exits with status 1 when any model was not
deleted. A cascade deletes at most the server's --cascade-limit models per
call and names a version that remains.

On a terminal the command first shows what the delete would do (the
server's preview, which changes nothing) and asks for confirmation; --yes
skips the question. The delete then happens only if the target model has
not changed since the preview (If-Match). --dry-run shows the preview and
stops. Without a terminal (a script) it deletes at once, as without these
flags, unless --dry-run is given.

--all deletes every version of the name NAME: it repeats the cascade until
the name is gone or only versions that cannot be deleted remain, and ends
with a summary.`,
			flags: modelDelete,
		},
	}
}

// sourceURL turns a local path into an absolute file:// URL and passes
// anything with a scheme through.
func sourceURL(src string) (string, error) {
	if u, err := url.Parse(src); err == nil && len(u.Scheme) > 1 && strings.Contains(src, "://") {
		return src, nil
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", src, err)
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

func modelImport(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	var m modelreg.ModelImport
	fs.StringVar(&m.Name, "name", "", "model `name` (required)")
	fs.StringVar(&m.Version, "version", "", "model `version`, N.N.N (required)")
	fs.StringVar(&m.Type, "type", "", "model `type`: "+strings.Join(modelreg.ModelTypes, ", ")+" (required)")
	fs.StringVar(&m.Description, "description", "", "model `description`")
	fs.StringVar(&m.Runtime, "runtime", "", "model `runtime`")
	wait := fs.Bool("wait", false, "wait until the import is done; fail when it fails")
	return func(args []string) error {
		switch {
		case len(args) != 1:
			return usagef("model import takes one SOURCE, got %d arguments", len(args))
		case m.Name == "":
			return usagef("missing --name")
		case m.Version == "":
			return usagef("missing --version")
		case m.Type == "":
			return usagef("missing --type")
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		if m.SourceLocation, err = sourceURL(args[0]); err != nil {
			return err
		}
		id, err := c.ImportModel(e.ctx, &m)
		if err != nil {
			return err
		}
		if !*wait {
			if g.json() {
				return printJSON(e.stdout, modelreg.ModelImportResult{ModelID: id})
			}
			typ, _ := modelreg.CanonicalModelType(m.Type)
			return e.printModelRows([]*modelreg.ModelSummary{{ID: id, Name: m.Name, Version: m.Version, Status: modelreg.ModelPublishing, Type: typ}})
		}
		got, err := e.waitModel(c, id, m.Name+" "+m.Version)
		if err != nil {
			return err
		}
		if g.json() {
			err = printJSON(e.stdout, got)
		} else {
			err = e.printModelRows([]*modelreg.ModelSummary{&got.ModelSummary})
		}
		if err != nil {
			return err
		}
		if got.Status != modelreg.ModelPublished {
			reason := got.FailureReason
			if reason == "" {
				reason = "status " + got.Status
			}
			return &FailedError{Msg: fmt.Sprintf("import of model %s (%s %s) failed: %s", id, got.Name, got.Version, reason)}
		}
		return nil
	}
}

// waitModel waits for a model to leave publishing, showing a spinner on a
// terminal.
func (e *env) waitModel(c *client.Client, id, what string) (*modelreg.Model, error) {
	type result struct {
		m   *modelreg.Model
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := c.WaitModel(e.ctx, id, waitInterval)
		done <- result{m, err}
	}()
	var tick <-chan time.Time
	if isTerminal(e.stderr) {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		tick = t.C
	}
	start := time.Now()
	frames := `|/-\`
	for i := 0; ; i++ {
		select {
		case r := <-done:
			if tick != nil {
				fmt.Fprint(e.stderr, "\r\033[K")
			}
			return r.m, r.err
		case <-tick:
			fmt.Fprintf(e.stderr, "\r%c importing %s: publishing (%s)\033[K", frames[i%len(frames)], what, time.Since(start).Truncate(time.Second))
		}
	}
}

func (e *env) printModelRows(models []*modelreg.ModelSummary) error {
	tw := newTable(e.stdout)
	row(tw, "MODEL ID", "NAME", "VERSION", "STATUS", "TYPE", "SIZE", "CREATED")
	for _, m := range models {
		size := "-"
		if m.Status == modelreg.ModelPublished {
			size = humanSize(m.Size)
		}
		row(tw, m.ID, m.Name, m.Version, m.Status, m.Type, size, e.when(m.CreateAt))
	}
	return tw.Flush()
}

func modelList(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	var f modelreg.ModelFilter
	fs.StringVar(&f.Name, "name", "", "models whose name contains `text`")
	fs.BoolVar(&f.ExactMatch, "exact", false, "match --name exactly")
	fs.StringVar(&f.Version, "version", "", "models of this `version`")
	fs.StringVar(&f.Status, "status", "", "models in this `status`: "+strings.Join(modelreg.ModelStatuses, ", "))
	fs.StringVar(&f.Type, "type", "", "models of this `type`")
	fs.StringVar(&f.NotType, "not-type", "", "models not of this `type`")
	fs.StringVar(&f.Description, "description", "", "models whose description contains `text`")
	fs.IntVar(&f.Limit, "limit", 0, "models per `page` (server default 100, at most 1000)")
	page := fs.Int("page", 1, "`page` number, from 1")
	fs.IntVar(&f.Offset, "offset", 0, "page `index`, from 0, as the API counts (--page 1 is --offset 0)")
	fs.StringVar(&f.Marker, "marker", "", "continue after the page that printed this `marker` (keyset paging; excludes --page)")
	fs.StringVar(&f.SortBy, "sort-by", "", "sort `key`: create_at, model_version or model_size (default create_at)")
	fs.StringVar(&f.Order, "order", "", "sort `order`: asc or desc (default desc)")
	return func(args []string) error {
		if len(args) > 0 {
			return usagef("model list takes no arguments, got %q", args[0])
		}
		if err := pageOffset(&f.Offset, *page); err != nil {
			return err
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		list, err := c.ListModels(e.ctx, f)
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, list)
		}
		if len(list.Models) == 0 {
			_, err := fmt.Fprintf(e.stdout, "No models found (%d in all).\n", list.TotalCount)
			return err
		}
		if err := e.printModelRows(list.Models); err != nil {
			return err
		}
		if f.Marker != "" {
			return markerFooter(e.stdout, len(list.Models), list.TotalCount, list.NextMarker)
		}
		return pageFooter(e.stdout, "models", f.Offset, f.Limit, len(list.Models), list.TotalCount)
	}
}

// pageOffset sets the API's offset (a page index from 0) from --page
// (from 1), unless --offset was given.
func pageOffset(offset *int, page int) error {
	switch {
	case page < 1:
		return usagef("--page %d: pages count from 1", page)
	case page > 1 && *offset > 0:
		return usagef("give --page or --offset, not both")
	case page > 1:
		*offset = page - 1
	}
	return nil
}

// pageFooter says which page of a longer list was shown, counting pages
// from 1; offset is the API's page index and limit the page size asked
// (0: the server's default, taken as the page's length).
func pageFooter(w io.Writer, what string, offset, limit, count, total int) error {
	if count >= total && offset == 0 {
		return nil
	}
	size := limit
	if size <= 0 {
		size = max(count, 1)
	}
	pages := max((total+size-1)/size, 1)
	msg := fmt.Sprintf("\nPage %d of %d: %d of %d %s.", offset+1, pages, count, total, what)
	if offset+1 < pages {
		msg += fmt.Sprintf(" Next: --page %d", offset+2)
		if limit > 0 {
			msg += fmt.Sprintf(" --limit %d", limit)
		}
		msg += "."
	}
	_, err := fmt.Fprintln(w, msg)
	return err
}

// markerFooter ends a page listed by marker.
func markerFooter(w io.Writer, count, total int, next string) error {
	msg := fmt.Sprintf("\n%d of %d models.", count, total)
	if next != "" {
		msg += " Next: --marker " + next
	}
	_, err := fmt.Fprintln(w, msg)
	return err
}

func modelShow(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	return func(args []string) error {
		if len(args) != 1 {
			return usagef("model show takes one MODEL (an id or NAME:VERSION), got %d arguments", len(args))
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		id, err := e.resolveModel(c, args[0])
		if err != nil {
			return err
		}
		m, err := c.GetModel(e.ctx, id)
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, m)
		}
		tw := newTable(e.stdout)
		field := func(k string, v any) { row(tw, k+":", v) }
		field("Model ID", m.ID)
		field("Name", m.Name)
		field("Version", m.Version)
		field("Status", m.Status)
		if m.FailureReason != "" {
			field("Failure reason", m.FailureReason)
		}
		field("Type", m.Type)
		if m.Status == modelreg.ModelPublished {
			field("Size", fmt.Sprintf("%s (%d bytes)", humanSize(m.Size), m.Size))
		}
		field("Source", m.SourceLocation)
		field("Description", m.Description)
		field("Runtime", m.Runtime)
		field("Install type", strings.Join(m.InstallType, ", "))
		field("Project", m.ProjectID)
		field("Created", e.when(m.CreateAt))
		field("Updated", e.when(m.UpdateAt))
		return tw.Flush()
	}
}

func modelDelete(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	cascade := fs.Bool("cascade", false, "also delete the other versions of the model's name")
	all := fs.Bool("all", false, "delete every version of the name NAME, cascade after cascade")
	dryRun := fs.Bool("dry-run", false, "only show what the delete would do; nothing changes")
	yes := fs.Bool("yes", false, "do not ask for confirmation on a terminal")
	return func(args []string) error {
		switch {
		case len(args) != 1:
			return usagef("model delete takes one MODEL (an id or NAME:VERSION), or NAME with --all, got %d arguments", len(args))
		case *all && *cascade:
			return usagef("give --all or --cascade, not both")
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		if *all {
			return e.deleteAll(c, g, args[0])
		}
		id, err := e.resolveModel(c, args[0])
		if err != nil {
			return err
		}
		var name string
		if *cascade {
			m, err := c.GetModel(e.ctx, id)
			if err != nil {
				return err
			}
			name = m.Name
		}
		ctx, res, err := e.confirmDelete(c, id, *cascade, *dryRun, *yes && !*dryRun, g.json())
		if err != nil || res == nil {
			return err
		}
		if !res.DryRun {
			res, err = c.DeleteModel(ctx, id, *cascade)
			if err != nil {
				return err
			}
		}
		if g.json() {
			err = printJSON(e.stdout, res)
		} else {
			err = e.printDeleteResult(c, res)
		}
		if err != nil {
			return err
		}
		if res.RemainingCount > 0 && !res.DryRun && !g.json() {
			if err := e.remainingHint(c, name, res); err != nil {
				return err
			}
		}
		if n := len(res.Failed); n > 0 && res.DryRun {
			return &FailedError{Msg: fmt.Sprintf("%d of %d models would not be deleted (dry run: nothing changed)", n, n+len(res.Success))}
		} else if n > 0 {
			return &FailedError{Msg: fmt.Sprintf("%d of %d models not deleted", n, n+len(res.Success))}
		}
		return nil
	}
}

// remainingHint names a version a cascade left, to cascade from next.
func (e *env) remainingHint(c *client.Client, name string, res *modelreg.DeleteResult) error {
	failed := map[string]bool{}
	for _, f := range res.Failed {
		failed[f.ModelID] = true
	}
	next := ""
	if vs, err := e.versionsOf(c, name); err == nil {
		for _, m := range vs {
			if !failed[m.ID] {
				next = m.ID
				break
			}
		}
	}
	msg := fmt.Sprintf("\n%s of %s left untouched (cascade limit).", plural(res.RemainingCount, "more version"), name)
	if next != "" {
		msg += fmt.Sprintf(" Delete them with 'modelreg model delete %s --cascade', or every version with 'modelreg model delete %s --all'.", next, name)
	}
	_, err := fmt.Fprintln(e.stdout, msg)
	return err
}

// deleteAll deletes every version of name: a cascade from a version not
// yet refused, repeated until the name is gone or a round deletes nothing.
func (e *env) deleteAll(c *client.Client, g *globals, name string) error {
	if _, v := splitModelRef(name); v != "" || modelreg.ValidID(name) {
		return usagef("--all takes a model NAME, not %q", name)
	}
	total := &modelreg.DeleteResult{Success: []string{}, Failed: []modelreg.DeleteFailure{}}
	refused := map[string]bool{}
	rounds := 0
	for {
		vs, err := e.versionsOf(c, name)
		if err != nil {
			return err
		}
		target := ""
		for _, m := range vs {
			if !refused[m.ID] {
				target = m.ID
				break
			}
		}
		if target == "" {
			break
		}
		res, err := c.DeleteModel(e.ctx, target, true)
		if err != nil {
			if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
				refused[target] = true // deleted meanwhile by someone else: never again
				continue
			}
			return err
		}
		rounds++
		total.Success = append(total.Success, res.Success...)
		for _, f := range res.Failed {
			if !refused[f.ModelID] {
				refused[f.ModelID] = true
				total.Failed = append(total.Failed, f)
			}
		}
		if len(res.Success) == 0 && !refused[target] {
			refused[target] = true // neither deleted nor reported: do not loop on it
		}
	}
	if rounds == 0 {
		return modelreg.Errorf(modelreg.ENOTFOUND, modelreg.CodeModelNotFound, "No model named %s.", name)
	}
	if g.json() {
		out := struct {
			*modelreg.DeleteResult
			Name   string `json:"model_name"`
			Rounds int    `json:"rounds"`
		}{total, name, rounds}
		if err := printJSON(e.stdout, out); err != nil {
			return err
		}
	} else {
		if err := e.printDeleteResult(c, total); err != nil {
			return err
		}
		msg := fmt.Sprintf("\nDeleted %s of %s in %s", plural(len(total.Success), "version"), name, plural(rounds, "call"))
		if n := len(total.Failed); n > 0 {
			msg += fmt.Sprintf("; %d could not be deleted (above)", n)
		} else {
			msg += "; the name is gone"
		}
		if _, err := fmt.Fprintln(e.stdout, msg+"."); err != nil {
			return err
		}
	}
	if n := len(total.Failed); n > 0 {
		return &FailedError{Msg: fmt.Sprintf("%d of %d versions of %s not deleted", n, n+len(total.Success), name)}
	}
	return nil
}

func (e *env) printDeleteResult(c *client.Client, res *modelreg.DeleteResult) error {
	tw := newTable(e.stdout)
	row(tw, "MODEL ID", "RESULT", "CODE", "MESSAGE")
	deleted, failed := "deleted", "failed"
	if res.DryRun {
		deleted, failed = "would delete", "would fail"
	}
	for _, id := range res.Success {
		row(tw, id, deleted, "", "")
	}
	for _, f := range res.Failed {
		msg := f.ErrorMsg
		if msg == "" {
			msg = f.ErrorMessage
		}
		if f.ErrorCode == modelreg.CodeModelDeployed {
			if names := e.pinningServices(c, f.ModelID); len(names) > 0 {
				msg += " Pinned by service " + strings.Join(names, ", ") + "."
			}
		}
		row(tw, f.ModelID, failed, f.ErrorCode, msg)
	}
	return tw.Flush()
}
