package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func printMainUsage(w io.Writer) {
	// The sections of the command list, in order.
	groups := []struct {
		title    string
		prefixes []string
	}{
		{"Server", []string{"serve", "migrate"}},
		{"Models", []string{"model"}},
		{"Services", []string{"service"}},
		{"Projects", []string{"project"}},
		{"Users", []string{"user"}},
		{"Access keys", []string{"credential"}},
		{"Measuring", []string{"bench"}},
		{"Profiles", []string{"login"}},
		{"Other", []string{"completion", "version"}},
	}
	fmt.Fprint(w, `modelreg is a model registry speaking the ModelArts v1 model-management API:
one binary that is both the server and its command-line client.

Usage:
  modelreg [global flags] COMMAND [arguments] [flags]
`)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, g := range groups {
		fmt.Fprintf(tw, "\n%s:\n", g.title)
		for _, c := range commands() {
			for _, p := range g.prefixes {
				if c.name == p || strings.HasPrefix(c.name, p+" ") {
					fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
				}
			}
		}
		if g.title == "Other" {
			fmt.Fprintf(tw, "  help [COMMAND]\tshow the usage of a command\n")
		}
	}
	tw.Flush()
	fmt.Fprint(w, `
The client commands call the server at --endpoint (MODELREG_ENDPOINT) for the
project --project (MODELREG_PROJECT_ID), signing every request with
MODELREG_ACCESS_KEY and MODELREG_SECRET_KEY. What these leave unset comes from
the profile 'modelreg login' saved (--profile, MODELREG_PROFILE, else
"default"), else from the files the server keeps in --data-dir (default
./modelreg-data: project_id and credentials), else http://127.0.0.1:8080.
A model is named by its id, or NAME:VERSION; a service by its id or name.
Flags may come before or after the arguments; the global flags (--endpoint,
--project, --data-dir, --output, --profile) also before the command. Run
'modelreg COMMAND -h' for the flags of a command.
`)
}

func printGroupUsage(w io.Writer, group string) {
	fmt.Fprintf(w, "Usage:\n  modelreg %s COMMAND [arguments] [flags]\n\nCommands:\n", group)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range commands() {
		if strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
		}
	}
	tw.Flush()
}

func printUsage(w io.Writer, cmd *command, fs *flag.FlagSet) {
	line := "modelreg " + cmd.name
	if cmd.args != "" {
		line += " " + cmd.args
	}
	fmt.Fprintf(w, "Usage:\n  %s\n\n%s.\n", line, upperFirst(cmd.summary))
	if cmd.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.help))
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "\nFlags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		head := "  --" + f.Name
		if typ != "" {
			head += " " + typ
		}
		fmt.Fprintf(w, "%s\n        %s", head, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
