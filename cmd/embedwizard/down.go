package main

import (
	"context"
	"fmt"

	"github.com/embedwizard/embedwizard/wizard/plan"
)

func init() {
	register(command{Name: "down", Summary: "stop Metabase; --volumes also deletes its data", Run: runDown})
}

func runDown(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "down", "down [--volumes] [--state-dir DIR]",
		"Stops and removes the Metabase container embedwizard runs. Its data stays in a Docker volume unless --volumes,\n"+
			"which deletes it too; the state directory (your choices, secrets and the reset snapshot) is kept either way.")
	dir := stateDirFlag(fs, e)
	volumes := fs.Bool("volumes", false, "also delete Metabase's data volume")
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	st, err := loadState(*dir)
	if err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard down: %v\n", err)
		return exitFailed
	}
	if !managed(st) {
		fmt.Fprintf(e.Stdout, "Nothing to stop: Metabase at %s is not run by embedwizard.\n", metabaseURL(st))
		return exitOK
	}
	stk, err := openStack(*dir, st)
	if err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard down: %v\n", err)
		return exitPrereq
	}
	defer stk.Close()
	if err := stk.Down(ctx, *volumes); err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard down: %v\n", err)
		return stackExit(err)
	}
	if !*volumes {
		fmt.Fprintf(e.Stdout, "Metabase stopped; its data is kept in volume %s. `embedwizard up` starts it again.\n", st.Stack.Volume)
		return exitOK
	}
	forgetStack(st)
	if err := st.Save(*dir); err != nil {
		fmt.Fprintf(e.Stderr, "embedwizard down: Metabase and its data are gone, but %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(e.Stdout, "Metabase and its data are gone. Kept in %s: your choices, secrets and the snapshot;\n"+
		"`embedwizard reset` restores the snapshot, `embedwizard up` configures a fresh Metabase.\n", *dir)
	return exitOK
}

// forgetStack drops what died with the data volume: the container and the steps' records. The choices, the
// secrets and the snapshot stay, so that up or reset bring the same setup back.
func forgetStack(st *plan.State) {
	st.Stack.ContainerID, st.Stack.Volume = "", ""
	st.Steps = nil
}
