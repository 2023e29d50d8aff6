package metabasetest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// withTestingRoutes serves s with the testing and checklist routes in front, whether or not routes() already
// registers them, so these tests exercise the handlers themselves. TestTestingRoutesServed checks the wiring.
func withTestingRoutes(t *testing.T, s *Server) string {
	t.Helper()
	mux := http.NewServeMux()
	s.registerTestingRoutes(mux)
	s.registerChecklistRoutes(mux)
	mux.Handle("/", s.Handler())
	ts := httptest.NewServer(s.serve(mux))
	t.Cleanup(ts.Close)
	return ts.URL
}

func testingEnv() map[string]string { return map[string]string{"MB_ENABLE_TEST_ENDPOINTS": "true"} }

func TestTestingEndpointsOffAnswerLikeMetabase(t *testing.T) {
	// api_routes/routes.clj: without the flag /testing passes through to not-found-handler.
	for _, env := range []map[string]string{nil, {"MB_ENABLE_TEST_ENDPOINTS": "false"}, {"MB_ENABLE_TEST_ENDPOINTS": "1"}} {
		s := NewServer(Options{Env: env})
		t.Cleanup(s.Close)
		c := newRawClient(t, withTestingRoutes(t, s))
		for _, path := range []string{"/api/testing/snapshot/x", "/api/testing/restore/x", "/api/testing/set-time", "/api/testing/echo"} {
			r := c.do("POST", path, nil)
			if r.status != http.StatusNotFound || string(r.body) != "API endpoint does not exist." {
				t.Errorf("env %v: POST %s = %s, want 404 API endpoint does not exist.", env, path, r)
			}
		}
	}
}

func TestTestingFlagParsesLikeBooleanParseBoolean(t *testing.T) {
	for v, want := range map[string]bool{"true": true, "TRUE": true, " True ": true, "false": false, "1": false, "yes": false, "": false} {
		s := NewUnstartedServer(Options{Env: map[string]string{"MB_ENABLE_TEST_ENDPOINTS": v}})
		if got := s.testEndpointsEnabled(); got != want {
			t.Errorf("MB_ENABLE_TEST_ENDPOINTS=%q: enabled %v, want %v", v, got, want)
		}
		s.Close()
	}
}

// A demo between two snapshots: the guide configured, a snapshot, a demo user signs in and the admin changes
// things, then a restore. Every checkpoint must hold again without a restart.
func TestSnapshotRestoreWithoutRestart(t *testing.T) {
	g := setupGuide(t, Options{Env: testingEnv()})
	base := withTestingRoutes(t, g.s)
	a := g.admin
	a.base = base
	anon := newRawClient(t, base)

	// No authentication at all: the testing routes are mounted without +auth.
	if r := anon.do("POST", "/api/testing/snapshot/golden_1", nil); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("snapshot: %s, want 204 with no body", r)
	}
	groups := len(a.must(http.StatusOK, "GET", "/api/permissions/group", nil).([]any))

	demo := g.signIn(t, "rene@example.com", jwt.MapClaims{"account_id": 28, "groups": []string{"Customer-Acme"}})
	demo.base = base
	demo.must(http.StatusOK, "GET", "/api/user/current", nil)
	a.obj(http.StatusOK, "POST", "/api/permissions/group", map[string]any{"name": "Scratch"})
	a.must(http.StatusNoContent, "PUT", "/api/setting/site-name", map[string]any{"value": "Scribbled"})
	a.must(http.StatusNoContent, "PUT", "/api/setting/jwt-enabled", map[string]any{"value": false})

	booted := g.s.BootProgress()
	if r := anon.do("POST", "/api/testing/restore/golden_1", nil); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("restore: %s, want 204 with no body", r)
	}
	if g.s.BootProgress() != booted {
		t.Fatalf("restore changed boot progress: it must not restart")
	}
	// The admin's session predates the snapshot, so it still works; what the admin changed is gone.
	if n := len(a.must(http.StatusOK, "GET", "/api/permissions/group", nil).([]any)); n != groups {
		t.Errorf("groups after restore = %d, want %d as in the snapshot", n, groups)
	}
	if v := a.must(http.StatusOK, "GET", "/api/setting/site-name", nil); v != "Embedwizard" {
		t.Errorf("site-name after restore = %v, want Embedwizard", v)
	}
	if v := a.must(http.StatusOK, "GET", "/api/setting/jwt-enabled", nil); v != true {
		t.Errorf("jwt-enabled after restore = %v, want true", v)
	}
	// The demo user's session (and the user) were created after the snapshot: gone, so they sign in again.
	if r := demo.do("GET", "/api/user/current", nil); r.status != http.StatusUnauthorized {
		t.Errorf("demo session after restore: %s, want 401", r)
	}
	again := g.signIn(t, "rene@example.com", jwt.MapClaims{"account_id": 28, "groups": []string{"Customer-Acme"}})
	again.base = base
	res := again.obj(http.StatusAccepted, "POST", "/api/dataset", map[string]any{"database": 1, "type": "query",
		"query": map[string]any{"source-table": g.invoices, "limit": 2000}})
	rows := res["data"].(map[string]any)["rows"].([]any)
	if len(rows) == 0 || len(rows) != accountRows(28) {
		t.Fatalf("sandboxed rows after restore = %d, want %d", len(rows), accountRows(28))
	}
	for _, row := range rows {
		if acct := num(t, row.([]any)[1]); acct != 28 {
			t.Fatalf("sandbox leaked account %d after restore", acct)
		}
	}
	// Restoring twice is fine: the snapshot stays.
	anon.must(http.StatusNoContent, "POST", "/api/testing/restore/golden_1", nil)
}

func TestRestoreRefusals(t *testing.T) {
	s := NewServer(Options{Env: testingEnv()})
	t.Cleanup(s.Close)
	base := withTestingRoutes(t, s)
	a := admin(t, s)
	a.base = base
	anon := newRawClient(t, base)

	// api/check-404 runs before DROP ALL OBJECTS: an unknown name leaves everything as it was.
	a.must(http.StatusNoContent, "PUT", "/api/setting/site-name", map[string]any{"value": "Kept"})
	if r := anon.do("POST", "/api/testing/restore/never_taken", nil); r.status != http.StatusNotFound || string(r.body) != "Not found." {
		t.Fatalf("restore of an unknown snapshot: %s, want 404 Not found.", r)
	}
	if v := a.must(http.StatusOK, "GET", "/api/setting/site-name", nil); v != "Kept" {
		t.Errorf("site-name after a refused restore = %v, want Kept", v)
	}

	// snapshot-path-for-name replaces \W by _: "demo-1" and "demo.1" are one file, the later one wins.
	anon.must(http.StatusNoContent, "POST", "/api/testing/snapshot/demo-1", nil)
	a.must(http.StatusNoContent, "PUT", "/api/setting/site-name", map[string]any{"value": "Second"})
	anon.must(http.StatusNoContent, "POST", "/api/testing/snapshot/demo.1", nil)
	a.must(http.StatusNoContent, "PUT", "/api/setting/site-name", map[string]any{"value": "Third"})
	anon.must(http.StatusNoContent, "POST", "/api/testing/restore/demo_1", nil)
	if v := a.must(http.StatusOK, "GET", "/api/setting/site-name", nil); v != "Second" {
		t.Errorf("site-name after restoring demo_1 = %v, want Second (demo.1 overwrote demo-1)", v)
	}
}

func TestSnapshotNeedsH2(t *testing.T) {
	for _, env := range []map[string]string{
		{"MB_DB_TYPE": "postgres"},
		{"MB_DB_TYPE": "mysql"},
		{"MB_DB_CONNECTION_URI": "postgres://mb:pw@db:5432/metabase"},
	} {
		env["MB_ENABLE_TEST_ENDPOINTS"] = "true"
		s := NewServer(Options{Env: env})
		t.Cleanup(s.Close)
		c := newRawClient(t, withTestingRoutes(t, s))
		for _, path := range []string{"/api/testing/snapshot/a", "/api/testing/restore/a"} {
			r := c.do("POST", path, nil)
			if r.status != http.StatusInternalServerError || !strings.Contains(string(r.body), "only works for :h2 application databases") {
				t.Errorf("%v: POST %s = %s, want 500 naming the :h2 assertion", env, path, r)
			}
		}
	}
}

// Snapshots live outside the app DB, under the working directory, as Metabase's do: a restarted container (same
// working directory) still has them, a recreated one (a fresh working directory, same volume) does not.
func TestSnapshotFilesFollowTheWorkingDirectory(t *testing.T) {
	volume, layer := t.TempDir(), t.TempDir()
	db := filepath.Join(volume, "metabase.db")
	t.Chdir(layer)
	s := NewServer(Options{Env: testingEnv(), DBFile: db})
	base := withTestingRoutes(t, s)
	a := admin(t, s)
	a.base = base
	anon := newRawClient(t, base)
	anon.must(http.StatusNoContent, "POST", "/api/testing/snapshot/base", nil)
	a.must(http.StatusNoContent, "PUT", "/api/setting/site-name", map[string]any{"value": "Dirty"})
	s.Close()

	// The file holds every secret of the app DB: private.
	file := filepath.Join(layer, "e2e", "snapshots", "base.sql")
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot file %s: %v, mode %v, want 0600", file, err, fi)
	}
	if fi, err := os.Stat(filepath.Dir(file)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("snapshot directory: %v, mode %v, want 0700", err, fi)
	}

	// Restarted: same working directory, same volume.
	s2 := NewServer(Options{Env: testingEnv(), DBFile: db})
	b2 := withTestingRoutes(t, s2)
	a.base = b2
	newRawClient(t, b2).must(http.StatusNoContent, "POST", "/api/testing/restore/base", nil)
	if v := a.must(http.StatusOK, "GET", "/api/setting/site-name", nil); v != "Embedwizard" {
		t.Errorf("site-name after restore in a restarted process = %v, want Embedwizard", v)
	}
	s2.Close()

	// Recreated: a new writable layer (working directory), the volume kept; the restored state was saved to it.
	t.Chdir(t.TempDir())
	s3 := NewServer(Options{Env: testingEnv(), DBFile: db})
	t.Cleanup(s3.Close)
	b3 := withTestingRoutes(t, s3)
	a.base = b3
	if v := a.must(http.StatusOK, "GET", "/api/setting/site-name", nil); v != "Embedwizard" {
		t.Errorf("site-name on the volume = %v, want the restored Embedwizard", v)
	}
	if r := newRawClient(t, b3).do("POST", "/api/testing/restore/base", nil); r.status != http.StatusNotFound || string(r.body) != "Not found." {
		t.Errorf("restore in a recreated container: %s, want 404 Not found. (the snapshot stayed in the old layer)", r)
	}
}

// A working directory where e2e/snapshots cannot be made (as for Metabase's unprivileged user in "/"): SCRIPT TO
// fails and the snapshot answers 500; nothing else changes.
func TestSnapshotUnwritableWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	// A file where the directory should go blocks it even for root, unlike a read-only mode.
	if err := os.WriteFile(filepath.Join(dir, "e2e"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := NewServer(Options{Env: testingEnv(), DBFile: filepath.Join(t.TempDir(), "metabase.db")})
	t.Cleanup(s.Close)
	c := newRawClient(t, withTestingRoutes(t, s))
	if r := c.do("POST", "/api/testing/snapshot/base", nil); r.status != http.StatusInternalServerError {
		t.Errorf("snapshot where e2e/snapshots cannot be made: %s, want 500", r)
	}
	// restore checks (.exists file): false on any error, so 404 Not found.
	if r := c.do("POST", "/api/testing/restore/base", nil); r.status != http.StatusNotFound || string(r.body) != "Not found." {
		t.Errorf("restore there: %s, want 404 Not found.", r)
	}
}

func TestSetTime(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s := NewServer(Options{Env: testingEnv(), Now: func() time.Time { return now }})
	t.Cleanup(s.Close)
	c := newRawClient(t, withTestingRoutes(t, s))
	steps := []struct {
		body       any
		result, at string
	}{
		{map[string]any{"time": "2024-07-08T15:00:00Z"}, "set", "2024-07-08T15:00:00.000Z"},
		{map[string]any{"add-ms": 10000}, "set", "2024-07-08T15:00:10.000Z"}, // relative to the mocked clock
		{nil, "reset", "2026-12-01T09:00:00.000Z"},
		{map[string]any{"add-ms": 1000}, "set", "2026-12-01T09:00:01.000Z"},
	}
	for i, st := range steps {
		m := c.obj(http.StatusOK, "POST", "/api/testing/set-time", st.body)
		if m["result"] != st.result || m["time"] != st.at {
			t.Errorf("step %d %v: got %v, want result %s time %s", i, st.body, m, st.result, st.at)
		}
	}
	// restore resets the clock even when it then fails for a missing snapshot.
	c.must(http.StatusOK, "POST", "/api/testing/set-time", map[string]any{"time": "2020-01-01T00:00:00Z"})
	c.do("POST", "/api/testing/restore/none", nil)
	if m := c.obj(http.StatusOK, "POST", "/api/testing/set-time", map[string]any{"add-ms": 0}); m["time"] != "2026-12-01T09:00:00.000Z" {
		t.Errorf("after restore the clock is %v, want the real one", m["time"])
	}
	if r := c.do("POST", "/api/testing/set-time", map[string]any{"time": "yesterday"}); r.status != http.StatusBadRequest {
		t.Errorf("bad time: %s, want 400", r)
	}
}

func TestEcho(t *testing.T) {
	s := NewServer(Options{Env: testingEnv()})
	t.Cleanup(s.Close)
	c := newRawClient(t, withTestingRoutes(t, s))
	if m := c.obj(http.StatusOK, "POST", "/api/testing/echo", map[string]any{"a": "b"}); m["a"] != "b" {
		t.Errorf("POST echo = %v", m)
	}
	if m := c.obj(http.StatusBadRequest, "POST", "/api/testing/echo?fail=true", map[string]any{"a": "b"}); m["error-code"] != "oops" {
		t.Errorf("POST echo?fail=true = %v", m)
	}
	if m := c.obj(http.StatusOK, "GET", `/api/testing/echo?body=%7B%22x%22%3A1%7D`, nil); m["x"] == nil {
		t.Errorf("GET echo = %v", m)
	}
}

// BenchmarkSnapshotRestore measures one snapshot plus one restore of a configured quick-start state over HTTP.
func BenchmarkSnapshotRestore(b *testing.B) {
	g := setupGuide(b, Options{Env: testingEnv()})
	c := newRawClient(b, g.s.URL)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.must(http.StatusNoContent, "POST", "/api/testing/snapshot/bench", nil)
		c.must(http.StatusNoContent, "POST", "/api/testing/restore/bench", nil)
	}
}
