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
		lat, errs, firstErr, _ := load(ctx, srv.URL, tt.path, cookie, tt.want, 4, 200*time.Millisecond)
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
