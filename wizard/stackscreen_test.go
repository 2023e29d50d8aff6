package wizard

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/stack/stacktest"
)

// pullEvents are a pull caught half way: two layers done, one downloading, one extracting; then the log.
func pullEvents() []stack.Event {
	layers := []stack.Layer{
		{ID: "a1b2c3d4e5f6", Status: "Pull complete", Phase: stack.LayerDone, Size: 40_000_000, Received: 40_000_000},
		{ID: "b2c3d4e5f6a1", Status: "Already exists", Phase: stack.LayerPresent, Size: 30_000_000},
		{ID: "c3d4e5f6a1b2", Status: "Downloading", Phase: stack.LayerDownloading, Current: 96_000_000, Total: 192_000_000, Size: 192_000_000, Received: 96_000_000},
		{ID: "d4e5f6a1b2c3", Status: "Extracting", Phase: stack.LayerExtracting, Current: 3_000_000, Total: 10_000_000, Size: 10_000_000, Received: 10_000_000},
	}
	bytes := stack.PullBytes{Received: 146_000_000, Present: 30_000_000, Total: 272_000_000, Exact: true}
	return []stack.Event{
		{Kind: stack.PullStart, Message: "pulling metabase/metabase-enterprise:latest"},
		{Kind: stack.PullProgress, Layers: layers[:2], Percent: 20},
		{Kind: stack.LogLine, Message: "2025-01-01 INFO metabase.core :: Starting Metabase version v1.63.1"},
		{Kind: stack.LogLine, Message: "2025-01-01 INFO metabase.db :: Setting up H2 application database"},
		{Kind: stack.PullProgress, Layers: layers, Percent: 62.5, Bytes: bytes},
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
			want: []string{"pulling metabase/metabase-enterprise:latest", "c3d4e5f6a1b2  downloading", "96.0 of 192.0 MB", "d4e5f6a1b2c3  extracting",
				"a1b2c3d4e5f6  done", "b2c3d4e5f6a1  already here", "total", "62%", "176.0 of 272.0 MB", "the next run pulls again"},
			hide: []string{"Starting Metabase version"},
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

// TestStackScreenLayerStates: a golden frame, at 80 columns, of a pull with a layer in each state. A
// row says what the layer is doing in full words; a finished download shows as finished (a full bar)
// while it is verified or waits to be extracted, not as an empty one.
func TestStackScreenLayerStates(t *testing.T) {
	const mb = 1_000_000
	states := []stack.Layer{
		{ID: "0a1b2c3d4e5f", Status: "Waiting", Phase: stack.LayerWaiting, Size: 310 * mb},
		{ID: "1a2b3c4d5e6f", Status: "Downloading", Phase: stack.LayerDownloading, Current: 52 * mb, Total: 208 * mb, Size: 208 * mb, Received: 52 * mb},
		{ID: "2a3b4c5d6e7f", Status: "Verifying Checksum", Phase: stack.LayerVerifying, Size: 31 * mb, Received: 31 * mb},
		{ID: "3a4b5c6d7e8f", Status: "Download complete", Phase: stack.LayerDownloaded, Size: 12 * mb, Received: 12 * mb},
		{ID: "4a5b6c7d8e9f", Status: "Extracting", Phase: stack.LayerExtracting, Current: 40 * mb, Total: 160 * mb, Size: 160 * mb, Received: 160 * mb},
		{ID: "5a6b7c8d9e0f", Status: "Pull complete", Phase: stack.LayerDone, Size: 98, Received: 98},
		{ID: "6a7b8c9d0e1f", Status: "Already exists", Phase: stack.LayerPresent, Size: 29 * mb},
		{ID: "7a8b9c0d1e2f", Status: "Retrying in 5 seconds", Phase: stack.LayerRetrying, Size: 15 * mb},
	}
	words := []string{"waiting", "downloading", "verifying", "waiting to extract", "extracting", "done", "already here", "retrying"}
	bytes := stack.PullBytes{Received: 255*mb + 98, Present: 29 * mb, Total: 765*mb + 98, Exact: true}
	m := newStackScreen(nil, Choices{Image: "metabase/metabase-enterprise:v1.63.13", MetabasePort: 3000})
	m.apply(stack.Event{Kind: stack.PullStart, Message: "pulling"})
	m.apply(stack.Event{Kind: stack.PullProgress, Layers: states, Percent: 28.1, Bytes: bytes})
	view := ansi.Strip(m.View())
	for i, l := range states {
		row := ""
		for _, line := range strings.Split(view, "\n") {
			if strings.HasPrefix(line, "  "+l.ID) {
				row = line
			}
		}
		if !strings.HasPrefix(row, "  "+l.ID+"  "+words[i]) {
			t.Errorf("row of the %s layer = %q; want its id in full, then %q", l.Status, row, words[i])
		}
		full := strings.Contains(row, "100%")
		if wantFull := l.Phase == stack.LayerVerifying || l.Phase == stack.LayerDownloaded || l.Phase == stack.LayerDone; full != wantFull {
			t.Errorf("row %q: full bar = %v, want %v", row, full, wantFull)
		}
	}
	for _, s := range []string{"12.0 MB downloaded", "52.0 of 208.0 MB", "40.0 of 160.0 MB", "98 bytes", "in 5 seconds", "284.0 of 765.0 MB", "28%"} {
		if !strings.Contains(view, s) {
			t.Errorf("frame lacks %q:\n%s", s, view)
		}
	}
	checkFits(t, view, 80, 24)
	teatest.RequireEqualOutput(t, []byte(view))

	t.Run("short screen sums up the finished layers", func(t *testing.T) {
		m.height = 16 // room for 3 rows
		view := ansi.Strip(m.View())
		if !strings.Contains(view, "2 of 8 layers done") || !strings.Contains(view, "… 3 more layers") || strings.Contains(view, "5a6b7c8d9e0f") {
			t.Errorf("short frame:\n%s", view)
		}
		checkFits(t, view, 80, 16)
	})
}

// TestStackScreenRealPull feeds the screen the events of a real pull (a registry on 127.0.0.1 behind a
// 4 MB/s proxy, three layers to fetch, the emulator's own present) and checks a frame caught mid-download:
// every row in words, the total in bytes, all within 80×24. The frame is logged for the record.
func TestStackScreenRealPull(t *testing.T) {
	reg := stacktest.NewRegistry(t)
	derived := stacktest.DeriveLayers(t, stacktest.Image(t), 12<<20, 6<<20, 98)
	reg.Push(t, derived, "fakemetabase:screen")
	stacktest.RemoveImage(t, derived)
	proxy := stacktest.NewSlowProxy(t, reg.Addr, 4<<20)
	remote := proxy.Addr + "/fakemetabase:screen"
	t.Cleanup(func() { stacktest.RemoveImage(t, remote) })

	s, err := stack.New(stack.Config{StateDir: t.TempDir(), Image: remote, Port: stacktest.FreePort(t), Labels: stacktest.Labels(),
		Env: map[string]string{"FAKEMETABASE_BOOT_SECONDS": "0"}, HealthTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if err := s.Down(context.Background(), true); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		s.Close()
	})
	m := newStackScreen(nil, Choices{Image: remote, MetabasePort: 3000})
	var frame string
	if _, err := s.Up(ctx, func(ev stack.Event) {
		m.apply(ev)
		if frame != "" || ev.Kind != stack.PullProgress {
			return
		}
		for _, l := range ev.Layers {
			if l.Phase == stack.LayerDownloading && l.Current > 4<<20 && ev.Bytes.Exact {
				frame = ansi.Strip(m.View())
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if frame == "" {
		t.Fatal("no frame caught mid-download")
	}
	t.Logf("frame mid-download:\n%s", frame)
	for _, want := range []string{"downloading", "already here", "total", " of ", " MB", "the next run pulls again"} {
		if !strings.Contains(frame, want) {
			t.Errorf("frame lacks %q", want)
		}
	}
	checkFits(t, frame, 80, 24)
}
