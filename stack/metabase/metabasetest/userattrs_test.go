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
