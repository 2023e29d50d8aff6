package stack

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/stack/stacktest"
)

// ballast is the size of the random layer the pulled image carries, so the pull has bytes to report.
const ballast = 8 << 20

// TestPullFromRegistry pulls an image that is absent locally from a registry on 127.0.0.1 and checks
// the progress a user would watch: per-layer bytes, an overall percent that only grows, then a
// container that comes up from that image.
func TestPullFromRegistry(t *testing.T) {
	t.Parallel()
	reg := stacktest.NewRegistry(t)
	remote := absentImage(t, reg, "fakemetabase:pull")

	s := newTestStack(t, Config{Image: remote})
	s.pullEvery = 0 // every step, to check them all; TestThrottle covers the rate bound
	var rec recorder
	info := mustUp(t, s, &rec)
	if info.Image != remote {
		t.Errorf("Info.Image = %q, want %q", info.Image, remote)
	}
	if k := rec.kinds(); !slices.Equal(k[:3], []EventKind{PullStart, PullProgress, PullDone}) {
		t.Errorf("events = %v; want pull-start, pull-progress…, pull-done first", k)
	}
	progress := rec.of(PullProgress)
	var downloaded bool
	for i, e := range progress {
		if e.Percent < 0 || e.Percent > 100 || (i > 0 && e.Percent < progress[i-1].Percent) {
			t.Fatalf("percent %v after %v; want 0..100, never decreasing", e.Percent, progress[max(i-1, 0)].Percent)
		}
		for _, l := range e.Layers {
			if l.Status == "Downloading" && l.Current > 0 && l.Total >= l.Current && l.Total > ballast/2 {
				downloaded = true
			}
		}
	}
	if !downloaded {
		t.Errorf("no progress event showed the ballast layer's bytes downloading; events: %+v", progress)
	}
	done := rec.of(PullDone)
	if len(done) != 1 || done[0].Percent != 100 {
		t.Fatalf("pull-done events = %+v, want one at 100%%", done)
	}
	statuses := map[string]int{}
	for _, l := range done[0].Layers {
		statuses[l.Status]++
	}
	// The emulator's own layers are still present locally; only the ballast travels.
	if statuses["Pull complete"] != 1 || statuses["Already exists"] < 1 || len(statuses) != 2 {
		t.Errorf("final layer statuses = %v; want one pulled layer and the rest already present", statuses)
	}

	t.Run("present image is not pulled again", func(t *testing.T) {
		if err := s.Down(testContext(t), true); err != nil {
			t.Fatal(err)
		}
		var rec recorder
		mustUp(t, s, &rec)
		if len(rec.of(PullStart)) != 0 || len(rec.of(ImagePresent)) != 1 {
			t.Errorf("events = %v; want image-present and no pull", rec.kinds())
		}
	})
}

// absentImage puts an image with a fresh ballast layer in the registry and makes sure it is not
// present locally, so that pulling it downloads that layer.
func absentImage(t *testing.T, reg *stacktest.Registry, name string) string {
	t.Helper()
	derived := stacktest.Derive(t, stacktest.Image(t), ballast)
	remote := reg.Push(t, derived, name)
	stacktest.RemoveImage(t, derived)
	return remote
}

func TestPullFailures(t *testing.T) {
	t.Parallel()
	reg := stacktest.NewRegistry(t)
	down := stacktest.NewRegistry(t)
	down.Stop()
	tests := []struct {
		name  string
		image string
		want  []string
	}{
		{"unknown tag", reg.Addr + "/fakemetabase:no-such-tag", []string{"unknown image or tag", reg.Addr + " has no", "--image"}},
		{"registry down", down.Addr + "/fakemetabase:latest", []string{"cannot reach " + down.Addr, "--image"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStack(t, Config{Image: tt.image})
			var rec recorder
			_, err := s.Up(testContext(t), rec.emit)
			if !errors.Is(err, ErrImagePull) {
				t.Fatalf("Up = %v, want ErrImagePull", err)
			}
			if missing := containsAll(err.Error(), tt.want...); len(missing) > 0 {
				t.Errorf("error %q lacks %q", err, missing)
			}
			if !strings.HasPrefix(err.Error(), "up: pull "+tt.image) {
				t.Errorf("error %q does not name the operation and the image", err)
			}
			if len(rec.of(PullStart)) != 1 || len(rec.of(Creating)) != 0 {
				t.Errorf("events = %v; want a pull start and nothing created", rec.kinds())
			}
			if got := leftovers(t, s); len(got) > 0 {
				t.Errorf("a failed pull left %v", got)
			}
		})
	}

	t.Run("cancelled", func(t *testing.T) {
		remote := absentImage(t, reg, "fakemetabase:cancel")
		s := newTestStack(t, Config{Image: remote})
		ctx, cancel := context.WithCancel(testContext(t))
		defer cancel()
		var rec recorder
		_, err := s.Up(ctx, func(e Event) {
			rec.emit(e)
			if e.Kind == PullProgress {
				cancel() // the user pressed ctrl-c while the bar moved
			}
		})
		if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "up: pull "+remote) {
			t.Errorf("Up cancelled during the pull = %v, want context.Canceled naming the pull", err)
		}
		// Docker keeps no half-pulled image: the message says what the next run does, and promises no resume.
		if msg := err.Error(); !strings.Contains(msg, "interrupted after ") || !strings.Contains(msg, "the next run pulls again") || strings.Contains(msg, "resume") {
			t.Errorf("Up cancelled during the pull = %q; want what was done and what the next run does", msg)
		}
		if len(rec.of(PullDone)) != 0 || len(rec.of(Creating)) != 0 {
			t.Errorf("events after the cancel: %v", rec.kinds())
		}
	})
}
