package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

func init() {
	register(command{Name: "up", Summary: "run Metabase, configure the quick start, serve the host app", Run: runUp})
}

// snapshotFile is where `up` keeps the configured stack's app database, for `embedwizard reset`.
const snapshotFile = "snapshot.tar.gz"

func runUp(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("embedwizard up", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(e.Stderr, "Usage: embedwizard up [--yes] [flags]   (on a terminal, without --yes: the interactive wizard)")
		fmt.Fprintln(e.Stderr, "\nRuns Metabase (or uses --metabase-url), configures the interactive embedding quick start step by step,")
		fmt.Fprintln(e.Stderr, "verifies its checkpoints and serves the host app. Secrets come from the environment: "+
			envLicense+", "+envAdminPassword+", "+envAPIKey+", "+envDemoPassword+".\n\nFlags:")
		fs.PrintDefaults()
	}
	var f setupFlags
	f.register(fs, e.Getenv)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "embedwizard up: unexpected argument %q (flags start with --)\n", fs.Arg(0))
		return exitUsage
	}
	s, err := resolveSetup(e.Getenv, &f, fs)
	if err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard up: %v\n", err)
		return exitUsage
	}
	// On a terminal, `up` without --yes is the wizard (same plan, step by step); elsewhere it asks once
	// on standard input, so `echo y | embedwizard up` works in scripts.
	if !s.Yes && !s.ConfigureOnly && noTerminal(e) == "" {
		return runWizard(ctx, e, s)
	}
	return up(ctx, e, s)
}

// up runs the stack (unless Metabase is external), the plan and then the host app.
func up(ctx context.Context, e env, s setup) int {
	out := e.Stdout
	metabaseURL := s.Plan.MetabaseURL
	var stk *stack.Stack
	if !s.External {
		var err error
		if stk, err = stack.New(s.Stack); err != nil {
			fmt.Fprintf(e.Stderr, "embedwizard up: %v\n", err)
			return exitUsage
		}
		defer stk.Close()
	}

	// The plan is built before anything runs so that a bad configuration fails before Docker starts.
	probe := s.planConfig(metabaseURL)
	if probe.MetabaseURL == "" {
		probe.MetabaseURL = s.Stack.SiteURL
	}
	p, err := plan.New(probe, s.State, plan.Options{StateDir: s.StateDir})
	if err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard up: %v\n", err)
		return exitUsage
	}
	if !s.Yes && !confirm(e, s, p.Steps()) {
		fmt.Fprintln(out, "Nothing was changed. Run `embedwizard up --yes` to go ahead without this question.")
		return exitFailed
	}

	start := time.Now()
	if stk != nil {
		if code := preflight(ctx, out, stk); code != exitOK {
			return code
		}
		info, err := stk.Up(ctx, stackPrinter(out))
		if err != nil {
			fmt.Fprintf(out, "✗ Start Metabase in Docker: failed: %v\n", err)
			return exitFailed
		}
		fmt.Fprintf(out, "✓ Metabase %s is running at %s (container %s)\n", info.MetabaseVersion, info.URL, info.Name)
		metabaseURL = info.URL
		recordStack(s.State, info)
		if p, err = plan.New(s.planConfig(metabaseURL), s.State, plan.Options{StateDir: s.StateDir}); err != nil {
			fmt.Fprintf(e.Stderr, "embedwizard up: %v\n", err)
			return exitUsage
		}
	}

	fmt.Fprintf(out, "Configuring Metabase at %s as %s (password: %s). State: %s\n",
		p.Config().MetabaseURL, p.Config().AdminEmail, passwordNote(s), filepath.Join(s.StateDir, plan.StateFile))
	var failed plan.StepInfo
	err = p.Run(ctx, planPrinter(out, &failed))
	calls, writes := p.APICalls()
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		fmt.Fprintf(out, "Stopped at %q after %d API calls (%d writes) in %s. Finished steps are saved: run `embedwizard up --yes` again to resume.\n",
			failed.Title, calls, writes, took)
		if failed.ID == plan.StepLicense {
			return exitPrereq
		}
		return exitFailed
	}
	fmt.Fprintf(out, "All %d steps passed and every checkpoint was verified: %d API calls (%d writes) in %s.\n",
		len(p.Steps()), calls, writes, took)

	if stk != nil {
		if err := saveSnapshot(ctx, out, stk, s); err != nil {
			fmt.Fprintf(out, "! Snapshot for `embedwizard reset` not saved: %v\n", err)
		}
	}
	if s.ConfigureOnly {
		fmt.Fprintf(out, "Metabase is configured; dashboard %s. Serve the host app with `embedwizard host`.\n", p.State().DashboardPath)
		return exitOK
	}
	if err := serveHostApp(ctx, e, p.State(), s.StateDir, s.NoBrowser); err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard up: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// passwordNote says where the admin password came from, never what it is.
func passwordNote(s setup) string {
	switch s.AdminPasswordFrom {
	case "":
		return "none, API key from " + envAPIKey
	case "generated":
		return "generated, kept in the state file"
	}
	return "from " + s.AdminPasswordFrom
}

// confirm lists the steps and asks before changing anything, unless --yes.
func confirm(e env, s setup, steps []plan.StepInfo) bool {
	where := "in Docker (" + s.Stack.Image + ")"
	if s.External {
		where = "at " + s.Plan.MetabaseURL
	}
	fmt.Fprintf(e.Stdout, "embedwizard will configure the Metabase %s for interactive embedding:\n", where)
	for i, st := range steps {
		fmt.Fprintf(e.Stdout, "  %2d. %s\n", i+1, st.Title)
	}
	fmt.Fprint(e.Stdout, "Go ahead? [y/N] ")
	if e.Stdin == nil {
		return false
	}
	line, err := bufio.NewReader(e.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}

// preflight prints what the stack lacks and stops before touching Docker when something is missing.
func preflight(ctx context.Context, out io.Writer, stk *stack.Stack) int {
	code := exitOK
	for _, c := range stk.Preflight(ctx) {
		if !c.OK {
			fmt.Fprintf(out, "✗ %s: %s — %s\n", c.Name, c.Detail, c.Fix)
			code = exitPrereq
		}
	}
	return code
}

// stackPrinter turns the stack's events into a few lines: no per-layer noise, boot progress in quarters.
func stackPrinter(out io.Writer) func(stack.Event) {
	lastBoot := -1
	return func(ev stack.Event) {
		switch ev.Kind {
		case stack.PullStart:
			fmt.Fprintln(out, "· pulling the Metabase image (this takes a few minutes the first time)")
		case stack.PullDone:
			fmt.Fprintln(out, "· image pulled")
		case stack.Creating, stack.Starting, stack.Stopping, stack.Restoring:
			if ev.Message != "" {
				fmt.Fprintln(out, "· "+ev.Message)
			} else {
				fmt.Fprintln(out, "· "+ev.Kind.String())
			}
		case stack.Booting:
			if q := int(ev.Boot * 4); q != lastBoot {
				lastBoot = q
				fmt.Fprintf(out, "· Metabase is starting (%.0f%%)\n", ev.Boot*100)
			}
		}
	}
}

// planPrinter prints one line per step, then its warnings and the checkpoints' findings; it records the
// failed step.
func planPrinter(out io.Writer, failed *plan.StepInfo) func(plan.Event) {
	var warnings []string
	return func(ev plan.Event) {
		switch ev.Kind {
		case plan.StepProgress:
			if w, ok := strings.CutPrefix(ev.Message, "warning: "); ok {
				warnings = append(warnings, w)
			}
			return
		case plan.StepAlreadyDone:
			fmt.Fprintf(out, "✓ %s: already done\n", ev.Step.Title)
		case plan.StepDone:
			fmt.Fprintf(out, "✓ %s: done\n", ev.Step.Title)
		case plan.StepVerified:
			fmt.Fprintf(out, "✓ %s: verified\n", ev.Step.Title)
		case plan.StepFailed:
			*failed = ev.Step
			fmt.Fprintf(out, "✗ %s: failed: %v — %s\n", ev.Step.Title, ev.Err, ev.Hint)
		default:
			return
		}
		for _, w := range warnings {
			fmt.Fprintf(out, "    ! %s\n", w)
		}
		warnings = nil
		for _, c := range ev.Checks {
			fmt.Fprintf(out, "    · %s\n", c)
		}
	}
}

// saveSnapshot keeps the freshly configured app database once, so `embedwizard reset` returns to it in
// seconds. Saving restarts Metabase (the copy is taken from a stopped container).
func saveSnapshot(ctx context.Context, out io.Writer, stk *stack.Stack, s setup) error {
	path := filepath.Join(s.StateDir, snapshotFile)
	if s.State.Stack.Snapshot == path {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
	}
	fmt.Fprintln(out, "· saving a snapshot of the configured Metabase for `embedwizard reset` (Metabase restarts once)")
	if err := stk.SaveSnapshot(ctx, path); err != nil {
		return err
	}
	s.State.Stack.Snapshot = path
	if err := s.State.Save(s.StateDir); err != nil {
		return err
	}
	fmt.Fprintln(out, "✓ Snapshot saved: "+path)
	return nil
}
