// Command modelreg is the modelreg server and its command-line client:
// "modelreg serve" runs the server, the other subcommands talk to one.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/modelreg/modelreg/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command named by args (os.Args, program name first) with the
// environment getenv. It returns when the command is done or, for serve,
// when ctx is cancelled and the server has shut down.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return cli.Run(ctx, args, getenv, stdout, stderr)
}
