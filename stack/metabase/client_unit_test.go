package metabase

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
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
		// Setup's validation of a nested body (api.macros decode-and-validate-params).
		{"nested field errors", `{"errors":{"user":{"password":"password is too common."}},"specific-errors":{"user":{"password":["password is too common., received: \"x\""]}}}`, "user.password: password is too common."},
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
		{[]any{"dimension", []any{"field", float64(7), nil}, map[string]any{"stage-number": float64(0)}}, 7, true},
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

func TestAPIErrorFieldsAndCode(t *testing.T) {
	e := parseAPIError(http.MethodPost, "/api/setup", 400, []byte(`{"errors":{"user":{"password":"password is too common."},"prefs":{"site_name":"value must be a non-blank string."}}}`))
	if got := e.Field("user.password"); got != "password is too common." {
		t.Errorf("Field(user.password) = %q", got)
	}
	if got := e.Field("prefs.site_name"); got == "" {
		t.Errorf("Field(prefs.site_name) is empty: %+v", e.Errors)
	}
	flat := parseAPIError(http.MethodPost, "/api/setup", 400, []byte(`{"errors":{"password":"too short"}}`))
	if got := flat.Field("user.password"); got != "too short" {
		t.Errorf("a flat password error is not found by its nested path: %q", got)
	}
	sso := parseAPIError(http.MethodGet, "/auth/sso", 400, []byte(`{"cause":"SSO has not been enabled and/or configured","data":{"status":"error-sso-disabled","status-code":400},"message":"SSO has not been enabled and/or configured","status":"error-sso-disabled"}`))
	if sso.Code != "error-sso-disabled" || sso.Message != "SSO has not been enabled and/or configured" {
		t.Errorf("SSO error = %+v", sso)
	}
	if text := parseAPIError(http.MethodGet, "/auth/sso", 400, []byte("Invalid redirect URL")); text.Message != "Invalid redirect URL" || text.Code != "" {
		t.Errorf("plain-text error = %+v", text)
	}
}

func TestAPIErrorNeverRepeatsWhatWasRefused(t *testing.T) {
	for _, body := range []string{
		`{"errors":{"user":{"password":"password is too common."}},"specific-errors":{"user":{"password":["received: \"hunter2hunter2\""]}}}`,
		`{"specific-errors":{"user":{"password":["received: \"hunter2hunter2\""]}}}`,
	} {
		e := parseAPIError(http.MethodPost, "/api/setup", 400, []byte(body))
		if strings.Contains(e.Error(), "hunter2") || strings.Contains(fmt.Sprint(e.Errors), "hunter2") {
			t.Errorf("the error repeats the refused password: %v", e)
		}
	}
}

func TestFindMagicGroup(t *testing.T) {
	str := func(s string) *string { return &s }
	typed := []Group{{ID: 1, Name: "All Users", MagicGroupType: str(MagicAllUsers)}, {ID: 2, Name: "Administrators", MagicGroupType: str(MagicAdmin)}, {ID: 3, Name: "All Users (old)"}}
	untyped := []Group{{ID: 7, Name: "Customer Acme"}, {ID: 1, Name: "All Users"}, {ID: 2, Name: "Administrators"}} // 0.50-0.54
	renamed := []Group{{ID: 1, Name: "Everyone", MagicGroupType: str(MagicAllUsers)}, {ID: 9, Name: "All Users"}}
	for _, tc := range []struct {
		name   string
		groups []Group
		magic  string
		want   int
	}{
		{"by type", typed, MagicAllUsers, 1},
		{"admin by type", typed, MagicAdmin, 2},
		{"by name without types", untyped, MagicAllUsers, 1},
		{"admin by name without types", untyped, MagicAdmin, 2},
		{"a user group named like it does not win over the typed one", renamed, MagicAllUsers, 1},
	} {
		g, ok := FindMagicGroup(tc.groups, tc.magic)
		if !ok || g.ID != tc.want {
			t.Errorf("%s: FindMagicGroup = %d,%v want %d", tc.name, g.ID, ok, tc.want)
		}
	}
}

func TestUserGroupIDs(t *testing.T) {
	current := User{GroupIDsField: []int{1, 5}}                                             // GET /api/user/current
	byID := User{Memberships: []GroupMembership{{ID: 5}, {ID: 1}}}                          // GET /api/user/:id
	both := User{GroupIDsField: []int{5}, Memberships: []GroupMembership{{ID: 1}, {ID: 5}}} // never twice
	for _, u := range []User{current, byID, both} {
		if got := u.GroupIDs(); len(got) != 2 || got[0] != 1 || got[1] != 5 {
			t.Errorf("GroupIDs = %v, want [1 5]", got)
		}
	}
}
