package metabase

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseHealth(t *testing.T) {
	tests := []struct {
		name    string
		code    int
		body    string
		want    Health
		wantErr string // part of the error; "" = no error
	}{
		{"ready", 200, `{"status":"ok"}`, Health{Status: "ok"}, ""},
		{"ready without a body", 200, ``, Health{Status: "ok"}, ""},
		{"booting", 503, `{"status":"initializing","progress":0.4}`, Health{Status: "initializing", Progress: 0.4}, ""},
		{"app db down", 503, `{"status":"Unable to get app-db connection"}`, Health{Status: "Unable to get app-db connection"}, ""},
		{"503 that is not Metabase's", 503, "Service Unavailable", Health{}, "answered 503: Service Unavailable"},
		{"proxy error", 502, "bad gateway", Health{}, "answered 502: bad gateway"},
		{"another program", 404, "<html>" + strings.Repeat("x", 500), Health{}, "answered 404: <html>xxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHealth(tt.code, []byte(tt.body))
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("ParseHealth = %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != tt.code || !strings.Contains(err.Error(), tt.wantErr) || got.Ready() {
				t.Fatalf("ParseHealth = %+v, %v; want an APIError containing %q", got, err, tt.wantErr)
			}
			if len(ae.Message) > 200 {
				t.Errorf("the error carries %d bytes of the body, want at most 200", len(ae.Message))
			}
		})
	}
}

// The client reads /api/health through ParseHealth: the same answers give the same Health.
func TestClientHealthUsesParseHealth(t *testing.T) {
	for _, tt := range []struct {
		code  int
		body  string
		ready bool
		err   bool
	}{
		{200, `{"status":"ok"}`, true, false},
		{503, `{"status":"initializing","progress":0.25}`, false, false},
		{503, `{"status":"Unable to get app-db connection"}`, false, false},
		{502, "bad gateway", false, true},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tt.code)
			w.Write([]byte(tt.body))
		}))
		c, _ := New(srv.URL)
		got, err := c.Health(t.Context())
		srv.Close()
		want, wantErr := ParseHealth(tt.code, []byte(tt.body))
		if (err != nil) != tt.err || got != want || got.Ready() != tt.ready {
			t.Errorf("%d %s: Health = %+v, %v; ParseHealth = %+v, %v", tt.code, tt.body, got, err, want, wantErr)
		}
	}
}
