package hostapp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestMetabaseProbe(t *testing.T) {
	const (
		ok       = `{"status":"ok"}`
		jwtReady = `{"token-features":{"sso_jwt":true,"sandboxes":true},"other-sso-enabled?":true}`
	)
	tests := []struct {
		name         string
		healthStatus int
		health       string
		props        string
		down         bool
		wantErr      string // "" = ready
		wantJWT      bool   // errors.Is(err, ErrJWTNotEnabled)
	}{
		{"ready", 200, ok, jwtReady, false, "", false},
		{"ready, older Metabase without other-sso-enabled?", 200, ok, `{"token-features":{"sso_jwt":true}}`, false, "", false},
		{"not running", 0, "", "", true, "probe Metabase at", false},
		{"starting", 503, `{"status":"initializing","progress":0.4}`, jwtReady, false, "still starting (40%)", false},
		{"app db down", 503, `{"status":"Unable to get app-db connection"}`, jwtReady, false, "answered 503", false},
		{"not Metabase", 200, `<html>hello</html>`, jwtReady, false, "not Metabase's JSON", false},
		{"no license", 200, ok, `{"token-features":{"sso_jwt":false},"other-sso-enabled?":false}`, false, "sso_jwt", true},
		{"no token-features at all", 200, ok, `{}`, false, "sso_jwt", true},
		{"jwt switched off", 200, ok, `{"token-features":{"sso_jwt":true},"other-sso-enabled?":false}`, false, "other-sso-enabled? is false", true},
		{"jwt-enabled readable and off", 200, ok, `{"token-features":{"sso_jwt":true},"jwt-enabled":false,"other-sso-enabled?":true}`, false, "jwt-enabled is false", true},
		{"jwt-enabled readable and on", 200, ok, `{"token-features":{"sso_jwt":true},"jwt-enabled":true,"other-sso-enabled?":false}`, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.healthStatus)
				w.Write([]byte(tt.health))
			})
			mux.HandleFunc("GET /api/session/properties", func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(tt.props))
			})
			srv := httptest.NewServer(mux)
			if tt.down {
				srv.Close()
			} else {
				defer srv.Close()
			}
			err := newMetabaseProbe(srv.URL)(context.Background())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("probe = %v, want ready", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("probe = %v, want an error saying %q", err, tt.wantErr)
			}
			if errors.Is(err, ErrJWTNotEnabled) != tt.wantJWT {
				t.Errorf("errors.Is(err, ErrJWTNotEnabled) = %v, want %v", !tt.wantJWT, tt.wantJWT)
			}
		})
	}
}

func TestMetabaseProbeHonoursCancel(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := newMetabaseProbe(srv.URL)(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("probe with a cancelled context = %v, want context.Canceled", err)
	}
}

// TestAnalyticsUsesBuiltinProbe wires the default probe to a Metabase that is down, then up.
func TestAnalyticsUsesBuiltinProbe(t *testing.T) {
	var up atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !up.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"initializing","progress":0.1}`))
		case r.URL.Path == "/api/health":
			w.Write([]byte(`{"status":"ok"}`))
		default:
			w.Write([]byte(`{"token-features":{"sso_jwt":true},"other-sso-enabled?":true}`))
		}
	}))
	defer srv.Close()
	app := newTestApp(t, func(c *Config) { c.Probe = nil; c.MetabaseSiteURL = srv.URL })
	b := newBrowser(t, app)
	b.mustLogin(acmeEmail, acmePass)
	if resp := b.do("GET", "/analytics", nil); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(b.last, "still starting") {
		t.Fatalf("Metabase starting: /analytics = %d\n%s", resp.StatusCode, b.last)
	}
	up.Store(true)
	app.clock.advance(probeTTL)
	if resp := b.do("GET", "/analytics", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("Metabase up: /analytics = %d\n%s", resp.StatusCode, b.last)
	}
}
