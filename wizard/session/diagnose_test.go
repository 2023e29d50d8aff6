package session

import (
	"testing"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

func TestSameSiteCheck(t *testing.T) {
	tests := []struct {
		host, mb, samesite string
		ok                 bool
	}{
		{"http://localhost:8080", "http://localhost:3000", "", true},
		{"http://localhost:8080", "http://localhost:3000", "none", false},
		{"https://app.example.com", "https://bi.example.com", "lax", true},
		{"https://app.example.com", "https://bi.other.com", "lax", false},
		{"https://app.example.com", "https://bi.other.com", "none", true},
		{"http://app.example.com", "http://bi.other.com", "none", false},
		{"http://localhost:8080", "http://127.0.0.1:3000", "lax", false},
	}
	for _, tt := range tests {
		set := map[string]metabase.Setting{}
		if tt.samesite != "" {
			set["session-cookie-samesite"] = metabase.Setting{Key: "session-cookie-samesite", Value: tt.samesite}
		}
		if c := sameSiteCheck(set, tt.host, tt.mb); c.OK != tt.ok {
			t.Errorf("%s in %s, SameSite %q: ok = %v (%s), want %v", tt.mb, tt.host, tt.samesite, c.OK, c.Detail, tt.ok)
		}
	}
}
