package stack

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// runningEngine is an engine whose one container runs and publishes port; only what waitHealthy
// calls is implemented (the embedded nil interface panics on anything else).
type runningEngine struct {
	engine
	port int
}

func (e runningEngine) inspect(context.Context, string) (containerState, error) {
	return containerState{ID: "c1", Name: "mb", Running: true, HostPort: e.port, Labels: map[string]string{labelImage: "img"}}, nil
}

func (e runningEngine) logs(ctx context.Context, _ string, follow bool, _ int, _ time.Time, _ io.Writer) error {
	if follow {
		<-ctx.Done()
	}
	return nil
}

func (e runningEngine) image(context.Context, string) (imageInfo, error) { return imageInfo{}, nil }

// TestReadyMeansReady: /api/health answers 200 before the API does; Up reports healthy only once
// /api/session/properties answers 200 too.
func TestReadyMeansReady(t *testing.T) {
	var props atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/health":
			w.Write([]byte(`{"status":"ok"}`))
		case "/api/session/properties":
			if props.Add(1) <= 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte(`{"version":{"tag":"v1.64.1"}}`))
		}
	}))
	defer srv.Close()
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(p)
	s := newStack(Config{StateDir: "/s", Port: port, HealthTimeout: 20 * time.Second}, runningEngine{port: port})
	var rec recorder
	info, err := s.waitHealthy(testContext(t), "c1", time.Now(), rec.emit)
	if err != nil {
		t.Fatal(err)
	}
	if n := props.Load(); n != 4 {
		t.Errorf("/api/session/properties asked %d times, want healthy at the first 200 (the 4th)", n)
	}
	if info.MetabaseVersion != "v1.64.1" || len(rec.of(Healthy)) != 1 {
		t.Errorf("info %+v, events %v", info, rec.kinds())
	}
	for _, e := range rec.of(Booting) {
		if e.Message != "Metabase is starting: /api/health answers 200, /api/session/properties still 503" {
			t.Errorf("booting event %q", e.Message)
		}
	}
}
