package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
)

// The deletion extensions (ARCHITECTURE §4a): the delete preview and its
// confirmation, model protect and unprotect, model trash.

func trashCommands() []*command {
	return []*command{
		{
			name:    "model protect",
			args:    "MODEL_ID [--reason TEXT] [flags]",
			summary: "protect a model against deletion",
			help: `A protected model is left by every delete (ModelReg.3101, with the reason)
and never purged from the trash, until model unprotect.`,
			flags: modelProtect(true),
		},
		{
			name:    "model unprotect",
			args:    "MODEL_ID [flags]",
			summary: "lift a model's protection against deletion",
			flags:   modelProtect(false),
		},
		{
			name:    "model trash list",
			args:    "[--name TEXT] [--limit N] [--offset N] [flags]",
			summary: "list the deleted models the trash keeps",
			help: `The trash is on when the server runs with --trash-retention > 0: a deleted
model is then kept (gone from every ModelArts call) until its purge time.`,
			flags: trashList,
		},
		{
			name:    "model trash restore",
			args:    "MODEL_ID [flags]",
			summary: "bring a model back from the trash",
			flags:   trashRestore,
		},
		{
			name:    "model trash purge",
			args:    "MODEL_ID... | --all [flags]",
			summary: "delete models of the trash for good",
			help:    `Protected models are kept; the command then exits with status 1.`,
			flags:   trashPurge,
		},
	}
}

// Where model delete reads its confirmation, and whether it asks: stdin
// and stderr must both be terminals. Tests replace them.
var (
	confirmInput io.Reader = os.Stdin
	interactive            = func(e *env) bool { return isTerminal(os.Stdin) && isTerminal(e.stderr) }
)

// confirmDelete runs the preview of a model delete when the command should
// show it (dryRun, or a terminal without yes), prints it and asks. It
// returns the context for the real delete (If-Match on the target the user
// saw), and a result: nil when the delete should go ahead without a
// preview, the preview (DryRun set) when the command ends with it. A
// refusal ends the command with a *FailedError.
func (e *env) confirmDelete(c *client.Client, id string, cascade, dryRun, yes, asJSON bool) (context.Context, *modelreg.DeleteResult, error) {
	ctx := e.ctx
	if !dryRun && (yes || !interactive(e)) {
		return ctx, &modelreg.DeleteResult{}, nil // delete at once
	}
	_, etag, err := c.GetModelETag(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	preview, err := c.PreviewDeleteModel(ctx, id, cascade)
	if err != nil {
		return nil, nil, err
	}
	if dryRun {
		return ctx, preview, nil // printed by the caller
	}
	fmt.Fprintln(e.stderr, "The delete would do this (nothing is deleted yet):")
	if err := e.printDeleteResultTo(c, e.stderr, preview); err != nil {
		return nil, nil, err
	}
	if len(preview.Success) == 0 {
		return nil, nil, &FailedError{Msg: "no model can be deleted; nothing was deleted"}
	}
	fmt.Fprintf(e.stderr, "Delete %d model(s)? [y/N] ", len(preview.Success))
	answer, _ := bufio.NewReader(confirmInput).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return nil, nil, &FailedError{Msg: "cancelled; nothing was deleted"}
	}
	if etag != "" {
		ctx = client.WithIfMatch(ctx, etag)
	}
	return ctx, &modelreg.DeleteResult{}, nil
}

// printDeleteResultTo is printDeleteResult on w, a preview marked as such.
func (e *env) printDeleteResultTo(c *client.Client, w io.Writer, res *modelreg.DeleteResult) error {
	out := *e
	out.stdout = w
	return out.printDeleteResult(c, res)
}

func modelProtect(on bool) func(e *env, fs *flag.FlagSet) func([]string) error {
	return func(e *env, fs *flag.FlagSet) func([]string) error {
		g := e.clientFlags(fs)
		var reason *string
		if on {
			reason = fs.String("reason", "", "why the model must not be deleted (at most 256 characters)")
		}
		return func(args []string) error {
			if len(args) != 1 {
				return usagef("takes one MODEL_ID, got %d arguments", len(args))
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			r := ""
			if reason != nil {
				r = *reason
			}
			p, err := c.SetProtection(e.ctx, args[0], on, r)
			if err != nil {
				return err
			}
			if g.json() {
				return printJSON(e.stdout, p)
			}
			tw := newTable(e.stdout)
			row(tw, "Model ID:", p.ModelID)
			row(tw, "Protected:", p.Protected)
			row(tw, "Reason:", p.Reason)
			row(tw, "Updated:", e.when(p.UpdatedAt))
			row(tw, "Updated by:", p.UpdatedBy)
			return tw.Flush()
		}
	}
}

func trashList(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	name := fs.String("name", "", "only models whose name contains `text`")
	limit := fs.Int("limit", 0, "models per page (default 100, at most 1000)")
	offset := fs.Int("offset", 0, "page `index`")
	return func(args []string) error {
		if len(args) != 0 {
			return usagef("model trash list takes no arguments")
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		res, err := c.ListTrash(e.ctx, *name, *limit, *offset)
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, res)
		}
		tw := newTable(e.stdout)
		row(tw, "MODEL ID", "NAME", "VERSION", "SIZE", "DELETED", "BY", "PURGED AFTER")
		for _, m := range res.Models {
			row(tw, m.ID, m.Name, m.Version, humanSize(m.Size), e.when(m.DeletedAt), m.DeletedBy, e.when(m.PurgeAt))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%d of %d models in the trash\n", len(res.Models), res.TotalCount)
		return err
	}
}

func trashRestore(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	return func(args []string) error {
		if len(args) != 1 {
			return usagef("model trash restore takes one MODEL_ID, got %d arguments", len(args))
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		if err := c.RestoreModel(e.ctx, args[0]); err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, modelreg.ModelImportResult{ModelID: args[0]})
		}
		_, err = fmt.Fprintf(e.stdout, "restored %s\n", args[0])
		return err
	}
}

func trashPurge(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	all := fs.Bool("all", false, "purge the project's whole trash (protected models stay)")
	return func(args []string) error {
		if *all == (len(args) > 0) {
			return usagef("model trash purge takes MODEL_IDs or --all")
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		res := &modelreg.PurgeResult{Success: []string{}, Failed: []modelreg.DeleteFailure{}}
		if *all {
			if res, err = c.PurgeTrash(e.ctx); err != nil {
				return err
			}
		} else {
			for _, id := range args {
				err := c.PurgeModel(e.ctx, id)
				switch {
				case err == nil:
					res.Success = append(res.Success, id)
				case modelreg.ErrorCode(err) == modelreg.ENOTFOUND || modelreg.ErrorCode(err) == modelreg.ECONFLICT:
					msg := modelreg.ErrorMessage(err)
					res.Failed = append(res.Failed, modelreg.DeleteFailure{ModelID: id, ErrorCode: modelreg.ErrorAPICode(err), ErrorMessage: msg, ErrorMsg: msg})
				default:
					return err
				}
			}
		}
		if g.json() {
			err = printJSON(e.stdout, res)
		} else {
			tw := newTable(e.stdout)
			row(tw, "MODEL ID", "RESULT", "CODE", "MESSAGE")
			for _, id := range res.Success {
				row(tw, id, "purged", "", "")
			}
			for _, f := range res.Failed {
				row(tw, f.ModelID, "not purged", f.ErrorCode, f.ErrorMsg)
			}
			err = tw.Flush()
		}
		if err != nil {
			return err
		}
		if n := len(res.Failed); n > 0 {
			return &FailedError{Msg: fmt.Sprintf("%d of %d models not purged", n, n+len(res.Success))}
		}
		return nil
	}
}
