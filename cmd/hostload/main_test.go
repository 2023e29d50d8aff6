package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/hostapp"
)

func TestRawConnReadsResponses(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantErr    string
	}{
		{"redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/x", http.StatusFound) }, 302, ""},
		{"sized body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		}, 200, ""},
		{"chunked body", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			io.WriteString(w, "b")
		}, 0, "no Content-Length"},
		{"cookie is sent", func(w http.ResponseWriter, r *http.Request) {
			if c, err := r.Cookie("s"); err != nil || c.Value != "v" {
				w.WriteHeader(http.StatusUnauthorized)
			}
		}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			c, err := dial(context.Background(), srv.URL, "/", "s=v")
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			for range 3 { // the same connection, kept alive
				status, err := c.get()
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("get = %d, %v; want an error saying %q", status, err, tt.wantErr)
					}
					return
				}
				if err != nil || status != tt.wantStatus {
					t.Fatalf("get = %d, %v; want %d", status, err, tt.wantStatus)
				}
			}
		})
	}
}

func TestLoadAgainstHostApp(t *testing.T) {
	const password = "load-test-pass-1"
	app, err := hostapp.New(hostapp.Config{
		MetabaseSiteURL: "http://metabase.test", JWTSecret: "secret", DashboardPath: "/dashboard/1",
		Tenants: []hostapp.Tenant{{Name: "Customer-Acme", AccountID: 28, Users: []hostapp.User{{Email: demoEmail, Password: password}}}},
		Probe:   func(context.Context) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	defer srv.Close()
	ctx := context.Background()
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	if _, err := login(ctx, client, srv.URL, "wrong"); err == nil {
		t.Fatal("login with a wrong password worked")
	}
	cookie, err := login(ctx, client, srv.URL, password)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path       string
		want       int
		wantErrors bool
	}{
		{"/sso/metabase", http.StatusFound, false},
		{"/analytics", http.StatusOK, false},
		{"/analytics", http.StatusFound, true}, // a wrong answer counts as an error, not as a measurement
	}
	for _, tt := range tests {
		lat, errs, firstErr, _ := load(ctx, srv.URL, tt.path, cookie, tt.want, 4, 0, 200*time.Millisecond)
		if tt.wantErrors {
			if errs == 0 || len(lat) != 0 || !strings.Contains(firstErr, "want 302") {
				t.Errorf("%s wanting %d: %d measured, %d errors (%q); want only errors", tt.path, tt.want, len(lat), errs, firstErr)
			}
			continue
		}
		if errs != 0 || len(lat) == 0 {
			t.Errorf("%s: %d measured, %d errors (first %q); want measurements and no errors", tt.path, len(lat), errs, firstErr)
		}
	}

	// Open loop: the schedule, not the server's speed, sets how many requests are sent: 400/s for 0.5 s.
	lat, errs, _, _ := load(ctx, srv.URL, "/analytics", cookie, http.StatusOK, 4, 400, 500*time.Millisecond)
	if errs != 0 || len(lat) < 150 || len(lat) > 210 {
		t.Errorf("open loop at 400 req/s for 0.5 s sent %d requests (%d errors), want about 200", len(lat), errs)
	}
}

func TestMissedTargets(t *testing.T) {
	fast := result{Path: "/sso/metabase", PerSecond: 30000, P99: 7 * time.Millisecond}
	tests := []struct {
		name    string
		results []result
		rate    float64
		want    string // "" = targets met
	}{
		{"capacity met; closed-loop latency is queueing, not judged", []result{fast}, 0, ""},
		{"capacity missed", []result{{Path: "/sso/metabase", PerSecond: 9000}}, 0, "9000 req/s < 13000"},
		{"at rate, kept up and fast", []result{{Path: "/sso/metabase", PerSecond: 12990, P99: time.Millisecond}}, 13000, ""},
		{"at rate, slow tail", []result{{Path: "/analytics", PerSecond: 13000, P99: 6 * time.Millisecond}}, 13000, "p99 6.00ms ≥ 5ms"},
		{"at rate, fell behind", []result{{Path: "/analytics", PerSecond: 10000, P99: time.Millisecond}}, 13000, "kept up with only 10000 of 13000"},
		{"errors always count", []result{{Path: "/analytics", PerSecond: 13000, Errors: 3}}, 13000, "3 errors"},
	}
	for _, tt := range tests {
		got := missed(tt.results, tt.rate)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: missed = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i))
	}
	for _, tt := range []struct{ p, want int }{{50, 51}, {99, 100}, {90, 91}} {
		if got := percentile(lat, tt.p); got != time.Duration(tt.want) {
			t.Errorf("p%d = %d, want %d", tt.p, got, tt.want)
		}
	}
	if percentile(nil, 99) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}
