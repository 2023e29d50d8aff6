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
			percents = append(percents, tr.percent)
		}
		for _, l := range tr.layers() {
			sawBytes = sawBytes || (l.Status == "Downloading" && l.Current > 0 && l.Total >= l.Current)
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
		if l.Status != "Pull complete" && l.Status != "Already exists" {
			t.Errorf("layer %s ended as %q", l.ID, l.Status)
		}
	}
	if !sawBytes {
		t.Error("no layer reported downloaded bytes out of a total")
	}
	for i := 1; i < len(percents); i++ {
		if percents[i] < percents[i-1] || percents[i] < 0 || percents[i] > 100 {
			t.Fatalf("percent went %v → %v (all: %v); want 0..100, never decreasing", percents[i-1], percents[i], percents)
		}
	}
	if last := percents[len(percents)-1]; last != 100 {
		t.Errorf("percent after the last layer completed = %v, want 100", last)
	}
}

func TestPullTrackerOverall(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name string
		msgs []pullMessage
		want float64
	}{
		{"nothing yet", []pullMessage{{ID: "a", Status: "Pulling fs layer"}}, 0},
		{"tag line is not a layer", []pullMessage{{ID: "latest", Status: "Pulling from metabase/metabase-enterprise"}}, 0},
		{"half downloaded", []pullMessage{{ID: "a", Status: "Downloading", Current: 5 * mb, Total: 10 * mb}}, 100 * downloadShare / 2},
		{"downloaded", []pullMessage{{ID: "a", Status: "Downloading", Current: 10, Total: 10}, {ID: "a", Status: "Download complete"}}, 100 * downloadShare},
		{"half extracted", []pullMessage{{ID: "a", Status: "Downloading", Current: 1, Total: 10}, {ID: "a", Status: "Extracting", Current: 5, Total: 10}}, 100 * (downloadShare + (1-downloadShare)/2)},
		{"weighted by size: small layer done, big one waiting", []pullMessage{
			{ID: "small", Status: "Downloading", Current: 1 * mb, Total: 1 * mb}, {ID: "small", Status: "Pull complete"},
			{ID: "big", Status: "Downloading", Current: 0, Total: 9 * mb},
		}, 10},
		{"unknown size counts as the average", []pullMessage{
			{ID: "a", Status: "Downloading", Current: 4 * mb, Total: 4 * mb}, {ID: "a", Status: "Pull complete"},
			{ID: "b", Status: "Waiting"},
		}, 50},
		{"already exists is done", []pullMessage{{ID: "a", Status: "Already exists"}, {ID: "b", Status: "Already exists"}}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr pullTracker
			for _, m := range tt.msgs {
				tr.update(m)
			}
			if got := tr.overall(); got-tt.want > 1e-9 || tt.want-got > 1e-9 {
				t.Errorf("overall = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPullTrackerNeverGoesBack(t *testing.T) {
	var tr pullTracker
	tr.update(pullMessage{ID: "a", Status: "Downloading", Current: 9, Total: 10})
	tr.update(pullMessage{ID: "b", Status: "Pulling fs layer"})
	before := tr.percent
	// b turns out to be far bigger than the average guess: the computed share drops, the shown one must not.
	tr.update(pullMessage{ID: "b", Status: "Downloading", Current: 1, Total: 1000})
	if tr.percent < before {
		t.Errorf("percent went back from %v to %v", before, tr.percent)
	}
	if changed := tr.update(pullMessage{ID: "b", Status: "Downloading", Current: 1, Total: 1000}); changed {
		t.Error("a repeated message reported a change")
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
			err := s.pullError(s.cfg.Image, tt.err)
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
