package metabasetest

import (
	"fmt"
	"net/http"
	"regexp"
	"testing"
)

// TestGraphRules checks contract §5 and §8's side rules through GET/PUT of the graph.
func TestGraphRules(t *testing.T) {
	type step struct {
		group string // "acme" = the tenant group, else a literal id
		perms map[string]any
	}
	tests := []struct {
		name  string
		steps []step
		check func(t *testing.T, g *guide, acme map[string]any)
	}{
		{name: "create-queries forces view-data unrestricted",
			steps: []step{{"acme", map[string]any{"view-data": "blocked"}}, {"acme", map[string]any{"create-queries": "query-builder"}}},
			check: func(t *testing.T, g *guide, acme map[string]any) {
				if acme["view-data"] != "unrestricted" || acme["create-queries"] != "query-builder" {
					t.Errorf("acme = %v, want unrestricted + query-builder", acme)
				}
			}},
		{name: "blocking forces create-queries and download off",
			steps: []step{{"acme", map[string]any{"create-queries": "query-builder", "download": map[string]any{"schemas": "full"}}},
				{"acme", map[string]any{"view-data": "blocked"}}},
			check: func(t *testing.T, g *guide, acme map[string]any) {
				// graph.clj ellide? + remove-empty-vals: every value is the least one, so the entry is gone.
				if len(acme) != 0 {
					t.Errorf("acme = %v, want no entry (least values elided)", acme)
				}
			}},
		{name: "leaving sandboxed deletes the sandbox",
			steps: []step{{"acme", map[string]any{"view-data": "unrestricted"}}},
			check: func(t *testing.T, g *guide, acme map[string]any) {
				if sbs := g.admin.must(http.StatusOK, "GET", "/api/mt/gtap", nil).([]any); len(sbs) != 0 {
					t.Errorf("sandboxes = %v after the table left sandboxed, want none", sbs)
				}
			}},
		{name: "legacy data key is ignored",
			steps: []step{{"acme", map[string]any{"data": map[string]any{"schemas": "all", "native": "write"}}}},
			check: func(t *testing.T, g *guide, acme map[string]any) {
				vd, _ := acme["view-data"].(map[string]any)
				if vd == nil || acme["create-queries"] == "query-builder-and-native" {
					t.Errorf("acme = %v, want the sandboxed graph unchanged", acme)
				}
			}},
		{name: "a group made after All Users is blocked starts blocked",
			check: func(t *testing.T, g *guide, _ map[string]any) {
				late := num(t, g.admin.obj(http.StatusOK, "POST", "/api/permissions/group", map[string]any{"name": "Late"})["id"])
				graph := g.admin.obj(http.StatusOK, "GET", "/api/permissions/graph", nil)
				// Blocked with create-queries no: all least values, so the group has no entry at all.
				if p := dig(graph, fmt.Sprintf("groups.%d", late)); p != nil {
					t.Errorf("late group = %v, want no entry (blocked, no queries)", p)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := setupGuide(t, Options{})
			for _, st := range tc.steps {
				gid := st.group
				if gid == "acme" {
					gid = fmt.Sprint(g.group)
				}
				g.admin.must(http.StatusOK, "PUT", "/api/permissions/graph?force=true&skip-graph=true",
					map[string]any{"groups": map[string]any{gid: map[string]any{"1": st.perms}}})
			}
			graph := g.admin.obj(http.StatusOK, "GET", "/api/permissions/graph", nil)
			acme, _ := dig(graph, fmt.Sprintf("groups.%d.1", g.group)).(map[string]any)
			tc.check(t, g, acme)
		})
	}
}

// TestSettingsReads checks what GET shows for env, default, sensitive and legacy settings (contract §1, §3, §4).
func TestSettingsReads(t *testing.T) {
	s := NewServer(Options{LicenseToken: TestLicenseToken, Env: map[string]string{"MB_SESSION_COOKIE_SAMESITE": "strict"}})
	defer s.Close()
	a := admin(t, s)
	a.must(http.StatusNoContent, "PUT", "/api/setting/enable-embedding", map[string]any{"value": true})
	a.must(http.StatusNoContent, "PUT", "/api/setting/embedding-app-origin", map[string]any{"value": "http://localhost:8080"})
	tests := []struct {
		path string
		want any
	}{
		{"/api/setting/premium-embedding-token", nil}, // env-set: no value
		{"/api/setting/session-cookie-samesite", nil}, // env-set
		{"/api/setting/jwt-group-sync", nil},          // default
		{"/api/setting/enable-embedding", true},       // legacy key stored
		{"/api/setting/enable-embedding-interactive", nil},
		{"/api/setting/site-name", "Embedwizard"},
	}
	for _, tc := range tests {
		if got := a.must(http.StatusOK, "GET", tc.path, nil); got != tc.want {
			t.Errorf("GET %s = %v, want %v", tc.path, got, tc.want)
		}
	}
	tf := a.obj(http.StatusOK, "GET", "/api/session/properties", nil)["token-features"].(map[string]any)
	if tf["sso_jwt"] != true {
		t.Errorf("env license: token-features.sso_jwt = %v", tf["sso_jwt"])
	}
	st := a.obj(http.StatusOK, "GET", "/api/premium-features/token/status", nil)
	if st["valid"] != true || !contains(st["features"].([]any), "sso-jwt") {
		t.Errorf("token status = %v, want valid with kebab-case sso-jwt", st)
	}
	tok := a.obj(http.StatusOK, "GET", "/api/util/random_token", nil)["token"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(tok) {
		t.Errorf("random_token = %q, want 64 lower-case hex", tok)
	}

	bare := NewServer(Options{})
	defer bare.Close()
	if r := admin(t, bare).do("GET", "/api/premium-features/token/status", nil); r.status != http.StatusNotFound {
		t.Errorf("token status without a token: %s, want 404", r)
	}
}

func contains(list []any, v any) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
