package metabasetest

// Metabase's e2e testing endpoints (/api/testing/*), as the real server has them when MB_ENABLE_TEST_ENDPOINTS is
// true. Sources, metabase/metabase:
//   - src/metabase/testing_api/settings.clj `enable-testing-routes?` (commit 0f00ee79): (or (not is-prod?)
//     (config-bool :mb-enable-test-endpoints)). A plain var read once at launch, so changing it needs a restart.
//   - src/metabase/api_routes/routes.clj route-map "/testing" (commit of id 1456277053; same in
//     src/metabase/api/routes.clj of older lines): (if enable-testing-routes? 'metabase.testing-api.api
//     pass-thru-handler), with NO +auth wrapper: every testing route answers without a session. With the flag off
//     the pass-thru handler falls through to not-found-handler: 404 plain text "API endpoint does not exist.".
//   - src/metabase/testing_api/api.clj (commit 0088aa80; src/metabase/api/testing.clj commit 02f3a381 in older
//     lines): POST /snapshot/:name, POST /restore/:name, POST /set-time, GET and POST /echo, and more routes the
//     emulator does not implement (docs/reset-notes.md lists them all).
//   - test/metabase/testing_api/api_test.clj (commit 16d4ea70): snapshot-test and e2e-test expect 204 and no body,
//     restore-test expects 404 "Not found." for an unknown name, set-time-test the {result, time} body.

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/embedwizard/embedwizard/internal/secretfile"
)

// testingAPI holds what the testing endpoints keep outside the app database: the snapshots and the mocked clock
// of POST /set-time. Metabase writes snapshots to e2e/snapshots/NAME.sql under the JVM's working directory, not in
// the app DB: in a container's writable layer they survive a restart but not a recreation; with the working
// directory on the data volume they survive both. The emulator does the same when it stands for a container
// (Options.DBFile set, as cmd/fakemetabase does): files under its own working directory, 0600 in a 0700 directory
// since they hold every secret of the app DB. An in-memory emulator (no DBFile, as most tests) keeps them in memory.
type testingAPI struct {
	mu        sync.Mutex
	dir       string            // absolute e2e/snapshots directory; "" = in memory
	snapshots map[string][]byte // in memory: file name (after snapshotFileName) -> JSON of the state
	clock     *time.Time        // set by /set-time (a fixed t/mock-clock); nil = the system clock
}

// save stores one snapshot. A write failure is what H2's SCRIPT TO would raise: a 500 (message shape UNVERIFIED).
func (t *testingAPI) save(file string, b []byte) error {
	if t.dir == "" {
		t.snapshots[file] = b
		return nil
	}
	if err := secretfile.Write(filepath.Join(t.dir, file), b); err != nil {
		return jsonErr(http.StatusInternalServerError, "IO Exception: "+err.Error(), nil)
	}
	return nil
}

// load reads one snapshot; ok is false when there is none (restore's api/check-404).
func (t *testingAPI) load(file string) (b []byte, ok bool, err error) {
	if t.dir == "" {
		b, ok = t.snapshots[file]
		return b, ok, nil
	}
	path := filepath.Join(t.dir, file)
	if _, err := os.Stat(path); err != nil {
		return nil, false, nil // java.io.File.exists is false on any error
	}
	b, err = os.ReadFile(path)
	if err != nil {
		return nil, false, jsonErr(http.StatusInternalServerError, "IO Exception: "+err.Error(), nil)
	}
	return b, true, nil
}

// testEndpointsEnabled is config-bool :mb-enable-test-endpoints: Metabase reads MB_ENABLE_TEST_ENDPOINTS with
// Boolean/parseBoolean, which accepts "true" in any case. The emulator always runs as a production build, so
// the (not is-prod?) branch never applies.
func (s *Server) testEndpointsEnabled() bool {
	return strings.EqualFold(strings.TrimSpace(s.opts.Env["MB_ENABLE_TEST_ENDPOINTS"]), "true")
}

// registerTestingRoutes adds /api/testing/* when the flag is on. With it off nothing is registered, so the
// requests reach the /api/ catch-all and answer 404 "API endpoint does not exist.", as Metabase does.
func (s *Server) registerTestingRoutes(mux *http.ServeMux) {
	if !s.testEndpointsEnabled() {
		return
	}
	t := &testingAPI{snapshots: map[string][]byte{}}
	if s.opts.DBFile != "" {
		// snapshot-path-for-name: (.toAbsolutePath (u.files/get-path "e2e" "snapshots" ...)).
		if dir, err := filepath.Abs(filepath.Join("e2e", "snapshots")); err == nil {
			t.dir = dir
		}
	}
	api := func(pattern string, fn apiFunc) { mux.Handle(pattern, s.api(public, fn)) }
	api("POST /api/testing/snapshot/{name}", t.snapshot)
	api("POST /api/testing/restore/{name}", t.restore)
	api("POST /api/testing/set-time", t.setTime)
	api("POST /api/testing/echo", t.postEcho)
	api("GET /api/testing/echo", t.getEcho)
}

// snapshotNonWord is Clojure's #"\W": snapshot-path-for-name replaces every non-word character by "_", so "a-b" and "a.b"
// name the same file.
var snapshotNonWord = regexp.MustCompile(`\W`)

// snapshotFileName is snapshot-path-for-name without the directory.
func snapshotFileName(name string) string {
	return snapshotNonWord.ReplaceAllString(name, "_") + ".sql"
}

// appDBType is the application database type as Metabase derives it: MB_DB_TYPE, default h2, or the scheme of
// MB_DB_CONNECTION_URI when that is set.
func (s *Server) appDBType() string {
	if uri := strings.ToLower(s.opts.Env["MB_DB_CONNECTION_URI"]); uri != "" {
		uri = strings.TrimPrefix(uri, "jdbc:")
		switch {
		case strings.HasPrefix(uri, "postgres"):
			return "postgres"
		case strings.HasPrefix(uri, "mysql"), strings.HasPrefix(uri, "mariadb"):
			return "mysql"
		}
	}
	if t := strings.ToLower(strings.TrimSpace(s.opts.Env["MB_DB_TYPE"])); t != "" {
		return t
	}
	return "h2"
}

// assertH2 is api.clj assert-h2: a Clojure AssertionError, which Metabase's exception middleware turns into a
// 500. The JSON body's exact fields beyond "message" are UNVERIFIED.
func (s *Server) assertH2() error {
	if s.appDBType() == "h2" {
		return nil
	}
	return jsonErr(http.StatusInternalServerError,
		"Assert failed: Snapshot/restore only works for :h2 application databases.\n(= (:db-type app-db) :h2)",
		map[string]any{"type": "java.lang.AssertionError"})
}

// snapshotName reads :name; the route schema is ms/NonBlankString (400 on a blank one).
func snapshotName(c *call) (string, error) {
	name := c.r.PathValue("name")
	if strings.TrimSpace(name) == "" {
		return "", fieldErr(http.StatusBadRequest, "name", "value must be a non-blank string.")
	}
	return name, nil
}

// snapshot is POST /api/testing/snapshot/:name: H2 "SCRIPT TO" the file, overwriting one of the same name;
// 204, no body. Caller holds s.mu (s.api), so the snapshot is consistent.
func (t *testingAPI) snapshot(c *call) (int, any, error) {
	name, err := snapshotName(c)
	if err != nil {
		return 0, nil, err
	}
	if err := c.s.assertH2(); err != nil {
		return 0, nil, err
	}
	b, err := json.Marshal(c.s.st)
	if err != nil {
		return 0, nil, jsonErr(http.StatusInternalServerError, "snapshot app database: "+err.Error(), nil)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.save(snapshotFileName(name), b); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// restore is POST /api/testing/restore/:name: reset the mocked clock, then under the app DB write lock DROP ALL
// OBJECTS and RUNSCRIPT the file, without a restart. An unknown name is api/check-404 (404 "Not found.", plain
// text), checked before anything is dropped, so a failed restore leaves the state as it was. Everything in the
// app DB is replaced, sessions included: a session created after the snapshot no longer authenticates.
func (t *testingAPI) restore(c *call) (int, any, error) {
	name, err := snapshotName(c)
	if err != nil {
		return 0, nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clock = nil // restore resets the clock "in case /set-time was called without cleanup"
	if err := c.s.assertH2(); err != nil {
		return 0, nil, err
	}
	b, ok, err := t.load(snapshotFileName(name))
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		return 0, nil, errNotFound
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, nil, jsonErr(http.StatusInternalServerError, "restore app database: "+err.Error(), nil)
	}
	c.s.st = &st
	return http.StatusNoContent, nil, nil
}

// setTime is POST /api/testing/set-time {time?, add-ms?}: java-time's clock becomes a fixed mock clock at time,
// or at now+add-ms; neither resets it. Answer {"result": "set"|"reset", "time": instant}. The emulator's other
// handlers keep the real clock (which Metabase code paths read java-time's clock is UNVERIFIED).
func (t *testingAPI) setTime(c *call) (int, any, error) {
	var body struct {
		Time  *string      `json:"time"`
		AddMS *json.Number `json:"add-ms"`
	}
	if err := decodeBody(c.r, &body); err != nil {
		return 0, nil, err
	}
	now := c.s.opts.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var at *time.Time
	switch {
	case body.Time != nil:
		p, err := parseTemporal(*body.Time)
		if err != nil {
			return 0, nil, fieldErr(http.StatusBadRequest, "time", "value must be a valid date string")
		}
		at = &p
	case body.AddMS != nil:
		ms, err := body.AddMS.Int64()
		if err != nil {
			return 0, nil, fieldErr(http.StatusBadRequest, "add-ms", "value must be an integer.")
		}
		// (t/plus (t/zoned-date-time) ...): relative to the clock in force, the mock one when set.
		base := now
		if t.clock != nil {
			base = *t.clock
		}
		p := base.Add(time.Duration(ms) * time.Millisecond)
		at = &p
	}
	t.clock = at
	result := "reset"
	shown := now
	if at != nil {
		result, shown = "set", *at
	}
	return http.StatusOK, map[string]any{"result": result, "time": shown.UTC().Format("2006-01-02T15:04:05.000Z")}, nil
}

// parseTemporal accepts the ISO-8601 forms u.date/parse takes that the e2e suite sends.
func parseTemporal(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if p, err := time.Parse(layout, s); err == nil {
			return p, nil
		}
	}
	return time.Time{}, &time.ParseError{Value: s, Message: ": not an ISO-8601 date"}
}

// echoFail is ?fail=true (ms/BooleanValue): 400 {"error-code": "oops"} instead of the echo.
func echoFail(c *call) bool {
	f, _ := strconv.ParseBool(c.r.URL.Query().Get("fail"))
	return f
}

// postEcho is POST /api/testing/echo: the JSON body back, 200.
func (t *testingAPI) postEcho(c *call) (int, any, error) {
	var body map[string]any
	if err := decodeBody(c.r, &body); err != nil {
		return 0, nil, err
	}
	if echoFail(c) {
		return http.StatusBadRequest, map[string]any{"error-code": "oops"}, nil
	}
	return http.StatusOK, body, nil
}

// getEcho is GET /api/testing/echo?body=JSON: the decoded body back, 200.
func (t *testingAPI) getEcho(c *call) (int, any, error) {
	if echoFail(c) {
		return http.StatusBadRequest, map[string]any{"error-code": "oops"}, nil
	}
	var body any
	if err := json.Unmarshal([]byte(c.r.URL.Query().Get("body")), &body); err != nil {
		return 0, nil, fieldErr(http.StatusBadRequest, "body", "value must be a valid JSON string.")
	}
	return http.StatusOK, body, nil
}
