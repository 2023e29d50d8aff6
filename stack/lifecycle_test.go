package stack

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/stack/stacktest"
)

// TestUpLifecycle walks one stack through what a user does over days: up, up again, a stopped
// container, a new image, down keeping data, down deleting it.
func TestUpLifecycle(t *testing.T) {
	t.Parallel()
	base := stacktest.Image(t)
	newer := stacktest.Derive(t, base, 1024) // before newTestStack: cleanups run last-in first-out
	s := newTestStack(t, Config{Image: base})
	ctx := testContext(t)

	var rec recorder
	first := mustUp(t, s, &rec)
	if first.Reused {
		t.Error("first Up reported Reused")
	}
	if want := []EventKind{ImagePresent, Creating, Created, Starting}; !slices.Equal(rec.kinds()[:4], want) {
		t.Errorf("first Up events = %v, want them to begin with %v", rec.kinds(), want)
	}
	if got := rec.kinds(); got[len(got)-1] != Healthy {
		t.Errorf("first Up events = %v, want them to end with healthy", got)
	}
	if first.URL != "http://localhost:"+strconv.Itoa(s.cfg.Port) || first.Port != s.cfg.Port || first.Volume == "" || first.MetabaseVersion == "" {
		t.Errorf("Info = %+v: want URL on localhost:%d, a volume and the emulator's version", first, s.cfg.Port)
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(s.cfg.Port) + "/api/health")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/health after Up = %v, %v; want 200", resp, err)
	}
	resp.Body.Close()

	t.Run("second Up reuses the running container", func(t *testing.T) {
		var rec recorder
		again := mustUp(t, s, &rec)
		if !again.Reused || again.ContainerID != first.ContainerID {
			t.Errorf("second Up = %+v; want Reused with container %s", again, first.ContainerID)
		}
		if len(rec.of(Creating))+len(rec.of(Starting)) > 0 {
			t.Errorf("second Up created or started something: %v", rec.kinds())
		}
	})

	t.Run("status of a running stack", func(t *testing.T) {
		st, err := s.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Exists || !st.Running || st.State != "running" || st.Health != "ok" || st.Port != s.cfg.Port ||
			st.Version != first.MetabaseVersion || st.Image != s.cfg.Image || st.StartedAt.IsZero() || st.Uptime < 0 {
			t.Errorf("Status = %+v", st)
		}
	})

	t.Run("logs", func(t *testing.T) {
		// Tail first: the log only grows (the emulator logs requests), so the line it returns is in the
		// full log read afterwards.
		var all, last bytes.Buffer
		if err := s.Logs(ctx, false, 1, &last); err != nil {
			t.Fatal(err)
		}
		if err := s.Logs(ctx, false, 0, &all); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(all.String()), "\n")
		tail := strings.TrimSpace(last.String())
		if len(lines) < 2 || tail == "" || strings.Contains(tail, "\n") || !slices.Contains(lines, tail) {
			t.Errorf("Logs(tail 0) = %d lines, Logs(tail 1) = %q; want several lines, and one of them", len(lines), tail)
		}
		// Following ends when the context does, without an error.
		fctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		var followed bytes.Buffer
		if err := s.Logs(fctx, true, 1, &followed); err != nil {
			t.Errorf("Logs(follow) until the context ends = %v, want nil", err)
		}
	})

	t.Run("a stopped container is started again", func(t *testing.T) {
		if err := s.eng.stop(ctx, first.ContainerID, stopGrace); err != nil {
			t.Fatal(err)
		}
		st, err := s.Status(ctx)
		if err != nil || !st.Exists || st.Running || st.State != "exited" || st.ExitCode != 0 || st.OOMKilled {
			t.Fatalf("Status after stop = %+v, %v; want exited with code 0 (SIGTERM handled)", st, err)
		}
		var rec recorder
		info := mustUp(t, s, &rec)
		if info.Reused || info.ContainerID != first.ContainerID || len(rec.of(Starting)) != 1 || len(rec.of(Creating)) != 0 {
			t.Errorf("Up on a stopped container = %+v, events %v; want the same container started, not created", info, rec.kinds())
		}
	})

	t.Run("a new image needs a recreate", func(t *testing.T) {
		cfg := s.cfg
		cfg.Image = newer
		s2, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		_, err = s2.Up(ctx, nil)
		if !errors.Is(err, ErrImageChanged) {
			t.Fatalf("Up with another image = %v, want ErrImageChanged", err)
		}
		if missing := containsAll(err.Error(), s.cfg.Image, newer, "--recreate", "--image"); len(missing) > 0 {
			t.Errorf("ErrImageChanged message %q lacks %q", err, missing)
		}
		if st, _ := s.Status(ctx); !st.Running {
			t.Error("ErrImageChanged stopped the running container; it must leave it alone")
		}
		s2.cfg.Recreate = true
		var rec recorder
		info, err := s2.Up(ctx, rec.emit)
		if err != nil {
			t.Fatalf("Up with Recreate: %v", err)
		}
		if info.ContainerID == first.ContainerID || info.Image != newer || info.Volume != first.Volume || info.Reused {
			t.Errorf("Up with Recreate = %+v; want a new container on %s with the same volume %s", info, newer, first.Volume)
		}
	})

	t.Run("down keeps the data, down with volumes deletes everything", func(t *testing.T) {
		if err := s.Down(ctx, false); err != nil {
			t.Fatal(err)
		}
		if got, want := leftovers(t, s), []string{"volume " + first.Volume}; !slices.Equal(got, want) {
			t.Errorf("after Down(keep data) left %v, want %v", got, want)
		}
		if st, err := s.Status(ctx); err != nil || st.Exists {
			t.Errorf("Status after Down = %+v, %v; want Exists false", st, err)
		}
		if err := s.Down(ctx, true); err != nil {
			t.Fatal(err)
		}
		if got := leftovers(t, s); len(got) > 0 {
			t.Errorf("after Down(volumes) left %v", got)
		}
		if err := s.Down(ctx, true); err != nil {
			t.Errorf("Down on a missing stack = %v, want nil", err)
		}
		if err := s.Logs(ctx, false, 0, &bytes.Buffer{}); !errors.Is(err, ErrNoStack) {
			t.Errorf("Logs on a missing stack = %v, want ErrNoStack", err)
		}
	})
}
