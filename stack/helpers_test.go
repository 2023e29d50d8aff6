package stack

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/stack/stacktest"
)

// testTimeout bounds each Docker test; the emulator boots in well under a second.
const testTimeout = 90 * time.Second

// newTestStack returns a Stack on the emulator image with its own state dir (so its own labels) and a
// free port. It is taken down with its volumes when the test ends, pass or fail.
func newTestStack(t testing.TB, cfg Config) *Stack {
	t.Helper()
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	if cfg.Image == "" {
		cfg.Image = stacktest.Image(t)
	}
	if cfg.Port == 0 {
		cfg.Port = stacktest.FreePort(t)
	}
	if cfg.HealthTimeout == 0 {
		cfg.HealthTimeout = 30 * time.Second
	}
	cfg.Labels = stacktest.Labels()
	env := map[string]string{"FAKEMETABASE_BOOT_SECONDS": "0"}
	maps.Copy(env, cfg.Env)
	cfg.Env = env
	stacktest.Client(t) // fail loudly, and sweep, before anything else
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := s.Down(ctx, true); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		s.Close()
	})
	return s
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// recorder collects events; Up calls emit from one goroutine, the lock is for the test's reads.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) emit(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) kinds() []EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []EventKind
	for _, e := range r.events {
		if len(out) == 0 || out[len(out)-1] != e.Kind {
			out = append(out, e.Kind)
		}
	}
	return out
}

func (r *recorder) of(k EventKind) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// leftovers lists what still carries the stack's label.
func leftovers(t *testing.T, s *Stack) []string {
	t.Helper()
	ctx := testContext(t)
	var out []string
	for kind, list := range map[string]func(context.Context, map[string]string) ([]string, error){
		"container": s.eng.containers, "volume": s.eng.volumes, "network": s.eng.networks,
	} {
		names, err := list(ctx, s.ownLabels())
		if err != nil {
			t.Fatalf("list %ss: %v", kind, err)
		}
		for _, n := range names {
			out = append(out, kind+" "+n)
		}
	}
	slices.Sort(out)
	return out
}

func mustUp(t testing.TB, s *Stack, rec *recorder) Info {
	t.Helper()
	var emit func(Event)
	if rec != nil {
		emit = rec.emit
	}
	info, err := s.Up(testContext(t), emit)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	return info
}

func containsAll(s string, subs ...string) (missing []string) {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			missing = append(missing, sub)
		}
	}
	return missing
}

// said is an error as a user reads it: the message, then the advice the front ends print apart from it.
func said(err error) string {
	var a *Advice
	if errors.As(err, &a) {
		return err.Error() + ". Fix: " + a.Fix
	}
	return err.Error()
}
