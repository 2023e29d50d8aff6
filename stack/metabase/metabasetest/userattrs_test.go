package metabasetest

import (
	"fmt"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestPutUserLoginAttributes: PUT /api/user/:id as users_rest/api.clj defendpoint :put "/:id" has it, and
// which account_id a sign-in leaves in force per generation (users/models/user.clj add-attributes).
func TestPutUserLoginAttributes(t *testing.T) {
	for _, gen := range Generations() {
		t.Run(gen.Tag(), func(t *testing.T) {
			g := setupGuide(t, Options{Version: gen.Tag()})
			const email = "demo@example.com"
			me := g.signIn(t, email, jwt.MapClaims{"account_id": "28"})
			id := num(t, g.userByEmail(t, email)["id"])
			path := fmt.Sprintf("/api/user/%d", id)

			got := g.admin.obj(200, "PUT", path, map[string]any{"login_attributes": map[string]any{"account_id": "9"}})
			if attrs, _ := got["login_attributes"].(map[string]any); attrs["account_id"] != "9" {
				t.Errorf("admin PUT: login_attributes = %v, want account_id 9", got["login_attributes"])
			}
			if _, ok := got["user_group_memberships"]; !ok {
				t.Errorf("admin PUT: the answer has no user_group_memberships: %v", got)
			}
			// The user's own PUT may not touch login_attributes: the key is ignored, not refused.
			me.must(200, "PUT", path, map[string]any{"login_attributes": map[string]any{"account_id": "1"}})
			if attrs, _ := g.userByEmail(t, email)["login_attributes"].(map[string]any); attrs["account_id"] != "9" {
				t.Errorf("self PUT changed login_attributes to %v", attrs)
			}

			for _, c := range []struct {
				name   string
				as     *rawClient
				path   string
				body   map[string]any
				status int
			}{
				{"an SSO user's name", g.admin, path, map[string]any{"first_name": "Other"}, 400},
				{"a nested attribute value", g.admin, path, map[string]any{"login_attributes": map[string]any{"a": map[string]any{"b": 1}}}, 400},
				{"a missing user", g.admin, "/api/user/99999", map[string]any{"login_attributes": nil}, 404},
				{"another user, not as an admin", me, fmt.Sprintf("/api/user/%d", num(t, g.userByEmail(t, "admin@example.com")["id"])), map[string]any{"first_name": "X"}, 403},
			} {
				if r := c.as.do("PUT", c.path, c.body); r.status != c.status {
					t.Errorf("%s: %s, want %d", c.name, r, c.status)
				}
			}

			// The next sign-in: from Gen57 the JWT's value goes to jwt_attributes and the admin's stays in
			// force; before, the JWT rewrites login_attributes.
			g.signIn(t, email, jwt.MapClaims{"account_id": "28"})
			g.s.mu.Lock()
			eff, _ := userAttribute(g.s.st.userByEmail(email), "account_id")
			g.s.mu.Unlock()
			want := "9"
			if gen < Gen57 {
				want = "28"
			}
			if eff != want {
				t.Errorf("account_id in force after the next sign-in = %q, want %q", eff, want)
			}
		})
	}
}

// TestSettingUserFacingValue: GET /api/setting answers as settings/models/setting.clj user-facing-info does:
// null for an env-set value (is_env_setting true, default naming the variable) and for a value equal to the
// default; the value itself otherwise.
func TestSettingUserFacingValue(t *testing.T) {
	const key = "jwt-user-provisioning-enabled?"
	tests := []struct {
		name               string
		env                map[string]string
		put                any // nil: leave unset
		wantValue, wantEnv any
		wantDefault        any
	}{
		{name: "unset", wantValue: nil, wantEnv: false, wantDefault: true},
		{name: "stored equal to the default", put: true, wantValue: nil, wantEnv: false, wantDefault: true},
		{name: "stored off", put: false, wantValue: false, wantEnv: false, wantDefault: true},
		{name: "from the environment", env: map[string]string{"MB_JWT_USER_PROVISIONING_ENABLED": "false"},
			wantValue: nil, wantEnv: true, wantDefault: "Using value of env var $MB_JWT_USER_PROVISIONING_ENABLED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(Options{LicenseToken: TestLicenseToken, Features: []string{"sso_jwt", "embedding", "sandboxes"}, Env: tt.env})
			t.Cleanup(s.Close)
			a := admin(t, s)
			if tt.put != nil {
				a.must(204, "PUT", "/api/setting/jwt-user-provisioning-enabled%3F", map[string]any{"value": tt.put})
			}
			list, _ := a.must(200, "GET", "/api/setting", nil).([]any)
			var got map[string]any
			for _, e := range list {
				if m, _ := e.(map[string]any); m["key"] == key {
					got = m
				}
			}
			if got == nil {
				t.Fatalf("GET /api/setting has no %s", key)
			}
			if got["value"] != tt.wantValue || got["is_env_setting"] != tt.wantEnv || got["default"] != tt.wantDefault ||
				got["env_name"] != "MB_JWT_USER_PROVISIONING_ENABLED" {
				t.Errorf("%s = %v, want value %v, is_env_setting %v, default %v", key, got, tt.wantValue, tt.wantEnv, tt.wantDefault)
			}
		})
	}
}
