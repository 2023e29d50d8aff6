// Command embedwizard takes a person from nothing to a Metabase dashboard embedded in a host app, sandboxed
// per tenant, following Metabase's "Interactive embedding quick start". See README.md.
//
// This package parses flags, lists the commands and maps errors to exit codes; the run itself is package
// wizard/session, and what it shows is package wizard.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// Exit codes, documented in README.md ("Exit codes"). exitCode is the one table from error to code.
const (
	exitOK          = 0
	exitFailed      = 1 // a step, a checkpoint or a command failed; the message says what to do
	exitUsage       = 2 // bad flags or arguments; nothing was done
	exitPrereq      = 3 // a prerequisite is missing (Docker, ports, license, a terminal)
	exitInterrupted = 130
)

// exitTable maps the kinds of error to exit codes, first match wins. The same for every command.
var exitTable = []struct {
	kind error
	code int
}{
	{session.ErrInterrupted, exitInterrupted},
	{errChangesPending, exitUsage}, // up --dry-run: 2 means changes pending, as in Terraform
	{context.Canceled, exitInterrupted},
	{session.ErrUsage, exitUsage},
	{flag.ErrHelp, exitOK},
	{session.ErrPrereq, exitPrereq},
	{stack.ErrDaemonUnreachable, exitPrereq},
	{stack.ErrPortInUse, exitPrereq},
}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	for _, row := range exitTable {
		if errors.Is(err, row.kind) {
			return row.code
		}
	}
	return exitFailed
}

// env is what a command may read from outside: arguments are passed separately. Tests fill it in.
type env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// command is one subcommand: its flags are made per run by flags, which returns the function to run.
type command struct {
	Name, Summary, Usage, About string
	Flags                       func(fs *flag.FlagSet) func(ctx context.Context, args []string) error
}

// commands is the command list, built for one env (the factory); no global registry.
func commands(e env) []command {
	return []command{
		wizardCmd(e), upCmd(e), rehearseCmd(e), hostCmd(e), statusCmd(e), logsCmd(e), downCmd(e), resetCmd(e), doctorCmd(e), versionCmd(e),
	}
}

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
	cmds := commands(e)
	if name == "-h" || name == "--help" || name == "help" {
		usage(e.Stdout, cmds)
		return exitOK
	}
	var c *command
	names := make([]string, len(cmds))
	for i := range cmds {
		names[i] = cmds[i].Name
		if cmds[i].Name == name {
			c = &cmds[i]
		}
	}
	if c == nil {
		fmt.Fprintf(e.Stderr, "embedwizard: unknown command %q%s\nRun 'embedwizard --help' for the commands.\n", name, didYouMean(name, names, ""))
		return exitUsage
	}
	err := c.run(ctx, e, args)
	code := exitCode(err)
	if ctx.Err() != nil && code != exitOK {
		code = exitInterrupted
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp), errors.Is(err, errReported), errors.Is(err, errChangesPending):
	case code == exitInterrupted: // one line at 80 columns: the terminal was just given back
		fmt.Fprintf(e.Stderr, "\n%v\n", err)
	case c.Name == "wizard":
		printError(e.Stderr, "\nembedwizard", err)
	default:
		printError(e.Stderr, "embedwizard "+c.Name, err)
	}
	return code
}

var errReported = errors.New("reported") // an error already shown to the user

// run parses the command's flags, suggesting the nearest one for a typo, and runs it.
func (c command) run(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("embedwizard "+c.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(e.Stderr, "Usage: embedwizard %s\n\n%s\n\nFlags:\n", c.Usage, c.About)
		fs.SetOutput(e.Stderr)
		fs.PrintDefaults()
	}
	do := c.Flags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if bad, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
			err = fmt.Errorf("%w%s", err, didYouMean(bad, names, "--"))
		}
		return session.Kind(session.ErrUsage, fmt.Errorf("%w (embedwizard %s --help lists the flags)", err, c.Name))
	}
	if fs.NArg() > 0 {
		return session.Kind(session.ErrUsage, fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0)))
	}
	return do(ctx, fs.Args())
}

// printError says what failed and, once, what to do.
func printError(w io.Writer, who string, err error) {
	fmt.Fprintf(w, "%s: %v\n", who, err)
	if h, ok := session.HintOf(err); ok && h.Do != "" {
		fmt.Fprintf(w, "  fix: %s\n", h.Do)
	}
}

// didYouMean suggests the nearest of names to s, when one is close enough to be a typo.
func didYouMean(s string, names []string, prefix string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := distance(s, n); d < bestD || (strings.HasPrefix(n, s) && len(s) >= 2 && bestD > 0) {
			best, bestD = n, min(d, bestD)
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(": did you mean %s%s?", prefix, best)
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func usage(w io.Writer, cmds []command) {
	fmt.Fprintln(w, "embedwizard: Metabase interactive embedding, set up in one command.\n\nUsage: embedwizard [command] [flags]   (no command: the interactive wizard)\n\nCommands:")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-9s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintln(w, "\nRun 'embedwizard COMMAND --help' for a command's flags.")
}

// stateDirFlag adds --state-dir, defaulting like every command's.
func stateDirFlag(fs *flag.FlagSet, e env) *string {
	return fs.String("state-dir", session.DefaultStateDir(e.Getenv), "`directory` holding the state (secrets, mode 0600)")
}
