// Command embedwizard takes a person from nothing to a Metabase dashboard embedded in a host app, sandboxed
// per tenant, following Metabase's "Interactive embedding quick start". See README.md.
//
// This file only dispatches: each subcommand lives in a file of its own and registers itself in init.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit codes, documented in README.md.
const (
	exitOK          = 0
	exitFailed      = 1 // a step, a checkpoint or a command failed; the message says what to do
	exitUsage       = 2 // bad flags or arguments
	exitPrereq      = 3 // a prerequisite is missing (Docker, ports, license, a terminal)
	exitInterrupted = 130
)

// env is what a command may read from outside: arguments are passed separately. Tests fill it in.
type env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// command is one subcommand.
type command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, e env, args []string) int
}

var commands = map[string]command{}

func register(c command) { commands[c.Name] = c }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, e env, args []string) int {
	name := "wizard"
	// Flags without a command are the wizard's: `embedwizard --accessible`, `embedwizard --metabase-url URL`.
	if len(args) > 0 && (!strings.HasPrefix(args[0], "-") || args[0] == "-h" || args[0] == "--help") {
		name, args = args[0], args[1:]
	}
	switch name {
	case "-h", "--help", "help":
		usage(e.Stdout)
		return exitOK
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.Stderr, "embedwizard: unknown command %q\n\n", name)
		usage(e.Stderr)
		return exitUsage
	}
	code := c.Run(ctx, e, args)
	if ctx.Err() != nil && code != exitOK {
		return exitInterrupted
	}
	return code
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "embedwizard: Metabase interactive embedding, set up in one command.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: embedwizard [command] [flags]   (no command: the interactive wizard)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].Summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'embedwizard COMMAND --help' for a command's flags.")
}
