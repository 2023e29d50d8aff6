package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

func init() {
	register(command{Name: "reset", Summary: "back to the freshly configured state (snapshot); --full rebuilds", Run: runReset})
}

func runReset(ctx context.Context, e env, args []string) int {
	fset := flag.NewFlagSet("embedwizard reset", flag.ContinueOnError)
	fset.SetOutput(e.Stderr)
	var f setupFlags
	f.register(fset, e.Getenv)
	full := fset.Bool("full", false, "rebuild from scratch: delete Metabase and its data, then configure it again (like up --yes)")
	fset.Usage = func() {
		fmt.Fprintln(e.Stderr, "Usage: embedwizard reset [--full] [--state-dir DIR]")
		fmt.Fprintln(e.Stderr, "\nBrings Metabase back to the state it had right after embedwizard configured it: the snapshot saved then is")
		fmt.Fprintln(e.Stderr, "restored into a fresh container (seconds plus Metabase's boot) and the checkpoints are verified again.")
		fmt.Fprintln(e.Stderr, "--full deletes Metabase and its data and runs every step again; it takes up's flags.\n\nFlags:")
		fset.PrintDefaults()
	}
	if code, done := parseFlags(fset, e, args); done {
		return code
	}
	if _, err := loadState(f.stateDir); err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard reset: %v\n", err)
		return exitFailed
	}
	s, err := resolveSetup(e.Getenv, &f, fset)
	if err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard reset: %v\n", err)
		return exitUsage
	}
	if s.External {
		fmt.Fprintf(e.Stderr, "embedwizard reset: Metabase at %s is not run by embedwizard, so there is no snapshot to restore: "+
			"reset it where it runs, then `embedwizard up --yes --metabase-url %s` configures it again\n", s.Plan.MetabaseURL, s.Plan.MetabaseURL)
		return exitFailed
	}
	stk, err := stack.New(s.Stack)
	if err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard reset: %v\n", err)
		return exitUsage
	}
	defer stk.Close()
	if *full {
		return rebuild(ctx, e, stk, s)
	}
	return restore(ctx, e, stk, s)
}

// restore puts the snapshot back and verifies the result with the plan, which writes nothing on a configured
// Metabase.
func restore(ctx context.Context, e env, stk *stack.Stack, s setup) int {
	path := s.State.Stack.Snapshot
	if path == "" {
		path = filepath.Join(s.StateDir, snapshotFile)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(e.Stderr, "embedwizard reset: no snapshot at %s: it is saved after the first complete run. "+
			"Run `embedwizard up` to finish one, or `embedwizard reset --full` to rebuild\n", path)
		return exitFailed
	}
	start := time.Now()
	fmt.Fprintf(e.Stdout, "Restoring %s\n", path)
	info, err := stk.RestoreSnapshot(ctx, path, stackPrinter(e.Stdout))
	if err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard reset: %v\n", err)
		return stackExit(err)
	}
	recordStack(s.State, info)
	p, err := plan.New(s.planConfig(info.URL), s.State, plan.Options{StateDir: s.StateDir})
	if err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard reset: %v\n", err)
		return exitFailed
	}
	var failed plan.StepInfo
	if err := p.Run(ctx, planPrinter(e.Stdout, &failed)); err != nil {
		fmt.Fprintf(e.Stdout, "The snapshot is back, but %q failed: `embedwizard reset --full` rebuilds from scratch.\n", failed.Title)
		return exitFailed
	}
	_, writes := p.APICalls()
	fmt.Fprintf(e.Stdout, "Metabase is back to its configured state at %s in %s (%d writes needed). Serve the host app with `embedwizard host`.\n",
		info.URL, time.Since(start).Round(100*time.Millisecond), writes)
	return exitOK
}

// rebuild is down --volumes, then up --yes --configure-only, which saves a fresh snapshot.
func rebuild(ctx context.Context, e env, stk *stack.Stack, s setup) int {
	fmt.Fprintln(e.Stdout, "Deleting Metabase and its data")
	if err := stk.Down(ctx, true); err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard reset --full: %v\n", err)
		return stackExit(err)
	}
	forgetStack(s.State)
	if s.State.Stack.Snapshot != "" {
		if err := os.Remove(s.State.Stack.Snapshot); err != nil && !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(e.Stderr, "embedwizard reset --full: remove the old snapshot: %v\n", err)
			return exitFailed
		}
		s.State.Stack.Snapshot = ""
	}
	if err := s.State.Save(s.StateDir); err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard reset --full: %v\n", err)
		return exitFailed
	}
	s.Yes, s.ConfigureOnly = true, true
	return up(ctx, e, s)
}
