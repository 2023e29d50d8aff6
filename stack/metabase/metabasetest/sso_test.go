package metabasetest

import (
	"net/http"
	"net/url"
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
		{name: "no token goes to the IdP with the redirect", path: "/auth/sso?redirect=%2Fdashboard%2F1",
			location: "http://localhost:8080/sso/metabase?return_to=%2Fdashboard%2F1"},
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

// TestGroupSync checks contract §11 group sync across logins: mapped groups follow the claim, unmapped
// memberships stay.
func TestGroupSync(t *testing.T) {
	g := setupGuide(t, Options{Now: fixedClock})
	a := g.admin
	other := num(t, a.obj(http.StatusOK, "POST", "/api/permissions/group", map[string]any{"name": "Customer Beta"})["id"])
	manual := num(t, a.obj(http.StatusOK, "POST", "/api/permissions/group", map[string]any{"name": "Analysts"})["id"])
	a.must(http.StatusNoContent, "PUT", "/api/setting/jwt-group-mappings", map[string]any{"value": map[string]any{
		"Customer-Acme": []int{g.group}, "Customer-Beta": []int{other}}})

	groupsOf := func(c *rawClient) map[int]bool {
		out := map[int]bool{}
		for _, m := range c.obj(http.StatusOK, "GET", "/api/user/current", nil)["user_group_memberships"].([]any) {
			out[num(t, m.(map[string]any)["id"])] = true
		}
		return out
	}
	steps := []struct {
		groups []string
		want   map[int]bool
	}{
		{[]string{"Customer-Acme"}, map[int]bool{1: true, g.group: true}},
		{[]string{"Customer-Beta", "Unknown"}, map[int]bool{1: true, other: true}},
		{nil, map[int]bool{1: true}},
	}
	for i, st := range steps {
		c := g.signIn(t, "sync@example.com", jwt.MapClaims{"groups": st.groups})
		if i == 0 {
			// An admin adds the user to an unmapped group by hand; sync must leave it alone.
			g.s.mu.Lock()
			u := g.s.st.userByEmail("sync@example.com")
			u.Groups = append(u.Groups, manual)
			g.s.mu.Unlock()
		}
		st.want[manual] = true
		got := groupsOf(c)
		for id := range st.want {
			if !got[id] {
				t.Errorf("step %d: not in group %d: %v", i, id, got)
			}
		}
		for id := range got {
			if !st.want[id] {
				t.Errorf("step %d: still in group %d: %v", i, id, got)
			}
		}
	}
}
