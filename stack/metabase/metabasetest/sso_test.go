package metabasetest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestSSORedirectsAndCookies covers the successful /auth/sso answers: where the browser goes and which
// cookie it gets (contract §0, §11, §15).
func TestSSORedirectsAndCookies(t *testing.T) {
	g := setupGuide(t, Options{Now: fixedClock})
	tok := signJWTKey(claims(nil), testJWTSecret, jwt.SigningMethodHS256)
	tests := []struct {
		name     string
		samesite string
		path     string
		header   map[string]string
		location string
		cookie   string // attributes the session cookie must carry; "" = no cookie
		noCookie string // attribute it must not carry
	}{
		// integrations/jwt.clj redirect-to-idp: the decoded redirect parameter is concatenated, not re-encoded,
		// so UI options inside it reach the IdP as parameters of their own.
		{name: "no token goes to the IdP with the redirect", path: "/auth/sso?redirect=%2Fdashboard%2F1%3Flogo%3Dfalse%26top_nav%3Dfalse",
			location: "http://localhost:8080/sso/metabase?return_to=/dashboard/1?logo=false&top_nav=false"},
		{name: "no token and no redirect goes to the bare IdP URI", path: "/auth/sso?return_to=%2Fdashboard%2F1",
			location: "http://localhost:8080/sso/metabase"},
		{name: "relative return_to with UI params", path: ssoPath(tok, "/dashboard/1?logo=false&top_nav=false"),
			location: "/dashboard/1?logo=false&top_nav=false", cookie: "HttpOnly; SameSite=Lax", noCookie: "Secure"},
		{name: "absolute return_to on site-url's host", path: ssoPath(tok, g.s.URL+"/dashboard/1"),
			location: g.s.URL + "/dashboard/1", cookie: "SameSite=Lax"},
		{name: "default return_to", path: "/auth/sso?jwt=" + url.QueryEscape(tok), location: "/", cookie: "Path=/"},
		{name: "SameSite none over plain HTTP has no Secure", samesite: "None", path: ssoPath(tok, "/"),
			location: "/", cookie: "SameSite=None", noCookie: "Secure"},
		{name: "SameSite strict behind an HTTPS proxy is Secure", samesite: "STRICT", path: ssoPath(tok, "/"),
			header: map[string]string{"X-Forwarded-Proto": "https"}, location: "/", cookie: "Secure; SameSite=Strict"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.samesite != "" {
				g.admin.must(http.StatusNoContent, "PUT", "/api/setting/session-cookie-samesite", map[string]any{"value": tc.samesite})
				defer g.admin.must(http.StatusNoContent, "PUT", "/api/setting/session-cookie-samesite", map[string]any{"value": nil})
			}
			req, _ := http.NewRequest("GET", g.s.URL+tc.path, nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != tc.location {
				t.Fatalf("got %d Location=%q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), tc.location)
			}
			var session string
			for _, sc := range resp.Header.Values("Set-Cookie") {
				if strings.HasPrefix(sc, sessionCookie+"=") {
					session = sc
				}
			}
			if tc.cookie == "" {
				if session != "" {
					t.Errorf("unexpected session cookie %q", session)
				}
				return
			}
			if !strings.Contains(session, tc.cookie) || tc.noCookie != "" && strings.Contains(session, tc.noCookie) {
				t.Errorf("session cookie %q, want %q and not %q", session, tc.cookie, tc.noCookie)
			}
		})
	}
}

// TestGroupSync checks group sync across logins, per generation (sso.go syncGroups cites the sources):
// with mappings, mapped groups follow the claim and unmapped memberships stay; an absent groups claim
// changes nothing (providers/jwt.clj login! :after, when-let on the claim).
func TestGroupSync(t *testing.T) {
	for _, gen := range Generations() {
		t.Run(gen.Tag(), func(t *testing.T) {
			g := setupGuide(t, Options{Now: fixedClock, Version: gen.Tag()})
			a := g.admin
			other := num(t, a.obj(http.StatusOK, "POST", "/api/permissions/group", map[string]any{"name": "Customer Beta"})["id"])
			manual := num(t, a.obj(http.StatusOK, "POST", "/api/permissions/group", map[string]any{"name": "Analysts"})["id"])
			a.must(http.StatusNoContent, "PUT", "/api/setting/jwt-group-mappings", map[string]any{"value": map[string]any{
				"Customer-Acme": []int{g.group}, "Customer-Beta": []int{other}}})
			steps := []struct {
				claims jwt.MapClaims
				want   map[int]bool
			}{
				{jwt.MapClaims{"groups": []string{"Customer-Acme"}}, map[int]bool{1: true, g.group: true}},
				{jwt.MapClaims{"groups": []string{"Customer-Beta", "Unknown"}}, map[int]bool{1: true, other: true}},
				{nil, map[int]bool{1: true, other: true}}, // no claim: untouched
				{jwt.MapClaims{"groups": []string{}}, map[int]bool{1: true}},
			}
			for i, st := range steps {
				g.signIn(t, "sync@example.com", st.claims)
				if i == 0 {
					// An admin adds the user to an unmapped group by hand; sync must leave it alone.
					g.s.mu.Lock()
					u := g.s.st.userByEmail("sync@example.com")
					u.Groups = append(u.Groups, manual)
					g.s.mu.Unlock()
				}
				st.want[manual] = true
				assertGroups(t, g, "sync@example.com", st.want, i)
			}
		})
	}
}

// TestGroupSyncByName: without jwt-group-mappings, Gen57+ match claim names to group names and replace the
// user's groups (jwt_test.clj deftest login-sync-group-memberships-no-mappings-test and
// tenant-user-group-sync-on-subsequent-login-test); Gen55 only adds (UNVERIFIED); Gen52 ignores names.
func TestGroupSyncByName(t *testing.T) {
	for _, gen := range Generations() {
		t.Run(gen.Tag(), func(t *testing.T) {
			g := setupGuide(t, Options{Now: fixedClock, Version: gen.Tag()})
			a := g.admin
			dev := num(t, a.obj(http.StatusOK, "POST", "/api/permissions/group", map[string]any{"name": "developers"})["id"])
			ana := num(t, a.obj(http.StatusOK, "POST", "/api/permissions/group", map[string]any{"name": "analysts"})["id"])
			a.must(http.StatusNoContent, "PUT", "/api/setting/jwt-group-mappings", map[string]any{"value": nil})
			g.signIn(t, "names@example.com", jwt.MapClaims{"groups": []string{"developers"}})
			g.signIn(t, "names@example.com", jwt.MapClaims{"groups": []string{"analysts"}})
			want := map[int]bool{1: true}
			switch {
			case gen >= Gen57:
				want[ana] = true
			case gen == Gen55:
				want[ana], want[dev] = true, true
			}
			assertGroups(t, g, "names@example.com", want, 1)
		})
	}
}

// assertGroups reads the user's memberships as an admin does (GET /api/user/:id user_group_memberships).
func assertGroups(t *testing.T, g *guide, email string, want map[int]bool, step int) {
	t.Helper()
	g.s.mu.Lock()
	id := g.s.st.userByEmail(email).ID
	g.s.mu.Unlock()
	got := map[int]bool{}
	for _, m := range g.admin.obj(http.StatusOK, "GET", "/api/user/"+strconv.Itoa(id), nil)["user_group_memberships"].([]any) {
		got[num(t, m.(map[string]any)["id"])] = true
	}
	for id := range want {
		if !got[id] {
			t.Errorf("step %d: not in group %d: %v", step, id, got)
		}
	}
	for id := range got {
		if !want[id] {
			t.Errorf("step %d: still in group %d: %v", step, id, got)
		}
	}
}

// TestSandboxEveryGeneration: the JWT attribute reaches the sandbox on every generation, wherever the
// generation stores it (login_attributes before Gen57, jwt_attributes from Gen57).
func TestSandboxEveryGeneration(t *testing.T) {
	for _, gen := range Generations() {
		t.Run(gen.Tag(), func(t *testing.T) {
			g := setupGuide(t, Options{Now: fixedClock, Version: gen.Tag()})
			c := g.signIn(t, "tenant@example.com", jwt.MapClaims{"account_id": 28, "groups": []string{"Customer-Acme"}})
			res := c.obj(http.StatusAccepted, "POST", "/api/dataset", map[string]any{"database": 1, "type": "query",
				"query": map[string]any{"source-table": g.invoices, "limit": 2000}})
			rows, _ := res["data"].(map[string]any)["rows"].([]any)
			if len(rows) == 0 || len(rows) != accountRows(28) {
				t.Fatalf("sandboxed rows = %d, want %d", len(rows), accountRows(28))
			}
			me := g.userByEmail(t, "tenant@example.com")
			store := "jwt_attributes"
			if gen < Gen57 {
				store = "login_attributes"
			}
			if attrs, _ := me[store].(map[string]any); attrs["account_id"] == nil {
				t.Errorf("%s = %v, want account_id there", store, me[store])
			}
		})
	}
}

// TestSafeRedirect is sso_utils.clj check-sso-redirect (java.net.URI, no decoding) and the stricter opt-in.
func TestSafeRedirect(t *testing.T) {
	s := NewUnstartedServer(Options{SiteURL: "http://localhost:3000"})
	defer s.Close()
	strict := NewUnstartedServer(Options{SiteURL: "http://localhost:3000", Strict: true})
	defer strict.Close()
	tests := []struct {
		target       string
		ok, strictOK bool
	}{
		{"/", true, true},
		{"/dashboard/1?logo=false&top_nav=false", true, true},
		{"dashboard/1", true, false}, // relative without a slash: a java.net.URI path
		{"%2F%2Fevil.example", true, false},
		{"http://localhost:3000/dashboard/1", true, true},
		{"https://localhost/x", true, true}, // same host, other scheme and port: Metabase compares hosts only
		{"https://badsite.com", false, false},
		{"//badsite.com", false, false},
		{"https:///badsite.com", false, false},
		{`/\evil.example`, false, false},
		{"https:evil.example", false, false},
		{"/a b", false, false},
		{"/bad%zzescape", false, false},
	}
	for _, tc := range tests {
		if got := s.safeRedirect(tc.target); got != tc.ok {
			t.Errorf("safeRedirect(%q) = %v, want %v", tc.target, got, tc.ok)
		}
		if got := strict.safeRedirect(tc.target); got != tc.strictOK {
			t.Errorf("strict safeRedirect(%q) = %v, want %v", tc.target, got, tc.strictOK)
		}
	}
}

// TestGroupSyncKeepsTheLastAdmin: name-matching sync (Gen57+, no mappings) manages Administrators too, but
// never removes the last admin (sso/common.clj sync-group-memberships*! catches that refusal).
func TestGroupSyncKeepsTheLastAdmin(t *testing.T) {
	g := setupGuide(t, Options{Now: fixedClock})
	g.admin.must(http.StatusNoContent, "PUT", "/api/setting/jwt-group-mappings", map[string]any{"value": nil})
	g.signIn(t, "admin@example.com", jwt.MapClaims{"groups": []string{"Customer Acme"}})
	assertGroups(t, g, "admin@example.com", map[int]bool{1: true, 2: true, g.group: true}, 0)

	// With a second admin, the sync removes Administrators from the one whose claim lacks it.
	g.s.mu.Lock()
	other := g.s.addUser("second@example.com", nil, nil, true)
	g.s.mu.Unlock()
	g.signIn(t, other.Email, jwt.MapClaims{"groups": []string{"Customer Acme"}})
	assertGroups(t, g, other.Email, map[int]bool{1: true, g.group: true}, 1)
}
