package session

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/embedwizard/embedwizard/internal/secretfile"
	"github.com/embedwizard/embedwizard/stack/metabase"
)

// FastSnapshotFile holds the name of the Metabase snapshot `reset` restores without a restart (`up --fast-reset`).
// The name is unguessable: Metabase's testing endpoints have no authentication, so a name is all a caller needs.
const FastSnapshotFile = "fast-snapshot"

// envTestEndpoints turns on Metabase's /api/testing routes (snapshot and restore of the app database, among
// others with no authentication): only with --fast-reset, whose help says so.
const envTestEndpoints = "MB_ENABLE_TEST_ENDPOINTS"

func fastSnapshotPath(dir string) string { return filepath.Join(dir, FastSnapshotFile) }

// fastSnapshotName is the saved snapshot name, or "".
func fastSnapshotName(dir string) string {
	b, err := os.ReadFile(fastSnapshotPath(dir))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// applyFastReset sets the container's flag: on with --fast-reset, or when an earlier run turned it on (so that a
// plain `up` does not recreate the container without it); --fast-reset=false turns it off and forgets the name.
func (c *Config) applyFastReset(given, on bool) {
	switch {
	case given && !on:
		os.Remove(fastSnapshotPath(c.StateDir))
	case on || fastSnapshotName(c.StateDir) != "":
		c.FastReset = true
		if c.Stack.Env == nil {
			c.Stack.Env = map[string]string{}
		}
		c.Stack.Env[envTestEndpoints] = "true"
	}
}

// fastSnapshot takes Metabase's own snapshot of the configured app database under a new name kept in the state
// directory (0600).
func (s *Session) fastSnapshot(ctx context.Context, url string, emit func(Event)) error {
	emit = orNop(emit)
	mb, err := metabase.New(url)
	if err != nil {
		return err
	}
	name := metabase.NewSnapshotName()
	if err := mb.TestingSnapshot(ctx, name); err != nil {
		return fmt.Errorf("fast-reset snapshot: %w", err)
	}
	if err := secretfile.Write(fastSnapshotPath(s.cfg.StateDir), []byte(name+"\n")); err != nil {
		return fmt.Errorf("fast-reset snapshot: save its name: %w", err)
	}
	emit(Event{Kind: Info, Message: "fast-reset snapshot taken: `embedwizard reset` restores it without a restart"})
	return nil
}

// fastRestore restores Metabase's own snapshot, without a restart, and verifies with the plan. ok is false
// when there is no fast snapshot or Metabase refused it: the caller falls back to the volume snapshot.
func (s *Session) fastRestore(ctx context.Context, emit func(Event)) (took time.Duration, writes int, ok bool, err error) {
	name := fastSnapshotName(s.cfg.StateDir)
	if name == "" {
		return 0, 0, false, nil
	}
	start := time.Now()
	url := MetabaseURL(s.cfg.State)
	mb, err := metabase.New(url)
	if err != nil {
		return 0, 0, false, nil
	}
	emit(Event{Kind: Info, Message: "restoring Metabase's own snapshot (no restart)"})
	if err := mb.TestingRestore(ctx, name); err != nil {
		if ctx.Err() != nil {
			return 0, 0, false, Kind(ErrInterrupted, err)
		}
		emit(Event{Kind: Warning, Message: fmt.Sprintf("Metabase refused the fast restore (%v): restoring the volume snapshot instead", err)})
		return 0, 0, false, nil
	}
	p, err := s.Plan(url)
	if err != nil {
		return 0, 0, false, err
	}
	if err := s.RunPlan(ctx, p, emit); err != nil {
		return 0, 0, false, err
	}
	_, writes = p.APICalls()
	return time.Since(start), writes, true, nil
}
