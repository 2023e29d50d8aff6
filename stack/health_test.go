package stack

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   health
		shown  string
	}{
		{"ready", 200, `{"status":"ok"}`, health{ok: true}, "ok"},
		{"booting", 503, `{"status":"initializing","progress":0.4}`, health{boot: 0.4}, "initializing 40%"},
		{"app db down", 503, `{"status":"Unable to get app-db connection"}`, health{reason: `/api/health answered 503 {"status":"Unable to get app-db connection"}`}, "answered 503"},
		{"proxy error", 502, "bad gateway", health{reason: "/api/health answered 502 bad gateway"}, "answered 502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/health" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			s := newStack(Config{StateDir: "/s"}, nil)
			got := s.probe(testContext(t), srv.Listener.Addr().(*net.TCPAddr).Port)
			if got != tt.want || !strings.Contains(got.String(), tt.shown) {
				t.Errorf("probe = %+v (%s), want %+v (%s)", got, got, tt.want, tt.shown)
			}
		})
	}
	t.Run("nothing listening", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		s := newStack(Config{StateDir: "/s"}, nil)
		if got := s.probe(testContext(t), port); got.ok || got.String() != "not answering yet" {
			t.Errorf("probe of a closed port = %+v", got)
		}
	})
}

func TestBackoff(t *testing.T) {
	b := backoff(firstPoll)
	var got []time.Duration
	for range 8 {
		got = append(got, b.next())
	}
	if got[0] != firstPoll || got[len(got)-1] != maxPoll {
		t.Errorf("backoff = %v; want it to start at %v and settle at %v", got, firstPoll, maxPoll)
	}
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Errorf("backoff shrank: %v", got)
		}
	}
}

func TestExitError(t *testing.T) {
	s := newStack(Config{StateDir: "/s", Memory: 2 << 30}, nil)
	tail := formatTail("line 1\nline 2\n")
	tests := []struct {
		name string
		st   containerState
		want []string
	}{
		{"crash", containerState{Name: "mb", ExitCode: 3}, []string{"exited with code 3", "Last 40 log lines:\nline 1\nline 2"}},
		{"oom", containerState{Name: "mb", ExitCode: 137, OOMKilled: true, Memory: 2 << 30}, []string{"out of memory", "at its 2 GiB limit", "heap 1024 MiB", "--memory 3 GB", "OOMKilled"}},
		{"killed", containerState{Name: "mb", ExitCode: 137}, []string{"SIGKILL, exit code 137", "without being OOMKilled"}},
		{"killed, not flagged, under a limit", containerState{Name: "mb", ExitCode: 137, Memory: 2 << 30}, []string{"SIGKILL, exit code 137", "most likely out of memory at its 2 GiB limit", "--memory 3 GB", "docker events --filter container=mb"}},
		{"engine error", containerState{Name: "mb", ExitCode: 127, Error: "exec: not found"}, []string{"code 127", "(Docker: exec: not found)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.exitError(tt.st, tail)
			if !errors.Is(err, ErrContainerExited) {
				t.Errorf("exitError = %v, want ErrContainerExited", err)
			}
			if errors.Is(err, ErrOutOfMemory) != tt.st.OOMKilled {
				t.Errorf("exitError = %v; ErrOutOfMemory only and always for an OOM kill", err)
			}
			if missing := containsAll(said(err), append(tt.want, "Fix: ")...); len(missing) > 0 {
				t.Errorf("exitError = %q; lacks %q", err, missing)
			}
		})
	}
	if got := formatTail(""); !strings.Contains(got, "logged nothing") {
		t.Errorf("formatTail of an empty log = %q", got)
	}
}
