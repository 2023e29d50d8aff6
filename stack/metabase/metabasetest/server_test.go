package metabasetest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestPersistence configures the quick start with a DBFile, closes the server, and checks that a new server
// on the same file has everything back, as a container with a volume would.
func TestPersistence(t *testing.T) {
	db := filepath.Join(t.TempDir(), "metabase.db")
	g := setupGuide(t, Options{DBFile: db})
	tenant := g.signIn(t, "tenant@example.com", jwt.MapClaims{"account_id": 28, "groups": []string{"Customer-Acme"}})
	g.s.Close()

	fi, err := os.Stat(db + ".mv.db")
	if err != nil {
		t.Fatalf("no app database file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("app database mode = %v, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(db + ".mv.db")
	if strings.Contains(string(raw), g.admin.session) || strings.Contains(string(raw), testPassword) {
		t.Errorf("app database holds a session key or password in clear")
	}

	s := NewServer(Options{DBFile: db})
	defer s.Close()
	a := newRawClient(t, s.URL)
	login := a.obj(http.StatusOK, "POST", "/api/session", map[string]any{"username": "admin@example.com", "password": testPassword})
	a.session = login["id"].(string)
	if v := a.must(http.StatusOK, "GET", "/api/setting/jwt-enabled", nil); v != true {
		t.Errorf("jwt-enabled after reopen = %v", v)
	}
	if sbs := a.must(http.StatusOK, "GET", "/api/mt/gtap", nil).([]any); len(sbs) != 1 {
		t.Errorf("sandboxes after reopen = %v", sbs)
	}
	d := a.obj(http.StatusOK, "GET", fmt.Sprintf("/api/dashboard/%d", g.dashboard), nil)
	if d["name"] != "A look at Invoices" {
		t.Errorf("dashboard after reopen = %v", d["name"])
	}
	// An existing session survives a restart, like Metabase's sessions table.
	tenant.base = s.URL
	res := tenant.obj(http.StatusAccepted, "POST", "/api/dataset", map[string]any{"database": 1, "type": "query",
		"query": map[string]any{"source-table": g.invoices}})
	if n := num(t, res["row_count"]); n != accountRows(28) {
		t.Errorf("tenant after reopen sees %d rows, want %d", n, accountRows(28))
	}
	if r := newRawClient(t, s.URL).do("POST", "/api/setup", map[string]any{}); r.status != http.StatusForbidden {
		t.Errorf("setup after reopen: %s, want 403", r)
	}
}

// TestConcurrentClients runs sessions, settings, graph PUTs and SSO sign-ins from many goroutines; run with
// -race. Every graph PUT either lands (200) or loses the revision race (409), and the final revision counts
// the ones that landed.
func TestConcurrentClients(t *testing.T) {
	g := setupGuide(t, Options{})
	start := num(t, g.admin.obj(http.StatusOK, "GET", "/api/permissions/graph", nil)["revision"])
	const workers, rounds = 12, 15
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		landed int
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newRawClient(t, g.s.URL)
			login := c.do("POST", "/api/session", map[string]any{"username": "admin@example.com", "password": testPassword})
			if login.status != http.StatusOK {
				t.Errorf("login: %s", login)
				return
			}
			c.session = login.json(t)["id"].(string)
			for i := range rounds {
				if r := c.do("PUT", "/api/setting/site-name", map[string]any{"value": fmt.Sprintf("w%d-%d", w, i)}); r.status != http.StatusNoContent {
					t.Errorf("put setting: %s", r)
				}
				graph := c.do("GET", "/api/permissions/graph", nil)
				rev := graph.json(t)["revision"]
				r := c.do("PUT", "/api/permissions/graph?skip-graph=true", map[string]any{"revision": rev,
					"groups": map[string]any{"3": map[string]any{"1": map[string]any{"download": map[string]any{"schemas": "full"}}}}})
				switch r.status {
				case http.StatusOK:
					mu.Lock()
					landed++
					mu.Unlock()
				case http.StatusConflict:
				default:
					t.Errorf("graph put: %s", r)
				}
				tok := signJWT(t, jwt.MapClaims{"email": fmt.Sprintf("user%d@example.com", w), "account_id": w})
				if r := c.do("GET", ssoPath(tok, "/"), nil); r.status != http.StatusFound {
					t.Errorf("sso: %s", r)
				}
				if r := c.do("GET", "/api/session/properties", nil); r.status != http.StatusOK {
					t.Errorf("properties: %s", r)
				}
			}
		}()
	}
	wg.Wait()
	end := num(t, g.admin.obj(http.StatusOK, "GET", "/api/permissions/graph", nil)["revision"])
	if end-start != landed || landed == 0 {
		t.Errorf("revision moved %d for %d successful PUTs", end-start, landed)
	}
	users := g.admin.obj(http.StatusOK, "GET", "/api/user", nil)
	if n := num(t, users["total"]); n != workers+1 {
		t.Errorf("%d users after concurrent sign-ins, want %d (one per email plus the admin)", n, workers+1)
	}
}

// TestFaultsAndRequestLog checks the test hooks other packages rely on.
func TestFaultsAndRequestLog(t *testing.T) {
	g := setupGuide(t, Options{})
	a := g.admin
	g.s.ResetRequests()
	g.s.InjectFault(Fault{Method: "POST", Path: "/api/permissions/*", Status: 500, Body: `{"message":"boom"}`, Times: 1})
	g.s.InjectFault(Fault{Path: "/api/health", Status: 503, Body: "down"})

	tests := []struct {
		method, path string
		want         int
		body         string
	}{
		{"POST", "/api/permissions/group", 500, `{"message":"boom"}`},
		{"POST", "/api/permissions/group", 200, ""}, // Times: 1 is used up
		{"GET", "/api/health", 503, "down"},
		{"GET", "/api/health", 503, "down"}, // Times: 0 is forever
	}
	for i, tc := range tests {
		r := a.do(tc.method, tc.path, map[string]any{"name": fmt.Sprintf("G%d", i)})
		if r.status != tc.want || tc.body != "" && string(r.body) != tc.body {
			t.Errorf("%d: %s %s = %s, want %d %s", i, tc.method, tc.path, r, tc.want, tc.body)
		}
	}
	g.s.ClearFaults()
	if r := a.do("GET", "/api/health", nil); r.status != http.StatusOK {
		t.Errorf("after ClearFaults: %s", r)
	}
	reqs := g.s.Requests()
	if len(reqs) != 5 || reqs[0] != (Request{Method: "POST", Path: "/api/permissions/group", Status: 500, Auth: "session"}) {
		t.Errorf("requests = %+v", reqs)
	}

	// An admin API key authenticates and is logged as such.
	key := a.obj(http.StatusOK, "POST", "/api/api-key", map[string]any{"name": "embedwizard", "group_id": 2})["unmasked_key"].(string)
	k := newRawClient(t, g.s.URL)
	k.apiKey = key
	g.s.ResetRequests()
	k.must(http.StatusOK, "GET", "/api/permissions/graph", nil)
	if reqs := g.s.Requests(); len(reqs) != 1 || reqs[0].Auth != "api-key" {
		t.Errorf("api-key request logged as %+v", reqs)
	}
	if r := a.do("POST", "/api/api-key", map[string]any{"name": "embedwizard", "group_id": 2}); r.status != 400 ||
		dig(r.json(t), "errors.name") != "An API key with this name already exists." {
		t.Errorf("duplicate api key: %s", r)
	}
}

// TestFrameAncestors checks the CSP and X-Frame-Options every response carries (contract §16, security.clj).
func TestFrameAncestors(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
		csp, xfo string
	}{
		{"embedding off", map[string]any{"embedding-app-origins-interactive": "http://localhost:8080"}, "frame-ancestors 'none';", "DENY"},
		{"legacy settings only", map[string]any{"enable-embedding": true, "embedding-app-origin": "http://localhost:8080"}, "frame-ancestors 'none';", "DENY"},
		{"no origins", map[string]any{"enable-embedding-interactive": true}, "frame-ancestors 'none';", "DENY"},
		{"two origins", map[string]any{"enable-embedding-interactive": true, "embedding-app-origins-interactive": "http://localhost:8080 https://app.example.com"},
			"frame-ancestors http://localhost:8080 https://app.example.com;", "ALLOW-FROM http://localhost:8080"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(Options{LicenseToken: TestLicenseToken})
			defer s.Close()
			a := admin(t, s)
			a.must(http.StatusNoContent, "PUT", "/api/setting", tc.settings)
			for _, path := range []string{"/api/health", "/auth/login"} {
				r := a.do("GET", path, nil)
				if csp := r.header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, tc.csp) {
					t.Errorf("%s CSP = %q, want it to end with %q", path, csp, tc.csp)
				}
				if xfo := r.header.Get("X-Frame-Options"); xfo != tc.xfo {
					t.Errorf("%s X-Frame-Options = %q, want %q", path, xfo, tc.xfo)
				}
			}
		})
	}
}

// The host app's readiness check reads the public session properties: like Metabase, they say whether SSO
// is on through other-sso-enabled? and keep the admin-only jwt-enabled to admins.
func TestPublicPropertiesShowSSOButNotJWTSettings(t *testing.T) {
	g := setupGuide(t, Options{})
	anon := newRawClient(t, g.s.URL).obj(http.StatusOK, "GET", "/api/session/properties", nil)
	if anon["other-sso-enabled?"] != true {
		t.Errorf("other-sso-enabled? = %v with JWT configured, want true", anon["other-sso-enabled?"])
	}
	for _, k := range []string{"jwt-enabled", "jwt-shared-secret", "jwt-identity-provider-uri"} {
		if _, ok := anon[k]; ok {
			t.Errorf("anonymous session properties carry the admin-only %s", k)
		}
	}
	if mine := g.admin.obj(http.StatusOK, "GET", "/api/session/properties", nil); mine["jwt-enabled"] != true {
		t.Errorf("admin session properties: jwt-enabled = %v, want true", mine["jwt-enabled"])
	}
	blank := NewServer(Options{})
	defer blank.Close()
	fresh := newRawClient(t, blank.URL).obj(http.StatusOK, "GET", "/api/session/properties", nil)
	if fresh["other-sso-enabled?"] != false {
		t.Errorf("fresh instance other-sso-enabled? = %v, want false", fresh["other-sso-enabled?"])
	}
}

// Right after boot a fresh Metabase lists the Sample Database still syncing, without tables (contract §6).
func TestSampleDatabaseSyncsAfterBoot(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := NewServer(Options{SyncDuration: time.Minute, Now: clock})
	defer s.Close()
	a := admin(t, s)

	meta := a.obj(http.StatusOK, "GET", "/api/database/1/metadata", nil)
	if meta["initial_sync_status"] != "incomplete" || len(meta["tables"].([]any)) != 0 {
		t.Fatalf("while syncing: status %v with %d tables, want incomplete with none", meta["initial_sync_status"], len(meta["tables"].([]any)))
	}
	if tables := a.must(http.StatusOK, "GET", "/api/table", nil).([]any); len(tables) != 0 {
		t.Fatalf("GET /api/table lists %d tables while syncing", len(tables))
	}
	invoices := fmt.Sprintf("/api/table/%d/query_metadata", 8 /* INVOICES, see sampleColumns */)
	a.must(http.StatusNotFound, "GET", invoices, nil)

	advance(time.Minute)
	meta = a.obj(http.StatusOK, "GET", "/api/database/1/metadata", nil)
	if meta["initial_sync_status"] != "complete" || len(meta["tables"].([]any)) < 3 {
		t.Fatalf("after the sync: status %v with %d tables", meta["initial_sync_status"], len(meta["tables"].([]any)))
	}
	a.must(http.StatusOK, "GET", invoices, nil)
}

// TestMFAOption: with Options.MFA a password login on a generation with MFA yields a challenge and no session;
// an API key still works; generations before MFA ignore the option.
func TestMFAOption(t *testing.T) {
	tests := []struct {
		version   string
		challenge bool
	}{
		{"v1.57.6", false},
		{"v1.60.3", true},
		{"v1.64.1", true},
	}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			s := NewServer(Options{Version: tc.version, MFA: true})
			defer s.Close()
			a := admin(t, s) // setup itself hands out a session
			key := a.obj(http.StatusOK, "POST", "/api/api-key", map[string]any{"name": "wizard", "group_id": 2})["unmasked_key"].(string)
			login := newRawClient(t, s.URL).obj(http.StatusOK, "POST", "/api/session",
				map[string]any{"username": "admin@example.com", "password": testPassword})
			if _, hasID := login["id"]; hasID == tc.challenge {
				t.Errorf("login = %v, want a session id: %v", login, !tc.challenge)
			}
			byKey := newRawClient(t, s.URL)
			byKey.apiKey = key
			if me := byKey.obj(http.StatusOK, "GET", "/api/user/current", nil); me["is_superuser"] != true {
				t.Errorf("API key user = %v, want the admin key to work", me)
			}
		})
	}
}
