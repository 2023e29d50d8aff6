package metabase

import (
	"errors"
	"net/http"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		tag        string
		enterprise bool
		major      int
		minor      int
		atLeast51  bool
	}{
		{"v1.63.1", true, 63, 1, true},
		{"v0.50.2", false, 50, 2, false},
		{"v1.51.0-beta", true, 51, 0, true},
		{"v1.47.10", true, 47, 10, false},
		{"vUNKNOWN", false, 0, 0, true}, // unknown counts as newest: the wizard targets current Metabase
	} {
		v := ParseVersion(tc.tag)
		if v.Enterprise != tc.enterprise || v.Major != tc.major || v.Minor != tc.minor {
			t.Errorf("ParseVersion(%q) = %+v, want enterprise=%v %d.%d", tc.tag, v, tc.enterprise, tc.major, tc.minor)
		}
		if got := v.AtLeast(51, 0); got != tc.atLeast51 {
			t.Errorf("ParseVersion(%q).AtLeast(51,0) = %v, want %v", tc.tag, got, tc.atLeast51)
		}
	}
}

func TestParseAPIError(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       string
	}{
		{"plain text", "Looks like someone else edited the permissions and your data is out of date.", "Looks like someone else edited the permissions and your data is out of date."},
		{"json message", `{"message":"Invalid token","status":"error"}`, "Invalid token"},
		{"json field errors", `{"errors":{"password":"did not match stored password"}}`, "password: did not match stored password"},
		{"several field errors sorted", `{"errors":{"token":"Token does not match the setup token.","email":"bad"}}`, "email: bad; token: Token does not match the setup token."},
		{"unknown json kept whole", `{"status":"initializing","progress":0.5}`, `{"status":"initializing","progress":0.5}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := parseAPIError(http.MethodPut, "/api/setting", 400, []byte(tc.body))
			if e.Message != tc.want {
				t.Fatalf("message = %q, want %q", e.Message, tc.want)
			}
			var ae *APIError
			if !errors.As(error(e), &ae) || !IsStatus(e, 400) {
				t.Fatalf("not an *APIError with status 400: %v", e)
			}
		})
	}
}

func TestTargetFieldID(t *testing.T) {
	for _, tc := range []struct {
		target any
		want   int
		ok     bool
	}{
		{[]any{"dimension", []any{"field", float64(345), nil}}, 345, true},
		{[]any{"dimension", []any{"field", float64(7), map[string]any{"base-type": "type/Integer"}}}, 7, true},
		{[]any{"field-id", float64(9)}, 9, true},
		{float64(12), 12, true},
		{"ACCOUNT_ID", 0, false},
		{[]any{"dimension", []any{"expression", "x"}}, 0, false},
	} {
		got, ok := TargetFieldID(tc.target)
		if got != tc.want || ok != tc.ok {
			t.Errorf("TargetFieldID(%v) = %d,%v want %d,%v", tc.target, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "localhost:3000", "ftp://x", "http://"} {
		if _, err := New(u); err == nil {
			t.Errorf("New(%q) accepted a URL Metabase cannot be reached at", u)
		}
	}
}
