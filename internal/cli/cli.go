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
	"runtime"
	"runtime/debug"
	"slices"
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
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	loc    *time.Location // for human-readable times
	output *output        // the command's --output, once registered
}

// now returns the current time (token expiry checks).
func (e *env) now() time.Time { return time.Now() }

// command is one subcommand.
type command struct {
	name    string // "model list"
	args    string // what follows the name in the usage line
	summary string // one line, for the command list
	help    string // paragraphs shown by -h, may be empty
	hidden  bool   // left out of the help and of completion
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
	return append(cmds, loginCommand(), benchCommand(), completionCommand(), versionCommand(), completeCommand())
}

// Run runs the modelreg command line. args is os.Args (program name first),
// getenv reads the environment. It returns when the command is done; serve
// returns when ctx is cancelled and the server has shut down. The error is
// meant for FormatError and ExitCode. Standard input is os.Stdin (only
// login reads it, for a secret that is not in the environment).
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	_, err := newEnv(ctx, getenv, os.Stdin, stdout, stderr).run(args)
	return err
}

// Main runs the command line as Run does, prints the error on stderr (the
// line of FormatError, or with --output json the object of JSONError) and
// returns the exit status. A command cut short by ctx (Ctrl-C) says
// "interrupted" and exits with 130.
func Main(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	asJSON, err := newEnv(ctx, getenv, stdin, stdout, stderr).run(args)
	if err == nil {
		return 0
	}
	code := ExitCode(err)
	if ctx.Err() != nil && !isServe(args) {
		err, code = &interruptedError{err}, 130
	}
	if asJSON {
		_ = printJSON(stderr, JSONError(err, code))
	} else {
		fmt.Fprintln(stderr, FormatError(err))
	}
	return code
}

// isServe reports whether args run the server, whose shutdown on a signal
// is its normal end.
func isServe(args []string) bool {
	for _, a := range args[min(len(args), 1):] {
		if !strings.HasPrefix(a, "-") {
			return a == "serve"
		}
	}
	return false
}

// interruptedError is a command stopped by Ctrl-C or SIGTERM.
type interruptedError struct{ err error }

func (e *interruptedError) Error() string { return "interrupted" }
func (e *interruptedError) Unwrap() error { return e.err }

func newEnv(ctx context.Context, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) *env {
	e := &env{ctx: ctx, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, loc: time.Local}
	if tz := getenv("TZ"); tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			e.loc = loc
		}
	}
	return e
}

// run runs args and reports whether errors are to be printed as JSON (the
// command's --output, or an "--output json" in args when parsing failed).
func (e *env) run(args []string) (asJSON bool, err error) {
	defer func() {
		if e.output != nil && e.output.format != "table" {
			asJSON = e.output.json()
		} else {
			asJSON = wantsJSON(args)
		}
	}()
	if len(args) > 0 {
		args = args[1:]
	}
	lead, args, err := leadingFlags(args)
	if err != nil {
		return false, err
	}
	if len(args) == 0 {
		printMainUsage(e.stderr)
		return false, &UsageError{Msg: "no command given"}
	}
	switch {
	case isHelp(args[0]):
		return false, e.help(args[1:])
	case args[0] == "-version" || args[0] == "--version":
		args = []string{"version"}
	}
	cmd, rest := lookup(args)
	if cmd == nil {
		if g := groupOf(args[0]); g != "" {
			if len(args) == 1 {
				printGroupUsage(e.stderr, g)
				return false, &UsageError{Msg: "no " + g + " command given", Cmd: g}
			}
			if isHelp(args[1]) {
				printGroupUsage(e.stdout, g)
				return false, nil
			}
		}
		return false, &UsageError{Msg: fmt.Sprintf("unknown command %q", strings.Join(args[:min(len(args), 2)], " ")), Cmd: groupOf(args[0])}
	}
	return false, e.runCommand(cmd, append(lead, rest...))
}

// leadingFlags splits the global flags given before the command
// ("modelreg --profile prod model list") from the rest of args.
func leadingFlags(args []string) (lead, rest []string, err error) {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && !isHelp(args[0]) && args[0] != "-version" && args[0] != "--version" {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if !slices.Contains(globalFlags, name) {
			return nil, nil, &UsageError{Msg: fmt.Sprintf("flag %s before the command: only --%s may come first", args[0], strings.Join(globalFlags, ", --"))}
		}
		n := 1
		if !hasValue {
			if len(args) < 2 {
				return nil, nil, &UsageError{Msg: "flag needs an argument: " + args[0]}
			}
			n = 2
		}
		lead, args = append(lead, args[:n]...), args[n:]
	}
	return lead, args, nil
}

// wantsJSON reports whether args ask for JSON output.
func wantsJSON(args []string) bool {
	for i, a := range args {
		switch {
		case a == "--":
			return false
		case a == "--output=json" || a == "-output=json":
			return true
		case (a == "--output" || a == "-output") && i+1 < len(args) && args[i+1] == "json":
			return true
		}
	}
	return false
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
	var ie *interruptedError
	if errors.As(err, &ie) {
		return "Error: interrupted"
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

// JSONError returns the object printed on stderr for an error when the
// output is JSON: the ModelArts code and message of an API error (with the
// HTTP status and request id), "usage" or "failed" for the command line's
// own errors, and the exit status.
func JSONError(err error, exit int) any {
	type jsonError struct {
		ErrorCode string `json:"error_code"`
		ErrorMsg  string `json:"error_msg"`
		Kind      string `json:"kind"`
		Status    int    `json:"status,omitempty"`
		RequestID string `json:"request_id,omitempty"`
		ExitCode  int    `json:"exit_code"`
	}
	out := jsonError{ErrorMsg: strings.TrimPrefix(FormatError(err), "Error: "), Kind: modelreg.ErrorCode(err), ExitCode: exit,
		Status: client.StatusCode(err), RequestID: client.RequestID(err)}
	var (
		ue *UsageError
		fe *FailedError
		ie *interruptedError
		me *modelreg.Error
	)
	switch {
	case errors.As(err, &ie):
		out.Kind = "interrupted"
	case errors.As(err, &ue):
		out.Kind = "usage"
	case errors.As(err, &fe):
		out.Kind = "failed"
	case errors.As(err, &me):
		out.ErrorCode = me.APICode
		if me.Message != "" && out.Status != 0 {
			out.ErrorMsg = oneLine(me.Message)
		}
	}
	return out
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Set at build time by scripts/release.sh:
//
//	go build -ldflags "-X github.com/modelreg/modelreg/internal/cli.buildVersion=v1.2.0 \
//	  -X github.com/modelreg/modelreg/internal/cli.buildCommit=<sha> -X github.com/modelreg/modelreg/internal/cli.buildDate=<RFC 3339>"
//
// When unset, readVersion falls back to the module's build info (the
// version of a "go install …@v1.2.0", the VCS revision and time of a
// "go build" in a clone).
var buildVersion, buildCommit, buildDate string

// VersionInfo is what "modelreg version" prints.
type VersionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	BuildDate string `json:"build_date"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// readVersion returns the version of the binary: the values set at build
// time, else those of the build info, else "unknown".
func readVersion() VersionInfo {
	v := VersionInfo{Version: buildVersion, Commit: buildCommit, BuildDate: buildDate,
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" {
			v.Version = bi.Main.Version
		}
		var rev, modified, at string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = "-dirty"
				}
			}
		}
		if v.Commit == "" && rev != "" {
			v.Commit = rev + modified
		}
		if v.BuildDate == "" {
			v.BuildDate = at
		}
	}
	for _, f := range []*string{&v.Version, &v.Commit, &v.BuildDate} {
		if *f == "" {
			*f = "unknown"
		}
	}
	return v
}

// version returns the one-word version of the binary, for User-Agent:
// the version, and for a development build the short commit.
func version() string {
	v := readVersion()
	if (v.Version == "(devel)" || v.Version == "unknown") && v.Commit != "unknown" {
		return v.Version + " " + v.Commit[:min(len(v.Commit), 12)]
	}
	return v.Version
}

func versionCommand() *command {
	return &command{
		name:    "version",
		args:    "[flags]",
		summary: "print the version, commit and build date of modelreg",
		flags: func(e *env, fs *flag.FlagSet) func([]string) error {
			o := e.outputFlag(fs)
			return func(args []string) error {
				if len(args) > 0 {
					return usagef("version takes no arguments")
				}
				if err := o.check(); err != nil {
					return err
				}
				v := readVersion()
				if o.json() {
					return printJSON(e.stdout, v)
				}
				_, err := fmt.Fprintf(e.stdout, "modelreg %s\n  commit:     %s\n  built:      %s\n  go:         %s %s\n",
					v.Version, v.Commit, v.BuildDate, v.GoVersion, v.Platform)
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
