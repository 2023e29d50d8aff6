package wizard

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/embedwizard/embedwizard/stack"
)

// pullEvents are a pull caught half way: two layers done, one downloading, one extracting; then the log.
func pullEvents() []stack.Event {
	layers := []stack.Layer{
		{ID: "a1b2c3d4e5f6", Status: "Pull complete"},
		{ID: "b2c3d4e5f6a1", Status: "Already exists"},
		{ID: "c3d4e5f6a1b2", Status: "Downloading", Current: 96_000_000, Total: 192_000_000},
		{ID: "d4e5f6a1b2c3", Status: "Extracting", Current: 3_000_000, Total: 10_000_000},
	}
	return []stack.Event{
		{Kind: stack.PullStart, Message: "pulling metabase/metabase-enterprise:latest"},
		{Kind: stack.PullProgress, Layers: layers[:2], Percent: 20},
		{Kind: stack.LogLine, Message: "2025-01-01 INFO metabase.core :: Starting Metabase version v1.63.1"},
		{Kind: stack.LogLine, Message: "2025-01-01 INFO metabase.db :: Setting up H2 application database"},
		{Kind: stack.PullProgress, Layers: layers, Percent: 62.5},
	}
}

func TestStackScreen(t *testing.T) {
	tests := []struct {
		name   string
		events []stack.Event
		keys   []string
		want   []string
		hide   []string
	}{
		{
			name:   "pulling",
			events: pullEvents(),
			want:   []string{"pulling metabase/metabase-enterprise:latest", "c3d4e5f6a1b2 downloading", "96.0 MB/192.0 MB", "2 of 4 layers complete", "total", "62%", "l show the log"},
			hide:   []string{"Starting Metabase version"},
		},
		{
			name:   "log shown",
			events: pullEvents(),
			keys:   []string{"l"},
			want:   []string{"Starting Metabase version v1.63.1", "Setting up H2", "l hide the log"},
		},
		{
			name: "booting",
			events: []stack.Event{
				{Kind: stack.ImagePresent, Message: "image present"},
				{Kind: stack.Creating, Message: "creating container embedwizard-metabase-0a1b2c"},
				{Kind: stack.Booting, Message: "Metabase is initialising", Boot: 0.4},
			},
			want: []string{"is already here", "Boot", "40%", "Metabase is initialising"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newEngine()
			eng.stackEvents, eng.stackHold = tt.events, make(chan struct{})
			w := startWizard(t, eng, nil)
			w.toForm()
			w.fill(enterThrough)
			last := tt.events[len(tt.events)-1]
			switch last.Kind {
			case stack.PullProgress:
				w.waitFor("62%")
			case stack.Booting:
				w.waitFor("40%")
			}
			for _, k := range tt.keys {
				w.key(k)
				w.waitFor("hide the log")
			}
			view := w.finish().plainView()
			for _, s := range tt.want {
				if !strings.Contains(view, s) {
					t.Errorf("stack screen lacks %q:\n%s", s, view)
				}
			}
			for _, s := range tt.hide {
				if strings.Contains(view, s) {
					t.Errorf("stack screen shows %q:\n%s", s, view)
				}
			}
			checkFits(t, view, 80, 24)
			teatest.RequireEqualOutput(t, []byte(view))
		})
	}
}

func TestStackScreenFailureThenRetry(t *testing.T) {
	eng := newEngine()
	eng.stackErrs = []error{fmt.Errorf("up: %w: 127.0.0.1:3000 is held by another program", stack.ErrPortInUse)}
	w := startWizard(t, eng, nil)
	w.toForm()
	w.fill(enterThrough)
	w.waitFor("Metabase did not start")
	w.waitFor("choose another Metabase port")
	w.key("r")
	w.waitFor("Configure Metabase like the guide")
	m := w.finish()
	if calls, _, _ := eng.snapshot(); len(calls) != 2 {
		t.Errorf("stack started %d times, want 2 (failure, retry)", len(calls))
	}
	if m.metabaseURL != "http://localhost:3000" {
		t.Errorf("walk-through got Metabase URL %q", m.metabaseURL)
	}
}

func TestStackScreenFailureQuit(t *testing.T) {
	eng := newEngine()
	eng.stackErrs = []error{fmt.Errorf("up: %w", stack.ErrHealthTimeout)}
	w := startWizard(t, eng, nil)
	w.toForm()
	w.fill(enterThrough)
	w.waitFor("Metabase did not start")
	w.key("q")
	m := w.tm.FinalModel(t).(*model)
	if m.err == nil || !strings.Contains(m.err.Error(), "start Metabase") || !strings.Contains(m.err.Error(), stack.ErrHealthTimeout.Error()) {
		t.Errorf("quit after a failed start returned %v", m.err)
	}
}

// enterThrough presses Enter on every field of the form as cmd prefills it for a first run.
var enterThrough = []answer{{field: "Metabase port"}, {field: "Admin email"}, {field: "Host app origin"}, {field: "Tenants"},
	{field: "Embedded Metabase UI", after: "Starting Metabase"}}

// checkFits fails when view is wider or taller than the terminal.
func checkFits(t *testing.T, view string, width, height int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) > height {
		t.Errorf("view has %d lines, terminal %d", len(lines), height)
	}
	for _, l := range lines {
		if w := len([]rune(l)); w > width {
			t.Errorf("line wider (%d) than the terminal (%d): %q", w, width, l)
		}
	}
}
