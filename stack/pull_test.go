package stack

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestPullTrackerRecordedStream replays a pull stream recorded from the engine and checks what a
// progress bar would show.
func TestPullTrackerRecordedStream(t *testing.T) {
	f, err := os.Open("testdata/pull-stream.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var tr pullTracker
	var percents []float64
	sawBytes := false
	err = decodePull(f, func(m pullMessage) error {
		if tr.update(m) {
			percents = append(percents, tr.percent())
		}
		for _, l := range tr.layers() {
			sawBytes = sawBytes || (l.Phase == LayerDownloading && l.Current > 0 && l.Total >= l.Current)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	layers := tr.layers()
	if len(layers) != 3 {
		t.Fatalf("layers = %+v, want the 3 of the recorded image (the tag line is not a layer)", layers)
	}
	for _, l := range layers {
		if !l.Phase.Finished() {
			t.Errorf("layer %s ended as %q (%v)", l.ID, l.Status, l.Phase)
		}
	}
	if !sawBytes {
		t.Error("no layer reported downloaded bytes out of a total")
	}
	for i, p := range percents {
		if p < 0 || p > 100 || (p == 100 && i < len(percents)-1) {
			t.Fatalf("percent %v at update %d of %d (all: %v); want 0..100, and 100 only at the end", p, i, len(percents), percents)
		}
	}
	if last := percents[len(percents)-1]; last != 100 {
		t.Errorf("percent after the last layer completed = %v, want 100", last)
	}
}

// TestPullTrackerHonestTotal: the total is a share of bytes. It never shows more than the bytes
// received (plus those already here) allow, tiny layers weigh what they weigh, and only a fully
// extracted image is 100 %.
func TestPullTrackerHonestTotal(t *testing.T) {
	const mb = 1_000_000
	sizes := map[string]int64{"base": 600 * mb, "app": 100 * mb, "tiny": 98}
	tests := []struct {
		name  string
		sizes map[string]int64
		msgs  []pullMessage
		want  float64 // percent
		bytes PullBytes
	}{
		{"first layer already here, sizes unknown: not 100 %", nil, []pullMessage{
			{ID: "base", Status: "Already exists"}, {ID: "app", Status: "Downloading", Current: 1 * mb, Total: 100 * mb},
		}, 0.75, PullBytes{Received: 1 * mb, Total: 100 * mb}},
		{"a layer of unknown size: no percent, only bytes", nil, []pullMessage{
			{ID: "app", Status: "Downloading", Current: 50 * mb, Total: 100 * mb}, {ID: "base", Status: "Waiting"},
		}, 0, PullBytes{Received: 50 * mb, Total: 100 * mb}},
		{"present layers count as done, by size", sizes, []pullMessage{
			{ID: "base", Status: "Already exists"}, {ID: "tiny", Status: "Pulling fs layer"}, {ID: "app", Status: "Pulling fs layer"},
		}, 100 * 600.0 / 700.000098, PullBytes{Present: 600 * mb, Total: 700*mb + 98, Exact: true}},
		{"a tiny layer weighs its 98 bytes", map[string]int64{"tiny": 98, "app": 100 * mb}, []pullMessage{
			{ID: "tiny", Status: "Downloading", Current: 98, Total: 98}, {ID: "tiny", Status: "Pull complete"}, {ID: "app", Status: "Waiting"},
		}, 100 * 98 / (100*mb + 98.0), PullBytes{Received: 98, Total: 100*mb + 98, Exact: true}},
		{"downloaded everything, extracted nothing: 75 %", map[string]int64{"app": 100 * mb}, []pullMessage{
			{ID: "app", Status: "Downloading", Current: 100 * mb, Total: 100 * mb}, {ID: "app", Status: "Download complete"},
		}, 75, PullBytes{Received: 100 * mb, Total: 100 * mb, Exact: true}},
		{"half extracted", map[string]int64{"app": 100 * mb}, []pullMessage{
			{ID: "app", Status: "Download complete"}, {ID: "app", Status: "Extracting", Current: 50 * mb, Total: 100 * mb},
		}, 87.5, PullBytes{Received: 100 * mb, Total: 100 * mb, Exact: true}},
		{"layers not yet announced keep it below 100", sizes, []pullMessage{
			{ID: "base", Status: "Already exists"}, {ID: "tiny", Status: "Already exists"},
		}, 100 * (600*mb + 98.0) / (700*mb + 98), PullBytes{Present: 600*mb + 98, Total: 700*mb + 98, Exact: true}},
		{"all extracted or present: 100", sizes, []pullMessage{
			{ID: "base", Status: "Already exists"}, {ID: "tiny", Status: "Already exists"}, {ID: "app", Status: "Pull complete"},
		}, 100, PullBytes{Present: 600*mb + 98, Received: 100 * mb, Total: 700*mb + 98, Exact: true}},
		{"tag line is not a layer", nil, []pullMessage{{ID: "latest", Status: "Pulling from metabase/metabase-enterprise"}}, 0, PullBytes{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := pullTracker{sizes: tt.sizes}
			for _, m := range tt.msgs {
				tr.update(m)
			}
			if got := tr.percent(); got-tt.want > 1e-6 || tt.want-got > 1e-6 {
				t.Errorf("percent = %v, want %v", got, tt.want)
			}
			if got := tr.bytes(); got != tt.bytes {
				t.Errorf("bytes = %+v, want %+v", got, tt.bytes)
			}
		})
	}
}

func TestLayerPhases(t *testing.T) {
	for status, want := range map[string]string{
		"Pulling fs layer": "waiting", "Waiting": "waiting", "Downloading": "downloading", "Verifying Checksum": "verifying",
		"Download complete": "waiting to extract", "Extracting": "extracting", "Pull complete": "done", "Already exists": "already here",
		"Retrying in 5 seconds": "retrying",
	} {
		if got := phaseOf(status).String(); got != want {
			t.Errorf("phaseOf(%q) = %q, want %q", status, got, want)
		}
	}
}

// TestPullReporter feeds a simulated 60 s pull of 600 MB, an event every 100 ms, and checks the plain
// lines a non-terminal gets: a few, paced, each with bytes, speed and time left, no carriage return.
func TestPullReporter(t *testing.T) {
	const total = 600_000_000
	now := time.Unix(1000, 0)
	var out strings.Builder
	r := NewPullReporter(&out, func() time.Time { return now })
	r.Event(Event{Kind: PullStart, Message: "pulling metabase/metabase-enterprise:v1.63.1"})
	r.Event(Event{Kind: Booting}) // not a pull event: ignored
	for i := 1; i <= 600; i++ {
		now = now.Add(100 * time.Millisecond)
		got := int64(total) * int64(i) / 600
		pct := 75 * float64(got) / total
		r.Event(Event{Kind: PullProgress, Percent: pct, Bytes: PullBytes{Received: got, Total: total, Exact: true}})
	}
	r.Event(Event{Kind: PullDone, Percent: 100, Bytes: PullBytes{Received: total, Total: total, Exact: true}})
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if strings.Contains(out.String(), "\r") {
		t.Error("output has carriage returns")
	}
	if len(lines) < 8 || len(lines) > 16 {
		t.Errorf("%d lines for a 60 s pull, want a line every 5 s or so:\n%s", len(lines), out.String())
	}
	if lines[0] != "pulling metabase/metabase-enterprise:v1.63.1" {
		t.Errorf("first line %q", lines[0])
	}
	for _, l := range lines[1 : len(lines)-1] {
		if missing := containsAll(l, "pulling: ", " MB of 600.0 MB (", "%), 10.0 MB/s, about ", "s left"); len(missing) > 0 {
			t.Errorf("progress line %q lacks %q", l, missing)
		}
	}
	if want := "pulled: 600.0 MB in 1m0s, 10.0 MB/s"; lines[len(lines)-1] != want {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], want)
	}
}

func TestPullLine(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
		d    time.Duration
		want string
	}{
		{"exact", Event{Percent: 40, Bytes: PullBytes{Received: 200_000_000, Present: 100_000_000, Total: 700_000_000, Exact: true}}, 20 * time.Second,
			"pulling: 300.0 MB of 700.0 MB (40%), 10.0 MB/s, about 40s left"},
		{"sizes missing", Event{Percent: 10, Bytes: PullBytes{Received: 50_000_000, Total: 100_000_000}}, 10 * time.Second,
			"pulling: 50.0 MB of at least 100.0 MB (10%), 5.0 MB/s, time left unknown (the registry did not give every layer's size)"},
		{"extracting", Event{Percent: 80, Bytes: PullBytes{Received: 100_000_000, Total: 100_000_000, Exact: true}}, 10 * time.Second,
			"pulling: 100.0 MB of 100.0 MB (80%), 10.0 MB/s, extracting"},
		{"nothing yet", Event{Bytes: PullBytes{Total: 100_000_000, Exact: true}}, 0, "pulling: 0.0 MB of 100.0 MB (0%)"},
	}
	for _, tt := range tests {
		if got := PullLine(tt.ev, tt.d); got != tt.want {
			t.Errorf("%s: PullLine = %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestThrottle(t *testing.T) {
	now := time.Unix(0, 0)
	th := throttle{every: 100 * time.Millisecond, now: func() time.Time { return now }}
	allowed := 0
	for range 1000 { // one message per millisecond for a second
		if th.allow() {
			allowed++
		}
		now = now.Add(time.Millisecond)
	}
	if allowed != 10 {
		t.Errorf("allowed %d of 1000 messages over 1s at 100ms, want 10", allowed)
	}
}

func TestPullError(t *testing.T) {
	s := newStack(Config{Image: "127.0.0.1:5000/fake:nope", StateDir: "/x"}, nil)
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"unknown tag", errors.New("manifest for 127.0.0.1:5000/fake:nope not found: manifest unknown: manifest unknown"),
			[]string{"unknown image or tag", "127.0.0.1:5000 has no 127.0.0.1:5000/fake:nope", "--image"}},
		{"registry down", errors.New(`Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused`),
			[]string{"cannot reach 127.0.0.1:5000", "no network", "--image"}},
		{"no DNS", errors.New(`Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host`),
			[]string{"cannot reach", "--image"}},
		{"stalled", fmt.Errorf("read pull stream: %w", errPullStalled), []string{"cannot reach", "sent nothing"}},
		{"rate limited", errors.New("toomanyrequests: You have reached your pull rate limit"),
			[]string{"answered with an error", "toomanyrequests", "Retry", "--image"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.pullError(s.cfg.Image, tt.err, &pullTracker{})
			if !errors.Is(err, ErrImagePull) || !errors.Is(err, tt.err) {
				t.Errorf("pullError = %v; want it to wrap ErrImagePull and the cause", err)
			}
			if missing := containsAll(err.Error(), tt.want...); len(missing) > 0 {
				t.Errorf("pullError = %q; lacks %q", err, missing)
			}
		})
	}
}

func TestParseImage(t *testing.T) {
	tests := []struct {
		ref string
		ok  bool
	}{
		{"metabase/metabase-enterprise:latest", true},
		{"metabase/metabase-enterprise", true},
		{"127.0.0.1:5000/fakemetabase:v1", true},
		{"metabase/metabase-enterprise:v1.63.1@sha256:" + strings.Repeat("a", 64), true},
		{"Metabase/Enterprise", false},
		{"metabase/metabase-enterprise:", false},
		{"", false},
		{"a b", false},
	}
	for _, tt := range tests {
		_, err := parseImage(tt.ref)
		if (err == nil) != tt.ok {
			t.Errorf("parseImage(%q) = %v, want ok=%v", tt.ref, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "e.g. "+DefaultImage) {
			t.Errorf("parseImage(%q) error %q does not show a valid example", tt.ref, err)
		}
	}
}
