package metabasetest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestConformance replays cases of Metabase's own test suite over HTTP against the emulator, for every
// generation where the case applies. Each case names the file and deftest it comes from (metabase/metabase;
// the file ids are the versions read, see docs/metabase-api.md §18). An expectation here is the one in
// Metabase's test, not the emulator's choice: where the two would differ, the emulator is wrong.
func TestConformance(t *testing.T) {
	const (
		jwtTest   = "enterprise/backend/test/metabase_enterprise/sso/integrations/jwt_test.clj"
		setupTest = "test/metabase/setup_rest/api_test.clj"
		gtapTest  = "enterprise/backend/test/metabase_enterprise/sandbox/api/gtap_test.clj"
		permsTest = "test/metabase/permissions_rest/api_test.clj"
		graphTest = "test/metabase/permissions/models/data_permissions/graph_test.clj"
	)
	all := func(Generation) bool { return true }
	from := func(min Generation) func(Generation) bool { return func(g Generation) bool { return g >= min } }

	tests := []struct {
		source string // file — deftest (testing string)
		gens   func(Generation) bool
		env    string // "fresh": no user yet; "guide": the quick start configured (setupGuide)
		run    func(t *testing.T, g *guide)
	}{
		// ---- POST /api/setup ----
		{setupTest + " — setup-validation-test (:token missing)", all, "fresh", func(t *testing.T, g *guide) {
			b := setupReq(g)
			delete(b, "token")
			expectJSON(t, anon(t, g).do("POST", "/api/setup", b), 400, "errors.token", "Token does not match the setup token.")
		}},
		{setupTest + " — setup-validation-test (:token incorrect)", all, "fresh", func(t *testing.T, g *guide) {
			b := setupReq(g)
			b["token"] = "foobar"
			expectJSON(t, anon(t, g).do("POST", "/api/setup", b), 400, "errors.token", "Token does not match the setup token.")
		}},
		{setupTest + " — setup-validation-test-2 (site name)", all, "fresh", func(t *testing.T, g *guide) {
			b := setupReq(g)
			b["prefs"] = map[string]any{}
			r := anon(t, g).do("POST", "/api/setup", b)
			m := expectStatus(t, r, 400)
			if p, _ := dig(m, "errors.prefs").(string); !strings.HasPrefix(p, "map where {:site_name -> <value must be a non-blank string.>") {
				t.Errorf("errors.prefs = %v", dig(m, "errors.prefs"))
			}
			expectList(t, m, "specific-errors.prefs", "missing required key, received: nil")
		}},
		{setupTest + " — setup-validation-test (user email missing)", all, "fresh", func(t *testing.T, g *guide) {
			b := setupReq(g)
			delete(b["user"].(map[string]any), "email")
			m := expectJSON(t, anon(t, g).do("POST", "/api/setup", b), 400, "errors.user.email", "value must be a valid email address.")
			expectList(t, m, "specific-errors.user.email", "missing required key, received: nil")
		}},
		{setupTest + " — setup-validation-test (user email invalid)", all, "fresh", func(t *testing.T, g *guide) {
			b := setupReq(g)
			b["user"].(map[string]any)["email"] = "anything"
			m := expectJSON(t, anon(t, g).do("POST", "/api/setup", b), 400, "errors.user.email", "value must be a valid email address.")
			expectList(t, m, "specific-errors.user.email", `valid email address, received: "anything"`)
		}},
		{setupTest + " — setup-validation-test (password missing)", all, "fresh", func(t *testing.T, g *guide) {
			b := setupReq(g)
			delete(b["user"].(map[string]any), "password")
			m := expectJSON(t, anon(t, g).do("POST", "/api/setup", b), 400, "errors.user.password", "password is too common.")
			expectList(t, m, "specific-errors.user.password", "missing required key, received: nil")
		}},
		{setupTest + " — setup-validation-test (password invalid)", all, "fresh", func(t *testing.T, g *guide) {
			b := setupReq(g)
			b["user"].(map[string]any)["password"] = "anything"
			m := expectStatus(t, anon(t, g).do("POST", "/api/setup", b), 400)
			expectList(t, m, "specific-errors.user.password", `valid password that is not too common, received: "anything"`)
		}},
		{setupTest + " — create-superuser-only-once-test", all, "fresh", func(t *testing.T, g *guide) {
			b := setupReq(g)
			b["user"].(map[string]any)["password"] = "p@ssword1"
			m := expectStatus(t, anon(t, g).do("POST", "/api/setup", b), 200)
			if _, ok := m["id"].(string); !ok || len(m) != 1 {
				t.Errorf("setup answer = %v, want exactly {:id <string>}", m)
			}
			b["user"].(map[string]any)["email"] = "second@example.com"
			expectText(t, anon(t, g).do("POST", "/api/setup", b), 403,
				"The /api/setup route can only be used to create the first user, however a user currently exists.")
		}},

		// ---- /auth/sso ----
		{jwtTest + " — sso-prereqs-test (JWT not configured or enabled)", all, "licensed", func(t *testing.T, g *guide) {
			m := expectJSON(t, anon(t, g).do("GET", "/auth/sso", nil), 400, "status", "error-sso-disabled")
			if m["message"] != "SSO has not been enabled and/or configured" || dig(m, "data.status-code") == nil {
				t.Errorf("body = %v", m)
			}
		}},
		{jwtTest + " — sso-prereqs-test (no valid premium-features token)", all, "nosso", func(t *testing.T, g *guide) {
			expectJSON(t, anon(t, g).do("GET", "/auth/sso", nil), 400, "status", "error-sso-disabled")
		}},
		{jwtTest + " — redirect-test", all, "guide", func(t *testing.T, g *guide) {
			r := anon(t, g).do("GET", "/auth/sso?redirect=%2F", nil)
			if r.status != 302 || !strings.HasPrefix(r.header.Get("Location"), "http://localhost:8080/sso/metabase") {
				t.Errorf("got %s Location %q, want 302 to the IdP", r, r.header.Get("Location"))
			}
			g.admin.must(204, "PUT", "/api/setting/jwt-identity-provider-uri",
				map[string]any{"value": "http://test.idp.metabase.com/login?some_param=yes"})
			r = anon(t, g).do("GET", "/auth/sso?redirect=%2F", nil)
			if !strings.Contains(r.header.Get("Location"), "&return_to=") {
				t.Errorf("IdP URI with a query: Location %q, want &return_to= (#13078)", r.header.Get("Location"))
			}
		}},
		{jwtTest + " — happy-path-test", all, "guide", func(t *testing.T, g *guide) {
			now := g.s.opts.Now().Unix()
			r := anon(t, g).do("GET", ssoURL(g, jwt.MapClaims{"email": "rasta@metabase.com", "first_name": "Rasta",
				"last_name": "Toucan", "extra": "keypairs", "are": "also present", "iss": "issuer",
				"exp": now + 3600, "iat": now}, "/"), nil)
			if r.status != 302 || r.header.Get("Location") != "/" || !strings.Contains(r.header.Get("Set-Cookie"), sessionCookie) {
				t.Fatalf("got %s Location %q, want a 302 to / with a session", r, r.header.Get("Location"))
			}
			u := g.userByEmail(t, "rasta@metabase.com")
			key := "jwt_attributes"
			if g.s.gen() < Gen57 {
				key = "login_attributes" // jwt_test.clj of the metabase.public-settings era reads :login_attributes
			}
			attrs, _ := u[key].(map[string]any)
			if len(attrs) != 2 || attrs["extra"] != "keypairs" || attrs["are"] != "also present" {
				t.Errorf("%s = %v, want {extra keypairs, are also present} (registered claims dropped)", key, u[key])
			}
		}},
		{jwtTest + " — no-open-redirect-test", all, "guide", func(t *testing.T, g *guide) {
			for _, uri := range []string{"https://badsite.com", "//badsite.com", "https:///badsite.com"} {
				expectJSON(t, anon(t, g).do("GET", ssoURL(g, jwt.MapClaims{"email": "rasta@metabase.com"}, uri), nil),
					400, "message", "Invalid redirect URL")
			}
		}},
		{jwtTest + " — expired-jwt-test", all, "guide", func(t *testing.T, g *guide) {
			iat := g.s.opts.Now().Add(-5 * time.Minute).Unix()
			expectText(t, anon(t, g).do("GET", ssoURL(g, jwt.MapClaims{"email": "test@metabase.com", "iat": iat}, "/"), nil),
				401, "Token is older than max-age (180)")
		}},
		{jwtTest + " — create-new-account-test", all, "guide", func(t *testing.T, g *guide) {
			g.signIn(t, "newuser@metabase.com", jwt.MapClaims{"first_name": "New", "last_name": "User",
				"more": "stuff", "for": "the new user"})
			u := g.userByEmail(t, "newuser@metabase.com")
			if u["first_name"] != "New" || u["is_superuser"] != false || u["common_name"] != "New User" || u["is_qbnewb"] != true {
				t.Errorf("new user = %v", u)
			}
			if _, ok := u["tenant_id"]; ok != (g.s.gen() >= Gen64) {
				t.Errorf("tenant_id present = %v on %s", ok, g.s.gen())
			}
		}},
		{jwtTest + " — update-account-test", all, "guide", func(t *testing.T, g *guide) {
			r := anon(t, g).do("GET", ssoURL(g, jwt.MapClaims{"email": "newuser@metabase.com"}, "/"), nil)
			if r.status != 302 {
				t.Fatalf("got %s", r)
			}
			u := g.userByEmail(t, "newuser@metabase.com")
			if u["first_name"] != nil || u["last_name"] != nil || u["common_name"] != "newuser@metabase.com" {
				t.Errorf("user without names = %v", u)
			}
			anon(t, g).do("GET", ssoURL(g, jwt.MapClaims{"email": "newuser@metabase.com", "first_name": "New", "last_name": "User"}, "/"), nil)
			if u = g.userByEmail(t, "newuser@metabase.com"); u["common_name"] != "New User" {
				t.Errorf("names not updated: %v", u)
			}
		}},
		{jwtTest + " — login-sync-group-memberships-test", all, "guide", func(t *testing.T, g *guide) {
			gid := num(t, g.admin.obj(200, "POST", "/api/permissions/group", map[string]any{"name": "my-group"})["id"])
			g.admin.must(204, "PUT", "/api/setting", map[string]any{"jwt-group-sync": true,
				"jwt-group-mappings": map[string]any{"my_group": []int{gid}}, "jwt-attribute-groups": "GrOuPs"})
			g.signIn(t, "newuser@metabase.com", jwt.MapClaims{"GrOuPs": []string{"my_group"}, "more": "stuff"})
			if got := g.groupNames(t, "newuser@metabase.com"); got != "All Users,my-group" {
				t.Errorf("groups = %s, want All Users,my-group", got)
			}
		}},
		{jwtTest + " — login-sync-group-memberships-no-mappings-test", from(Gen57), "guide", func(t *testing.T, g *guide) {
			for _, n := range []string{"developers", "analysts", "admins"} {
				g.admin.must(200, "POST", "/api/permissions/group", map[string]any{"name": n})
			}
			g.admin.must(204, "PUT", "/api/setting", map[string]any{"jwt-group-sync": true, "jwt-group-mappings": nil})
			g.signIn(t, "newuser@metabase.com", jwt.MapClaims{"groups": []string{"developers", "analysts"}})
			if got := g.groupNames(t, "newuser@metabase.com"); got != "All Users,analysts,developers" {
				t.Errorf("groups = %s, want All Users,analysts,developers", got)
			}
		}},
		{jwtTest + " — create-new-jwt-user-no-user-provisioning-test", all, "guide", func(t *testing.T, g *guide) {
			g.admin.must(204, "PUT", "/api/setting", map[string]any{"jwt-user-provisioning-enabled?": false, "site-name": "test"})
			expectText(t, anon(t, g).do("GET", ssoURL(g, jwt.MapClaims{"email": "test1234@metabase.com"}, "/"), nil), 401,
				"Sorry, but you'll need a test account to view this page. Please contact your administrator.")
		}},
		{jwtTest + " — non-string-jwt-claims-dropped-test", from(Gen57), "guide", func(t *testing.T, g *guide) {
			g.signIn(t, "rasta@metabase.com", jwt.MapClaims{"string_attr": "valid-string", "number_attr": 42,
				"boolean_attr": false, "array_attr": []string{"item1", "item2"}, "object_attr": map[string]any{"nested": "value"},
				"null_attr": nil, "@attribute": "foo"})
			got, _ := json.Marshal(g.userByEmail(t, "rasta@metabase.com")["jwt_attributes"])
			if string(got) != `{"boolean_attr":"false","number_attr":"42","string_attr":"valid-string"}` {
				t.Errorf("jwt_attributes = %s", got)
			}
		}},
		{jwtTest + " — login-as-existing-user-test (login attributes unchanged)", from(Gen57), "guide", func(t *testing.T, g *guide) {
			g.signIn(t, "existinguser@metabase.com", jwt.MapClaims{"department": "Engineering"})
			g.signIn(t, "existinguser@metabase.com", jwt.MapClaims{"department": "Marketing"})
			if u := g.userByEmail(t, "existinguser@metabase.com"); u["login_attributes"] != nil {
				t.Errorf("login_attributes = %v, want nil", u["login_attributes"])
			}
		}},
		{jwtTest + " — new-users-are-not-assigned-a-tenant-if-tenants-is-not-enabled", from(Gen64), "guide", func(t *testing.T, g *guide) {
			expectText(t, anon(t, g).do("GET", ssoURL(g, jwt.MapClaims{"email": "newuser@metabase.com", "@tenant": "tenant-mctenantson"}, "/"), nil),
				403, "Tenants and tenant users are disabled.")
			expectText(t, anon(t, g).do("GET", ssoURL(g, jwt.MapClaims{"email": "newuser@metabase.com", "@tenant": false}, "/"), nil),
				401, "Value of `@tenant` must be a string")
			if r := anon(t, g).do("GET", ssoURL(g, jwt.MapClaims{"email": "newuser@metabase.com"}, "/"), nil); r.status != 302 {
				t.Errorf("without the tenant claim: %s, want 302", r)
			}
		}},
		{"enterprise/src/metabase_enterprise/sso/integrations/jwt.clj — defmethod sso-post :jwt", all, "guide", func(t *testing.T, g *guide) {
			r := anon(t, g).do("POST", "/auth/sso", nil)
			if g.s.gen() < Gen55 {
				expectText(t, r, 400, "POST not valid for JWT SSO requests")
				return
			}
			expectJSON(t, r, 501, "status", "error-post-jwt-not-valid")
		}},

		// ---- users ----
		{"src/metabase/users_rest/api.clj — defendpoint GET /current and GET /:id", all, "guide", func(t *testing.T, g *guide) {
			me := g.admin.obj(200, "GET", "/api/user/current", nil)
			if _, ok := me["group_ids"].([]any); !ok || me["user_group_memberships"] != nil {
				t.Errorf("current user: group_ids %v, user_group_memberships %v", me["group_ids"], me["user_group_memberships"])
			}
			byID := g.admin.obj(200, "GET", fmt.Sprintf("/api/user/%d", num(t, me["id"])), nil)
			if _, ok := byID["user_group_memberships"].([]any); !ok {
				t.Errorf("GET /api/user/:id has no user_group_memberships: %v", byID)
			}
		}},

		// ---- /api/mt/gtap ----
		{gtapTest + " — require-auth-test", all, "guide", func(t *testing.T, g *guide) {
			expectText(t, anon(t, g).do("GET", "/api/mt/gtap", nil), 401, "Unauthenticated")
			rasta := g.signIn(t, "rasta@metabase.com", nil)
			expectText(t, rasta.do("GET", "/api/mt/gtap", nil), 403, "You don't have permissions to do that.")
		}},
		{gtapTest + " — create-gtap-test / delete-gtap-test", all, "guide", func(t *testing.T, g *guide) {
			gid := num(t, g.admin.obj(200, "POST", "/api/permissions/group", map[string]any{"name": "gtap group"})["id"])
			post := g.admin.obj(200, "POST", "/api/mt/gtap", map[string]any{"table_id": tableIDs()[0], "group_id": gid, "card_id": nil,
				"attribute_remappings": map[string]any{"foo": 1}})
			keys := []string{}
			for k := range post {
				keys = append(keys, k)
			}
			if len(post) != 5 || post["card_id"] != nil || dig(post, "attribute_remappings.foo") == nil {
				t.Errorf("POST answer = %v (keys %v), want exactly id, card_id nil, table_id, group_id, attribute_remappings {foo 1}", post, keys)
			}
			path := fmt.Sprintf("/api/mt/gtap/%d", num(t, post["id"]))
			if got := g.admin.obj(200, "GET", path, nil); fmt.Sprint(got) != fmt.Sprint(post) {
				t.Errorf("GET %s = %v, want the POST answer %v", path, got, post)
			}
			if r := g.admin.do("DELETE", path, nil); r.status != 204 {
				t.Errorf("DELETE: %s", r)
			}
			expectText(t, g.admin.do("GET", path, nil), 404, "Not found.")
		}},
		{gtapTest + " — update-gtap-test", all, "guide", func(t *testing.T, g *guide) {
			sbs := g.admin.must(200, "GET", "/api/mt/gtap", nil).([]any)
			path := fmt.Sprintf("/api/mt/gtap/%d", num(t, sbs[0].(map[string]any)["id"]))
			got := g.admin.obj(200, "PUT", path, map[string]any{"attribute_remappings": map[string]any{"bar": 2}})
			if dig(got, "attribute_remappings.bar") == nil || dig(got, "attribute_remappings.account_id") != nil {
				t.Errorf("PUT attribute_remappings = %v, want {bar 2} replacing the old map", got["attribute_remappings"])
			}
		}},
		{gtapTest + " — fetch-gtap-test (by group and table)", all, "guide", func(t *testing.T, g *guide) {
			got := g.admin.obj(200, "GET", fmt.Sprintf("/api/mt/gtap?group_id=%d&table_id=%d", g.group, g.invoices), nil)
			if num(t, got["group_id"]) != g.group || num(t, got["table_id"]) != g.invoices {
				t.Errorf("GTAP for group and table = %v", got)
			}
		}},
		{gtapTest + " — bulk-upsert-sandboxes-test (update by id)", all, "guide", func(t *testing.T, g *guide) {
			sb := g.admin.obj(200, "GET", fmt.Sprintf("/api/mt/gtap?group_id=%d&table_id=%d", g.group, g.invoices), nil)
			graph := g.admin.obj(200, "GET", "/api/permissions/graph", nil)
			res := g.admin.obj(200, "PUT", "/api/permissions/graph", map[string]any{"revision": graph["revision"], "groups": map[string]any{},
				"sandboxes": []any{map[string]any{"id": sb["id"], "card_id": nil, "attribute_remappings": map[string]any{"foo": 2}}}})
			list, _ := res["sandboxes"].([]any)
			if len(list) != 1 || num(t, list[0].(map[string]any)["table_id"]) != g.invoices {
				t.Errorf("sandboxes = %v, want the updated sandbox with its table", res["sandboxes"])
			}
		}},

		// ---- permissions graph ----
		{permsTest + " — update-perms-graph-error-test", all, "unlicensed", func(t *testing.T, g *guide) {
			graph := g.admin.obj(200, "GET", "/api/permissions/graph", nil)
			graph["sandboxes"] = []any{map[string]any{"card_id": 1}}
			expectJSON(t, g.admin.do("PUT", "/api/permissions/graph", graph), 402, "status", "error-premium-feature-not-available")
		}},
		{"src/metabase/permissions_rest/data_permissions/graph.clj — validate-blocked-permissions!", all, "unlicensed",
			func(t *testing.T, g *guide) {
				graph := g.admin.obj(200, "GET", "/api/permissions/graph", nil)
				r := g.admin.do("PUT", "/api/permissions/graph", map[string]any{"revision": graph["revision"],
					"groups": map[string]any{"1": map[string]any{"1": map[string]any{"view-data": "blocked"}}}})
				expectText(t, r, 402, "The blocked permissions functionality is only enabled if you have a premium token with the advanced-permissions feature.")
			}},
		{"src/metabase/permissions_rest/data_permissions/graph.clj — api-val->db-val {:sandboxed :unrestricted}", all, "guide",
			func(t *testing.T, g *guide) {
				// A second tenant group set "sandboxed" on Invoices without a sandbox row.
				gid := num(t, g.admin.obj(200, "POST", "/api/permissions/group", map[string]any{"name": "Customer Beta"})["id"])
				graph := g.admin.obj(200, "GET", "/api/permissions/graph", nil)
				g.admin.must(200, "PUT", "/api/permissions/graph", map[string]any{"revision": graph["revision"],
					"groups": map[string]any{fmt.Sprint(gid): map[string]any{"1": map[string]any{
						"view-data": map[string]any{g.schema: map[string]any{fmt.Sprint(g.invoices): "sandboxed"}}}}}})
				graph = g.admin.obj(200, "GET", "/api/permissions/graph", nil)
				v := dig(graph, fmt.Sprintf("groups.%d.1.view-data", gid))
				if m, ok := v.(map[string]any); ok {
					v = dig(m, g.schema+"."+fmt.Sprint(g.invoices))
				}
				if v != "unrestricted" {
					t.Errorf("view-data without a sandbox row = %v, want unrestricted (stored as such; no sandbox to show)", v)
				}
			}},
		{graphTest + " — ellide?-test (view-data blocked is left out)", all, "guide", func(t *testing.T, g *guide) {
			graph := g.admin.obj(200, "GET", "/api/permissions/graph", nil)
			if p := dig(graph, "groups.1.1"); p != nil {
				t.Errorf("All Users after the guide = %v, want no entry: blocked, no queries, no downloads are elided", p)
			}
			if v := dig(graph, "groups.2.1.view-data"); v != "unrestricted" {
				t.Errorf("Administrators view-data = %v, want unrestricted (add-admin-perms-to-permissions-graph)", v)
			}
		}},
		{"src/metabase/permissions/models/permissions_group.clj — set-default-permission-values! / data_permissions.clj new-group-permissions",
			all, "licensed", func(t *testing.T, g *guide) {
				gid := num(t, g.admin.obj(200, "POST", "/api/permissions/group", map[string]any{"name": "New"})["id"])
				p, _ := dig(g.admin.obj(200, "GET", "/api/permissions/graph", nil), fmt.Sprintf("groups.%d.1", gid)).(map[string]any)
				if p["view-data"] != "unrestricted" || p["create-queries"] != "query-builder-and-native" ||
					dig(p, "download.schemas") != "full" || p["data-model"] != nil || p["details"] != nil {
					t.Errorf("new group = %v, want All Users' unrestricted, native SQL and full downloads", p)
				}
				expectText(t, g.admin.do("POST", "/api/permissions/group", map[string]any{"name": "NEW"}), 400,
					"A group with that name already exists.")
			}},
		{"src/metabase/models/collection.clj — copy-parent-permissions! (root-level copies Root)", all, "licensed",
			func(t *testing.T, g *guide) {
				tables := g.admin.must(200, "GET", "/api/table", nil).([]any)
				inv := 0
				for _, tb := range tables {
					if m := tb.(map[string]any); strings.EqualFold(fmt.Sprint(m["name"]), "invoices") {
						inv = num(t, m["id"])
					}
				}
				xray := g.admin.obj(200, "GET", fmt.Sprintf("/api/automagic-dashboards/table/%d", inv), nil)
				g.admin.must(200, "POST", "/api/dashboard/save", xray)
				var container int
				for _, c := range g.admin.must(200, "GET", "/api/collection", nil).([]any) {
					if m := c.(map[string]any); m["name"] == "Automatically Generated Dashboards" && m["location"] == "/" {
						container = num(t, m["id"])
					}
				}
				graph := g.admin.obj(200, "GET", "/api/collection/graph", nil)
				root, got := dig(graph, "groups.1.root"), dig(graph, fmt.Sprintf("groups.1.%d", container))
				if container == 0 || got != root || root != "write" {
					t.Errorf("All Users: root %v, container %d %v; want the container to copy Root's write", root, container, got)
				}
			}},
		{"src/metabase/models/permissions.clj — assert-not-admin-group (collection graph)", all, "licensed",
			func(t *testing.T, g *guide) {
				cg := g.admin.obj(200, "GET", "/api/collection/graph", nil)
				r := g.admin.do("PUT", "/api/collection/graph", map[string]any{"revision": cg["revision"],
					"groups": map[string]any{"2": map[string]any{"root": "read"}}})
				expectText(t, r, 400, "You cannot create or revoke permissions for the 'Admin' group.")
				// Sending the admin group's values back unchanged writes nothing for it and is fine.
				g.admin.must(200, "PUT", "/api/collection/graph", map[string]any{"revision": cg["revision"],
					"groups": map[string]any{"2": map[string]any{"root": "write"}}})
			}},
		{"src/metabase/permissions/models/permissions_group.clj — magic groups (by name before magic_group_type)", all, "licensed",
			func(t *testing.T, g *guide) {
				groups := g.admin.must(200, "GET", "/api/permissions/group", nil).([]any)
				for _, raw := range groups {
					m := raw.(map[string]any)
					_, has := m["magic_group_type"]
					if has != (g.s.gen() >= Gen55) {
						t.Errorf("%v: magic_group_type present = %v on %s", m["name"], has, g.s.gen())
					}
					if m["name"] == "All Users" && has && m["magic_group_type"] != "all-internal-users" {
						t.Errorf("All Users magic_group_type = %v", m["magic_group_type"])
					}
				}
			}},
	}
	for _, gen := range Generations() {
		for _, tc := range tests {
			if !tc.gens(gen) {
				continue
			}
			_, deftest, _ := strings.Cut(tc.source, " — ")
			t.Run(gen.Tag()+"/"+deftest, func(t *testing.T) {
				tc.run(t, conformanceEnv(t, tc.env, gen))
			})
		}
	}
}

// conformanceEnv builds the instance a case starts from.
func conformanceEnv(t *testing.T, env string, gen Generation) *guide {
	opts := Options{Now: fixedClock, Version: gen.Tag()}
	switch env {
	case "guide":
		return setupGuide(t, opts)
	case "licensed", "nosso":
		opts.LicenseToken = TestLicenseToken
		if env == "nosso" {
			opts.Features = []string{"embedding", "sandboxes", "advanced_permissions"}
			opts.Env = map[string]string{"MB_JWT_ENABLED": "true", "MB_JWT_SHARED_SECRET": testJWTSecret,
				"MB_JWT_IDENTITY_PROVIDER_URI": "http://localhost:8080/sso/metabase"}
		}
	}
	s := NewServer(opts)
	t.Cleanup(s.Close)
	g := &guide{s: s}
	if env != "fresh" {
		g.admin = admin(t, s)
	}
	return g
}

func anon(t *testing.T, g *guide) *rawClient { return newRawClient(t, g.s.URL) }

// setupReq is setup_rest/api_test.clj's setup! body: a valid request each case breaks one way.
func setupReq(g *guide) map[string]any {
	return map[string]any{"token": g.s.SetupToken(), "prefs": map[string]any{"site_name": "Metabase Test"},
		"user": map[string]any{"first_name": "Rasta", "last_name": "Toucan", "email": "rasta@example.com", "password": "anythingUP12!"}}
}

func ssoURL(g *guide, c jwt.MapClaims, returnTo string) string {
	return "/auth/sso?jwt=" + url.QueryEscape(signJWTKey(c, testJWTSecret, jwt.SigningMethodHS256)) + "&return_to=" + url.QueryEscape(returnTo)
}

// userByEmail is the user as an admin reads it (GET /api/user/:id).
func (g *guide) userByEmail(t *testing.T, email string) map[string]any {
	t.Helper()
	g.s.mu.Lock()
	u := g.s.st.userByEmail(email)
	g.s.mu.Unlock()
	if u == nil {
		t.Fatalf("no user %s", email)
	}
	return g.admin.obj(200, "GET", fmt.Sprintf("/api/user/%d", u.ID), nil)
}

// groupNames lists the user's group names, sorted, comma-separated.
func (g *guide) groupNames(t *testing.T, email string) string {
	t.Helper()
	names := []string{}
	for _, m := range g.userByEmail(t, email)["user_group_memberships"].([]any) {
		id := num(t, m.(map[string]any)["id"])
		names = append(names, g.admin.obj(200, "GET", fmt.Sprintf("/api/permissions/group/%d", id), nil)["name"].(string))
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

func expectStatus(t *testing.T, r reply, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %s, want status %d", r, status)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %s", r.body)
	}
	return m
}

func expectJSON(t *testing.T, r reply, status int, path, want string) map[string]any {
	t.Helper()
	m := expectStatus(t, r, status)
	if got := dig(m, path); got != want {
		t.Errorf("%s = %v, want %q (body %s)", path, got, want, r.body)
	}
	return m
}

func expectList(t *testing.T, m map[string]any, path, want string) {
	t.Helper()
	l, _ := dig(m, path).([]any)
	if len(l) != 1 || l[0] != want {
		t.Errorf("%s = %v, want [%q]", path, dig(m, path), want)
	}
}

func expectText(t *testing.T, r reply, status int, want string) {
	t.Helper()
	if r.status != status || string(r.body) != want || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("got %s (%s), want %d plain text %q", r, r.header.Get("Content-Type"), status, want)
	}
}
