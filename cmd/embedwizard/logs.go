package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/embedwizard/embedwizard/stack"
)

func init() {
	register(command{Name: "logs", Summary: "Metabase's container log", Run: runLogs})
}

func runLogs(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "logs", "logs [-f] [--tail N] [--state-dir DIR]",
		"Prints the log of the Metabase container embedwizard runs; -f keeps following it until Ctrl+C.")
	dir := stateDirFlag(fs, e)
	follow := fs.Bool("f", false, "follow: keep printing new lines until Ctrl+C")
	tail := fs.Int("tail", 200, "print the last `N` lines (0: all)")
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	if *tail < 0 {
		fmt.Fprintf(e.Stderr, "embedwizard logs: --tail %d: give a number of lines, 0 for all\n", *tail)
		return exitUsage
	}
	st, err := loadState(*dir)
	if err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard logs: %v\n", err)
		return exitFailed
	}
	if !managed(st) {
		fmt.Fprintf(e.Stderr, "embedwizard logs: Metabase at %s is not run by embedwizard (--metabase-url): read its log where it runs\n", metabaseURL(st))
		return exitFailed
	}
	stk, err := openStack(*dir, st)
	if err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard logs: %v\n", err)
		return exitPrereq
	}
	defer stk.Close()
	if err := stk.Logs(ctx, *follow, *tail, e.Stdout); err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard logs: %v\n", err)
		return stackExit(err)
	}
	return exitOK
}

// stackExit is the exit code of a stack error: a missing Docker is a missing prerequisite.
func stackExit(err error) int {
	if errors.Is(err, stack.ErrDaemonUnreachable) {
		return exitPrereq
	}
	return exitFailed
}
