package metabasetest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestAppRoutesAnswerWithTheAppPage: the frontend's own routes load the app, as Metabase serves index.html for
// every non-API path; signed out they go to the login page first.
func TestAppRoutesAnswerWithTheAppPage(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	a := admin(t, s)
	anon := newRawClient(t, s.URL)
	for _, path := range []string{"/question/notebook", "/question/5-orders", "/collection/root", "/collection/2-examples",
		"/browse/databases", "/dashboard", "/model/1"} {
		t.Run(path, func(t *testing.T) {
			r := a.do("GET", path, nil)
			if r.status != http.StatusOK || !strings.Contains(string(r.body), `data-testid="app"`) {
				t.Errorf("signed in: got %d %.200s, want 200 with the app page", r.status, r.body)
			}
			r = anon.do("GET", path, nil)
			if loc := r.header.Get("Location"); r.status != http.StatusFound || !strings.HasPrefix(loc, "/auth/login?redirect=") {
				t.Errorf("signed out: got %d Location %q, want 302 to /auth/login", r.status, loc)
			}
		})
	}
	// The dashboard page proper is still the dashboard, not the shell.
	r := a.do("GET", fmt.Sprintf("/dashboard/%d", exampleDashboardID), nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `data-testid="dashboard"`) {
		t.Errorf("/dashboard/%d: got %d, want the dashboard page", exampleDashboardID, r.status)
	}
}

// TestExampleContent: a fresh instance has the Example Dashboard (id 1) in the Examples collection (id 2),
// which All Users may curate; MB_LOAD_SAMPLE_CONTENT=false leaves it out.
func TestExampleContent(t *testing.T) {
	for _, gen := range Generations() {
		t.Run(gen.String(), func(t *testing.T) {
			s := NewServer(Options{Version: gen.Tag()})
			defer s.Close()
			a := admin(t, s)
			d := a.obj(http.StatusOK, "GET", fmt.Sprintf("/api/dashboard/%d", exampleDashboardID), nil)
			if d["name"] != exampleDashboardName || num(t, d["collection_id"]) != exampleCollectionID {
				t.Errorf("dashboard 1 = %v in collection %v, want %q in %d", d["name"], d["collection_id"], exampleDashboardName, exampleCollectionID)
			}
			c := a.obj(http.StatusOK, "GET", fmt.Sprintf("/api/collection/%d", exampleCollectionID), nil)
			if c["name"] != "Examples" || c["location"] != "/" {
				t.Errorf("collection 2 = %v at %v, want Examples at /", c["name"], c["location"])
			}
			g := a.obj(http.StatusOK, "GET", "/api/collection/graph", nil)["groups"].(map[string]any)
			if v := g[fmt.Sprint(allUsersID)].(map[string]any)[fmt.Sprint(exampleCollectionID)]; v != "write" {
				t.Errorf("All Users on Examples = %v, want write (curate)", v)
			}
		})
	}
	s := NewServer(Options{Env: map[string]string{"MB_LOAD_SAMPLE_CONTENT": "false"}})
	defer s.Close()
	a := admin(t, s)
	if r := a.do("GET", fmt.Sprintf("/api/dashboard/%d", exampleDashboardID), nil); r.status != http.StatusNotFound {
		t.Errorf("MB_LOAD_SAMPLE_CONTENT=false: dashboard 1 answers %d, want 404", r.status)
	}
	for _, c := range a.must(http.StatusOK, "GET", "/api/collection", nil).([]any) {
		if c.(map[string]any)["name"] == "Examples" {
			t.Error("MB_LOAD_SAMPLE_CONTENT=false: the Examples collection exists")
		}
	}
}

// TestDashboardPageShowsEachCard: the dashboard page draws every card; a tenant whose ACCOUNTS are blocked sees
// the permission message on the cards that join it, and rows on the others.
func TestDashboardPageShowsEachCard(t *testing.T) {
	for _, accounts := range []string{"blocked", "sandboxed"} {
		t.Run(accounts, func(t *testing.T) {
			g := tenantGuide(t, Options{}, accounts)
			body := string(tenant(t, g).do("GET", fmt.Sprintf("/dashboard/%d", g.dashboard), nil).body)
			cards := g.s.DashboardCards(g.dashboard)
			if n := strings.Count(body, `data-testid="dashcard"`); n != len(cards) {
				t.Errorf("page draws %d cards, want %d", n, len(cards))
			}
			denied := strings.Count(body, "Sorry, you don&#39;t have permission to see this card.")
			want := 0
			if accounts == "blocked" {
				for _, ref := range cards {
					if touches(ref, "ACCOUNTS") {
						want++
					}
				}
			}
			if denied != want {
				t.Errorf("%d cards show the permission message, want %d", denied, want)
			}
		})
	}
}

// TestLogoutPageEndsTheSession: GET /auth/logout (the host app's single logout) ends the iframe's session.
func TestLogoutPageEndsTheSession(t *testing.T) {
	g := tenantGuide(t, Options{}, "sandboxed")
	rene := tenant(t, g)
	rene.must(http.StatusOK, "GET", "/api/user/current", nil)
	r := rene.do("GET", "/auth/logout", nil)
	if r.status != http.StatusFound || r.header.Get("Location") != "/auth/login" {
		t.Fatalf("GET /auth/logout: got %d Location %q, want 302 to /auth/login", r.status, r.header.Get("Location"))
	}
	if !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), ";"), sessionCookie+"=;") {
		t.Errorf("the session cookie is not cleared: %v", r.header.Values("Set-Cookie"))
	}
	if r := rene.do("GET", "/api/user/current", nil); r.status != http.StatusUnauthorized {
		t.Errorf("after logout the old session still answers %d", r.status)
	}
	if r := newRawClient(t, g.s.URL).do("GET", "/auth/logout", nil); r.status != http.StatusFound {
		t.Errorf("signed-out GET /auth/logout: %d, want 302", r.status)
	}
}
