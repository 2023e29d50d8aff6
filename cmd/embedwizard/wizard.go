package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/wizard"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

func init() {
	register(command{Name: "wizard", Summary: "the interactive wizard (what runs without a command)", Run: runWizardCmd})
}

// hostAppLog is where the host app logs while the wizard owns the terminal.
const hostAppLog = "hostapp.log"

func runWizardCmd(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("embedwizard wizard", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	var f setupFlags
	f.register(fs, e.Getenv)
	fs.Usage = func() {
		fmt.Fprintln(e.Stderr, "Usage: embedwizard [wizard] [flags]")
		fmt.Fprintln(e.Stderr, "\nThe interactive wizard: checks, a form with a default for everything, Metabase's start, the quick")
		fmt.Fprintln(e.Stderr, "start's steps one by one (Enter) or all at once (a), then the host app with the dashboard embedded.")
		fmt.Fprintln(e.Stderr, "It needs a terminal; without one, use `embedwizard up --yes`. The license comes from $"+envLicense+" or the form.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "embedwizard: unexpected argument %q (flags start with --; commands: embedwizard --help)\n", fs.Arg(0))
		return exitUsage
	}
	s, err := resolveSetup(e.Getenv, &f, fs)
	if err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard: %v\n", err)
		return exitUsage
	}
	switch {
	case s.Yes:
		return up(ctx, e, s)
	case s.ConfigureOnly:
		fmt.Fprintln(e.Stderr, "embedwizard: the wizard ends by serving the host app; to configure only, run `embedwizard up --yes --configure-only`")
		return exitUsage
	}
	return runWizard(ctx, e, s)
}

// runWizard runs the interactive wizard for a resolved setup; `up` without --yes on a terminal calls it too.
// Without a terminal it says to use `up --yes` and returns exitPrereq.
func runWizard(ctx context.Context, e env, s setup) int {
	if why := noTerminal(e); why != "" {
		fmt.Fprintf(e.Stderr, "embedwizard: the wizard needs a terminal, and %s: run `embedwizard up --yes` instead (same steps, one line each)\n", why)
		return exitPrereq
	}
	eng := &wizardEngine{s: s}
	defer eng.close()
	opts := wizard.Options{
		Input: e.Stdin, Output: e.Stdout, Accessible: s.Accessible, NoBrowser: s.NoBrowser, Engine: eng, LicenseFrom: s.LicenseFrom,
		Choices: wizard.Choices{Config: s.Plan, MetabasePort: s.MetabasePort, Image: s.Stack.Image},
	}
	err := wizard.Run(ctx, opts)
	var step *wizard.StepError
	switch {
	case err == nil:
		fmt.Fprintln(e.Stdout, "\nHost app stopped; Metabase keeps running. Next: embedwizard status, host, down")
		return exitOK
	case errors.Is(err, wizard.ErrNoTerminal):
		fmt.Fprintf(e.Stderr, "embedwizard: %v\n", err)
		return exitPrereq
	case errors.Is(err, wizard.ErrInterrupted):
		fmt.Fprintf(e.Stderr, "\n%v\n", err) // one line at 80 columns: the terminal was just given back
		return exitInterrupted
	case errors.As(err, &step) && step.Step.ID == plan.StepLicense,
		errors.Is(err, stack.ErrDaemonUnreachable), errors.Is(err, stack.ErrPortInUse):
		fmt.Fprintf(e.Stderr, "\nembedwizard: %v\n", err)
		return exitPrereq
	}
	fmt.Fprintf(e.Stderr, "\nembedwizard: %v\n", err)
	return exitFailed
}

// noTerminal says why there is no terminal to draw on, or "" when there is one.
func noTerminal(e env) string {
	if e.Getenv("CI") != "" {
		return "CI is set"
	}
	for _, f := range []any{e.Stdin, e.Stdout} {
		if file, ok := f.(*os.File); !ok || !term.IsTerminal(file.Fd()) {
			return "standard input or output is not one (a pipe or a file)"
		}
	}
	return ""
}

// wizardEngine is the wizard's Engine: the same stack, plan and host app code as `up --yes`, configured by
// what the form returned.
type wizardEngine struct {
	s   setup
	stk *stack.Stack
}

func (w *wizardEngine) close() {
	if w.stk != nil {
		w.stk.Close()
	}
}

// apply folds the form's choices into the setup.
func (w *wizardEngine) apply(c wizard.Choices) {
	w.s.Plan = c.Config
	w.s.MetabasePort = c.MetabasePort
	w.s.Stack.Port = c.MetabasePort
	w.s.Stack.SiteURL = "http://localhost:" + strconv.Itoa(c.MetabasePort)
	w.s.Stack.LicenseToken = c.Config.LicenseToken
	if port, err := portOf(c.Config.HostAppURL); err == nil {
		w.s.HostPort = port
	}
}

// stack opens the Docker client for the current setup.
func (w *wizardEngine) stack() (*stack.Stack, error) {
	w.close()
	stk, err := stack.New(w.s.Stack)
	w.stk = stk
	return stk, err
}

func (w *wizardEngine) Preflight(ctx context.Context, c wizard.Choices) []wizard.Check {
	w.apply(c)
	checks := []wizard.Check{hostPortCheck(w.s.HostPort)}
	if w.s.External {
		return append([]wizard.Check{metabaseCheck(ctx, w.s.Plan.MetabaseURL)}, checks...)
	}
	stk, err := w.stack()
	if err != nil {
		return append([]wizard.Check{{Name: "docker", Detail: err.Error(), Fix: "check DOCKER_HOST and --state-dir"}}, checks...)
	}
	return append(stk.Preflight(ctx), checks...)
}

func (w *wizardEngine) Stack(ctx context.Context, c wizard.Choices, emit func(stack.Event)) (string, error) {
	w.apply(c)
	stk, err := w.stack()
	if err != nil {
		return "", err
	}
	info, err := stk.Up(ctx, emit)
	if err != nil {
		return "", err
	}
	recordStack(w.s.State, info)
	return info.URL, nil
}

// recordStack notes in the state what the stack runs, for status, logs, down and reset.
func recordStack(st *plan.State, info stack.Info) {
	ss := &st.Stack
	ss.ContainerID, ss.Image, ss.Port, ss.Volume = info.ContainerID, info.Image, info.Port, info.Volume
}

func (w *wizardEngine) Plan(ctx context.Context, c wizard.Choices, metabaseURL string) (wizard.Plan, error) {
	w.apply(c)
	return plan.New(w.s.planConfig(metabaseURL), w.s.State, plan.Options{StateDir: w.s.StateDir})
}

// Serve saves the snapshot `reset` restores (once, after the first full run of a Docker stack), then serves
// the host app, logging to the state directory since the wizard owns the terminal.
func (w *wizardEngine) Serve(ctx context.Context, st *plan.State) (string, error) {
	if w.stk != nil {
		if err := saveSnapshot(ctx, io.Discard, w.stk, w.s); err != nil && ctx.Err() == nil {
			return "", fmt.Errorf("save the snapshot for `embedwizard reset`: %w", err)
		}
	}
	logFile, err := os.OpenFile(filepath.Join(w.s.StateDir, hostAppLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return "", fmt.Errorf("host app log: %w", err)
	}
	context.AfterFunc(ctx, func() { logFile.Close() })
	ln, err := listenHostApp(st)
	if err != nil {
		return "", err
	}
	if _, err := startHostApp(ctx, st, ln, slog.New(slog.NewTextHandler(logFile, nil))); err != nil {
		return "", err
	}
	return st.Config.HostAppURL, nil
}

func (w *wizardEngine) Open(url string) error { return openBrowser(url) }

// hostPortCheck says whether the host app's port is free on 127.0.0.1.
func hostPortCheck(port int) wizard.Check {
	c := wizard.Check{Name: "port " + strconv.Itoa(port), OK: true, Detail: "free for the host app"}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		c.OK, c.Detail = false, "the host app's port is in use by another program"
		c.Fix = "stop it (an earlier `embedwizard host`?) or choose another port: the host app origin in the form, or --host-port"
		return c
	}
	ln.Close()
	return c
}

// metabaseCheck says whether the Metabase given with --metabase-url answers.
func metabaseCheck(ctx context.Context, url string) wizard.Check {
	c := wizard.Check{Name: "metabase"}
	mb, err := metabase.New(url)
	if err != nil {
		c.Detail, c.Fix = err.Error(), "give --metabase-url as http(s)://host:port"
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h, err := mb.Health(ctx)
	switch {
	case err != nil:
		c.Detail, c.Fix = "no answer from "+url+": "+err.Error(), "start that Metabase, or check --metabase-url"
	case !h.Ready():
		c.OK, c.Detail = true, fmt.Sprintf("%s is %s (%.0f%%); the plan waits for it", url, h.Status, h.Progress*100)
	default:
		c.OK, c.Detail = true, url+" answers"
	}
	return c
}
