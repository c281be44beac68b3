// Package cli implements the modelreg command line: "modelreg serve", which
// runs the server, and the client subcommands, which call a server through
// the public client package.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
)

// env is what a command sees of the process: it is built once by Run and
// passed to every command, so nothing reads os globals directly.
type env struct {
	ctx    context.Context
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	loc    *time.Location // for human-readable times
}

// command is one subcommand.
type command struct {
	name    string // "model list"
	args    string // what follows the name in the usage line
	summary string // one line, for the command list
	help    string // paragraphs shown by -h, may be empty
	// flags registers the command's flags and returns the function that
	// runs it with the positional arguments.
	flags func(e *env, fs *flag.FlagSet) func(args []string) error
}

// commands returns every subcommand, in the order the help lists them.
func commands() []*command {
	cmds := []*command{serveCommand(), migrateCommand()}
	cmds = append(cmds, modelCommands()...)
	cmds = append(cmds, trashCommands()...)    // model protect, unprotect, trash
	cmds = append(cmds, transferCommands()...) // model push, model pull
	cmds = append(cmds, serviceCommands()...)
	cmds = append(cmds, iamCommands()...)
	cmds = append(cmds, auditCommands()...) // events, webhook, cleanup-policy
	return append(cmds, benchCommand(), versionCommand())
}

// Run runs the modelreg command line. args is os.Args (program name first),
// getenv reads the environment. It returns when the command is done; serve
// returns when ctx is cancelled and the server has shut down. The error is
// meant for FormatError and ExitCode.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := &env{ctx: ctx, getenv: getenv, stdout: stdout, stderr: stderr, loc: time.Local}
	if tz := getenv("TZ"); tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			e.loc = loc
		}
	}
	if len(args) > 0 {
		args = args[1:]
	}
	if len(args) == 0 {
		printMainUsage(stderr)
		return &UsageError{Msg: "no command given"}
	}
	switch {
	case isHelp(args[0]):
		return e.help(args[1:])
	case args[0] == "-version" || args[0] == "--version":
		args = []string{"version"}
	}
	cmd, rest := lookup(args)
	if cmd == nil {
		if g := groupOf(args[0]); g != "" {
			if len(args) == 1 {
				printGroupUsage(stderr, g)
				return &UsageError{Msg: "no " + g + " command given", Cmd: g}
			}
			if isHelp(args[1]) {
				printGroupUsage(stdout, g)
				return nil
			}
		}
		return &UsageError{Msg: fmt.Sprintf("unknown command %q", strings.Join(args[:min(len(args), 2)], " ")), Cmd: groupOf(args[0])}
	}
	return e.runCommand(cmd, rest)
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// lookup finds the command named by the first one or two words of args.
func lookup(args []string) (*command, []string) {
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c, args[len(words):]
		}
	}
	return nil, nil
}

// groupOf returns the command group of a first word ("model"), or "".
func groupOf(word string) string {
	for _, c := range commands() {
		if g, _, ok := strings.Cut(c.name, " "); ok && g == word {
			return g
		}
	}
	return ""
}

// help prints the usage of the command named by args, or the main usage.
func (e *env) help(args []string) error {
	if len(args) == 0 {
		printMainUsage(e.stdout)
		return nil
	}
	cmd, _ := lookup(args)
	if cmd == nil {
		if g := groupOf(args[0]); g != "" && len(args) == 1 {
			printGroupUsage(e.stdout, g)
			return nil
		}
		return &UsageError{Msg: fmt.Sprintf("unknown command %q", strings.Join(args, " "))}
	}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	cmd.flags(e, fs)
	printUsage(e.stdout, cmd, fs)
	return nil
}

func (e *env) runCommand(cmd *command, args []string) error {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	run := cmd.flags(e, fs)
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(e.stdout, cmd, fs)
		return nil
	}
	if err != nil {
		return &UsageError{Msg: err.Error(), Cmd: cmd.name}
	}
	err = run(pos)
	var ue *UsageError
	if errors.As(err, &ue) && ue.Cmd == "" {
		ue.Cmd = cmd.name
	}
	return err
}

// parseInterleaved parses args with fs, allowing flags after positional
// arguments ("model show ID --output json"), and returns the positional
// arguments in order. Everything after "--" is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// UsageError is a command line that cannot be run: an unknown command or
// flag, a missing argument. It exits with status 2.
type UsageError struct {
	Msg string
	Cmd string // the command whose usage applies, "" for the main usage
}

func (e *UsageError) Error() string { return e.Msg }

// usagef returns a *UsageError for the command being run.
func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// FailedError reports that a command ran but some of its work failed, such
// as models a delete could not remove; what failed was already printed.
type FailedError struct {
	Msg string
}

func (e *FailedError) Error() string { return e.Msg }

// ExitCode returns the process exit status for an error returned by Run:
// 0 for nil, 2 for a usage error, 1 for anything else.
func ExitCode(err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

// FormatError returns the one-line message printed for an error returned by
// Run: "Error: <message> (ModelArts.NNNN, request <id>)" for an API error,
// "Error: <message>" otherwise.
func FormatError(err error) string {
	if err == nil {
		return ""
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		help := "modelreg help"
		if ue.Cmd != "" {
			help = "modelreg " + ue.Cmd + " -h"
		}
		return fmt.Sprintf("Error: %s (see '%s')", ue.Msg, help)
	}
	var me *modelreg.Error
	if !errors.As(err, &me) {
		return "Error: " + oneLine(err.Error())
	}
	msg := me.Message
	if msg == "" {
		msg = err.Error()
	}
	status := client.StatusCode(err)
	if status == 0 && me.Err != nil {
		// Failed on this side (server unreachable, bad response): say why.
		msg = strings.TrimSuffix(msg, ".") + ": " + me.Err.Error()
	}
	var tags []string
	if status != 0 && me.APICode != "" {
		tags = append(tags, me.APICode)
	} else if status != 0 {
		tags = append(tags, fmt.Sprintf("HTTP %d", status))
	}
	if id := client.RequestID(err); id != "" {
		tags = append(tags, "request "+id)
	}
	s := "Error: " + oneLine(msg)
	if len(tags) > 0 {
		s += " (" + strings.Join(tags, ", ") + ")"
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// version returns the module version and VCS revision of the binary.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" && v == "(devel)" {
		v += " " + rev[:min(len(rev), 12)] + modified
	}
	return v
}

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print the version of modelreg",
		flags: func(e *env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				if len(args) > 0 {
					return usagef("version takes no arguments")
				}
				_, err := fmt.Fprintf(e.stdout, "modelreg %s\n", version())
				return err
			}
		},
	}
}

// isTerminal reports whether w is a terminal, for progress output.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
