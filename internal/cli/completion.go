package cli

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

func completionCommand() *command {
	return &command{
		name:    "completion",
		args:    "bash|zsh|fish",
		summary: "print a shell completion script",
		help: `Completes commands and their flags. Load it in the running shell, or at
every start:

  bash:  source <(modelreg completion bash)    # or into /etc/bash_completion.d/modelreg
  zsh:   source <(modelreg completion zsh)     # after compinit
  fish:  modelreg completion fish > ~/.config/fish/completions/modelreg.fish

The scripts ask the binary itself (the hidden command "modelreg __complete
WORDS"), so they follow its version.`,
		flags: func(e *env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				if len(args) != 1 {
					return usagef("completion takes one shell: bash, zsh or fish")
				}
				script, ok := completionScripts[args[0]]
				if !ok {
					return usagef("unknown shell %q: want bash, zsh or fish", args[0])
				}
				_, err := io.WriteString(e.stdout, script)
				return err
			}
		},
	}
}

var completionScripts = map[string]string{
	"bash": `# bash completion for modelreg
_modelreg() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local IFS=$'\n'
	COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null)" -- "$cur"))
}
complete -o default -F _modelreg modelreg
`,
	"zsh": `#compdef modelreg
# zsh completion for modelreg
_modelreg() {
	local -a words_before candidates
	words_before=("${(@)words[2,CURRENT-1]}")
	candidates=("${(@f)$(${words[1]} __complete "${words_before[@]}" 2>/dev/null)}")
	compadd -- "${candidates[@]}"
	_files
}
compdef _modelreg modelreg
`,
	"fish": `# fish completion for modelreg
complete -c modelreg -f -a '(modelreg __complete (commandline -opc)[2..-1] 2>/dev/null)'
`,
}

// completeCommand is the hidden command the completion scripts call: it
// prints the words that may follow args, one a line.
func completeCommand() *command {
	return &command{
		name:   "__complete",
		hidden: true,
		flags: func(e *env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				for _, w := range completions(e, args) {
					fmt.Fprintln(e.stdout, w)
				}
				return nil
			}
		},
	}
}

// completions returns the words that may follow the words args: command
// names, then the flags of the command.
func completions(e *env, args []string) []string {
	_, args, err := leadingFlags(args)
	if err != nil {
		return nil
	}
	if cmd, _ := lookup(args); cmd != nil {
		fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
		cmd.flags(e, fs)
		var out []string
		fs.VisitAll(func(f *flag.Flag) { out = append(out, "--"+f.Name) })
		return out
	}
	var out []string
	for _, c := range commands() {
		if c.hidden {
			continue
		}
		words := strings.Fields(c.name)
		if len(args) < len(words) && slices.Equal(words[:len(args)], args) {
			out = append(out, words[len(args)])
		}
	}
	out = slices.Compact(out)
	if len(args) == 0 {
		out = append(out, "help")
	}
	return out
}
