package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
)

// transferCommands are the commands that move model files through the
// server: push and pull.
func transferCommands() []*command {
	return []*command{
		{
			name:    "model push",
			args:    "DIR --name NAME --version N.N.N [--type TYPE] [flags]",
			summary: "upload a local folder as a new model",
			help: `Every file under DIR is uploaded through the API (modelreg's upload
extension), hashed on the way and checked against what the server stored,
and the model is published. The server needs no access to DIR. --type
defaults to the model_type of DIR's config.json (model/config.json when DIR
has a model folder). A progress bar is shown when standard error is a
terminal. When the push fails or is interrupted, the model is deleted.`,
			flags: modelPush,
		},
		{
			name:    "model pull",
			args:    "MODEL DIR [flags]",
			summary: "download the files of a model into a folder",
			help: `Every file of the published model MODEL (an id or NAME:VERSION) is downloaded into DIR (created
when missing) at its path. Each file is written under a temporary name,
checked against the size and sha256 the server lists, and only then
renamed into place: a file that does not match fails the command and is
never left under its final name. Files of DIR that the model does not have
are left alone; those it has are replaced. A model without files (created
by the bulk extension) fails the command: there is nothing to pull.`,
			flags: modelPull,
		},
		{
			name:    "model files",
			args:    "MODEL [flags]",
			summary: "list the files of a model without downloading them",
			flags:   modelFiles,
		},
	}
}

// configModelType returns the model_type of the config.json of the folder
// dir, following the import's rule (model/config.json when dir has a model
// folder), or "" when there is none.
func configModelType(dir string) string {
	name := filepath.Join(dir, "config.json")
	if fi, err := os.Stat(filepath.Join(dir, "model")); err == nil && fi.IsDir() {
		name = filepath.Join(dir, "model", "config.json")
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return ""
	}
	var c struct {
		ModelType string `json:"model_type"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.ModelType
}

func modelPush(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	var m modelreg.ModelImport
	fs.StringVar(&m.Name, "name", "", "model `name` (required)")
	fs.StringVar(&m.Version, "version", "", "model `version`, N.N.N (required)")
	fs.StringVar(&m.Type, "type", "", "model `type`: "+strings.Join(modelreg.ModelTypes, ", ")+" (default: model_type of DIR's config.json)")
	fs.StringVar(&m.Description, "description", "", "model `description`")
	fs.StringVar(&m.Runtime, "runtime", "", "model `runtime`")
	return func(args []string) error {
		switch {
		case len(args) != 1:
			return usagef("model push takes one DIR, got %d arguments", len(args))
		case m.Name == "":
			return usagef("missing --name")
		case m.Version == "":
			return usagef("missing --version")
		}
		dir := args[0]
		if fi, err := os.Stat(dir); err != nil {
			return err
		} else if !fi.IsDir() {
			return fmt.Errorf("%s is not a folder", dir)
		}
		if m.Type == "" {
			if m.Type = configModelType(dir); m.Type == "" {
				return usagef("missing --type (and %s has no config.json with a model_type)", dir)
			}
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		bar := e.progressBar("pushing")
		got, err := c.Push(e.ctx, dir, &m, bar.update)
		bar.done()
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, got)
		}
		return e.printModelRows([]*modelreg.ModelSummary{&got.ModelSummary})
	}
}

func modelPull(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	return func(args []string) error {
		if len(args) != 2 {
			return usagef("model pull takes MODEL and DIR, got %d arguments", len(args))
		}
		dir := args[1]
		c, err := g.client()
		if err != nil {
			return err
		}
		id, err := e.resolveModel(c, args[0])
		if err != nil {
			return err
		}
		list, err := c.ModelFiles(e.ctx, id)
		if err != nil {
			return err
		}
		if len(list.Files) == 0 {
			return &FailedError{Msg: fmt.Sprintf("model %s has no files (it was created without any, by the bulk extension): nothing pulled", id)}
		}
		bar := e.progressBar("pulling")
		files, err := c.Pull(e.ctx, id, dir, bar.update)
		bar.done()
		if errors.Is(err, client.ErrChecksum) {
			return fmt.Errorf("pull of model %s failed, the file was not kept: %w", id, err)
		} else if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, modelreg.ModelFileList{ModelID: id, Files: files, Size: totalSize(files)})
		}
		tw := newTable(e.stdout)
		row(tw, "PATH", "SIZE", "SHA256")
		for _, f := range files {
			row(tw, f.Path, humanSize(f.Size), f.SHA256)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "\nPulled %d files (%s) of model %s into %s, every sha256 checked.\n", len(files), humanSize(totalSize(files)), id, dir)
		return err
	}
}

func modelFiles(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	return func(args []string) error {
		if len(args) != 1 {
			return usagef("model files takes one MODEL (an id or NAME:VERSION), got %d arguments", len(args))
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		id, err := e.resolveModel(c, args[0])
		if err != nil {
			return err
		}
		list, err := c.ModelFiles(e.ctx, id)
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, list)
		}
		if len(list.Files) == 0 {
			_, err := fmt.Fprintf(e.stdout, "Model %s has no files.\n", id)
			return err
		}
		tw := newTable(e.stdout)
		row(tw, "PATH", "SIZE", "SHA256")
		for _, f := range list.Files {
			row(tw, f.Path, humanSize(f.Size), f.SHA256)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "\n%d files, %s.\n", len(list.Files), humanSize(totalSize(list.Files)))
		return err
	}
}

func totalSize(files []modelreg.FileInfo) int64 {
	var n int64
	for _, f := range files {
		n += f.Size
	}
	return n
}

// progressBar draws a transfer's progress on standard error when it is a
// terminal, and nothing otherwise.
type progressBar struct {
	w     io.Writer // nil: not a terminal
	verb  string
	start time.Time
	drawn bool
}

func (e *env) progressBar(verb string) *progressBar {
	b := &progressBar{verb: verb, start: time.Now()}
	if isTerminal(e.stderr) {
		b.w = e.stderr
	}
	return b
}

// barWidth is the number of cells of the bar.
const barWidth = 24

// update redraws the bar (the client calls it at most every 100 ms).
func (b *progressBar) update(p client.Progress) {
	if b.w == nil {
		return
	}
	frac := 1.0
	if p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	cells := min(int(frac*barWidth), barWidth)
	rate := ""
	if s := time.Since(b.start).Seconds(); s >= 1 {
		rate = humanSize(int64(float64(p.Done)/s)) + "/s"
	}
	file := p.File
	if len(file) > 40 {
		file = "…" + file[len(file)-39:]
	}
	fmt.Fprintf(b.w, "\r%s [%s%s] %3.0f%% %s / %s %s %s\033[K", b.verb,
		strings.Repeat("#", cells), strings.Repeat(".", barWidth-cells), 100*frac,
		humanSize(p.Done), humanSize(p.Total), rate, file)
	b.drawn = true
}

// done clears the bar.
func (b *progressBar) done() {
	if b.w != nil && b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
	}
}
