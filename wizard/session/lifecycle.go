package session

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// Restore puts the snapshot back into a fresh container and verifies the result with the plan, which writes
// nothing on a configured Metabase. It returns how long it took and how many writes the plan still needed.
func (s *Session) Restore(ctx context.Context, emit func(Event)) (time.Duration, int, error) {
	emit = orNop(emit)
	if !s.Managed() {
		return 0, 0, notManagedReset(s.cfg.Config.MetabaseURL)
	}
	st := s.cfg.State
	path := st.Stack.Snapshot
	if path == "" {
		path = filepath.Join(s.cfg.StateDir, SnapshotFile)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return 0, 0, &Failure{Err: fmt.Errorf("no snapshot at %s", path),
			Hint: Hint{What: "reset", Why: "the snapshot is saved after the first complete run", Do: "run embedwizard up to finish one, or rebuild from scratch"}}
	}
	if took, writes, ok, err := s.fastRestore(ctx, emit); ok || err != nil {
		return took, writes, err
	}
	start := time.Now()
	stk, err := s.stack()
	if err != nil {
		return 0, 0, err
	}
	emit(Event{Kind: Info, Message: "restoring " + path})
	info, err := stk.RestoreSnapshot(ctx, path, func(ev stack.Event) { emit(Event{Kind: StackProgress, Stack: ev}) })
	if err != nil {
		return 0, 0, classify(fmt.Errorf("restore the snapshot: %w", err))
	}
	recordStack(st, info)
	p, err := s.Plan(info.URL)
	if err != nil {
		return 0, 0, err
	}
	if err := s.RunPlan(ctx, p, emit); err != nil {
		return 0, 0, err
	}
	_, writes := p.APICalls()
	if s.cfg.FastReset { // the volume came back without Metabase's own snapshot: take it again
		if err := s.fastSnapshot(ctx, info.URL, emit); err != nil {
			emit(Event{Kind: Warning, Message: err.Error()})
		}
	}
	return time.Since(start), writes, nil
}

// notManagedReset is reset (fast, volume or --full) on a Metabase embedwizard does not run: nothing it can do
// there is safe. There is no volume to snapshot or delete; Metabase's own snapshot and restore would need
// MB_ENABLE_TEST_ENDPOINTS on that instance, which opens unauthenticated routes that replace its whole app
// database (docs/reset-notes.md §1), other people's work included. What works is up: it puts back only
// what differs from the guide. A usage error (exit 2): nothing was done.
func notManagedReset(url string) error {
	return Kind(ErrUsage, Kind(ErrNotManaged, &Failure{
		Err: fmt.Errorf("Metabase at %s is not run by embedwizard, so reset has nothing safe to do there: no data volume or snapshot of it "+
			"is here, and Metabase's own snapshot and restore (--fast-reset) need MB_ENABLE_TEST_ENDPOINTS=true on that instance, "+
			"unauthenticated routes that let anyone who reaches it replace its whole application database, so embedwizard never uses them "+
			"on an instance it does not run; nothing was changed", url),
		Hint: Hint{What: "reset", Why: "embedwizard does not run this Metabase",
			Do: "embedwizard up --dry-run lists what differs from the guide there, and embedwizard up puts back only that (settings, groups, permissions, sandbox); content made since stays"}}))
}

// Rebuild deletes Metabase and its data and the old snapshot; Run then configures everything again.
func (s *Session) Rebuild(ctx context.Context, emit func(Event)) error {
	emit = orNop(emit)
	if !s.Managed() {
		return notManagedReset(s.cfg.Config.MetabaseURL)
	}
	stk, err := s.stack()
	if err != nil {
		return err
	}
	emit(Event{Kind: Info, Message: "deleting Metabase and its data"})
	if err := stk.Down(ctx, true); err != nil {
		return classify(fmt.Errorf("delete Metabase: %w", err))
	}
	st := s.cfg.State
	ForgetStack(st)
	forgetVolumeVersion(s.cfg.StateDir)
	if st.Stack.Snapshot != "" {
		if err := os.Remove(st.Stack.Snapshot); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove the old snapshot: %w", err)
		}
		st.Stack.Snapshot = ""
	}
	return s.save()
}

// ForgetStack drops what died with the data volume: the container and the steps' records. The choices, the
// secrets and the snapshot stay, so that up or reset bring the same setup back.
func ForgetStack(st *plan.State) {
	st.Stack.ContainerID, st.Stack.Volume = "", ""
	st.Steps = nil
}

// Down stops and removes the container of a state directory, and with volumes its data too (then the state
// forgets them). A Metabase embedwizard does not run is an ErrNotManaged.
func Down(ctx context.Context, dir string, st *plan.State, volumes bool) error {
	if !Managed(st) {
		return Kind(ErrNotManaged, fmt.Errorf("nothing to stop: Metabase at %s is not run by embedwizard", MetabaseURL(st)))
	}
	stk, err := OpenStack(dir, st)
	if err != nil {
		return err
	}
	defer stk.Close()
	if err := stk.Down(ctx, volumes); err != nil {
		return classify(fmt.Errorf("stop Metabase: %w", err))
	}
	if !volumes {
		return nil
	}
	forgetVolumeVersion(dir)
	if _, err := os.Stat(filepath.Join(dir, plan.StateFile)); err != nil {
		return nil // found by its labels alone: there is no state to update
	}
	ForgetStack(st)
	if err := st.Save(dir); err != nil {
		return fmt.Errorf("Metabase and its data are gone, but saving the state failed: %w", err)
	}
	return nil
}
