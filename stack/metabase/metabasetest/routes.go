package metabasetest

import (
	"net/http"
	"strconv"
)

// access is who may call an endpoint.
type access int

const (
	public access = iota
	authenticated
	adminOnly
)

// call is one API request being handled, with the state lock held.
type call struct {
	s *Server
	w http.ResponseWriter
	r *http.Request
	u *user // nil when not signed in
}

// apiFunc handles one endpoint. A nil body with status 204 sends no body.
type apiFunc func(c *call) (status int, body any, err error)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, who access, fn apiFunc) { mux.Handle(pattern, s.api(who, fn)) }

	api("GET /api/health", public, s.health)
	api("GET /api/session/properties", public, s.sessionProperties)
	api("POST /api/setup", public, s.setup)
	api("POST /api/session", public, s.login)
	api("DELETE /api/session", authenticated, s.logout)
	api("POST /api/api-key", adminOnly, s.createAPIKey)
	api("GET /api/api-key", adminOnly, s.listAPIKeys)
	api("GET /api/user", adminOnly, s.listUsers)
	api("GET /api/user/current", authenticated, s.currentUser)
	api("GET /api/user/{id}", authenticated, s.getUser)
	api("PUT /api/user/{id}", authenticated, s.putUser)

	api("GET /api/setting", adminOnly, s.listSettings)
	api("PUT /api/setting", adminOnly, s.putSettings)
	api("GET /api/setting/{key}", adminOnly, s.getSetting)
	api("PUT /api/setting/{key}", adminOnly, s.putSetting)
	api("GET /api/util/random_token", authenticated, s.randomToken)
	api("GET /api/premium-features/token/status", adminOnly, s.tokenStatus)

	api("GET /api/database", authenticated, s.listDatabases)
	api("GET /api/database/{id}", authenticated, s.getDatabase)
	api("GET /api/database/{id}/metadata", authenticated, s.databaseMetadata)
	api("GET /api/table", authenticated, s.listTables)
	api("GET /api/table/{id}", authenticated, s.getTable)
	api("GET /api/table/{id}/query_metadata", authenticated, s.tableMetadata)
	api("POST /api/dataset", authenticated, s.dataset)

	api("GET /api/automagic-dashboards/table/{id}", authenticated, s.xrayTable)
	api("POST /api/dashboard/save", authenticated, s.saveDashboard)
	api("GET /api/dashboard/{id}", authenticated, s.getDashboard)
	api("GET /api/collection", authenticated, s.listCollections)
	api("GET /api/collection/graph", adminOnly, s.getCollectionGraph)
	api("PUT /api/collection/graph", adminOnly, s.putCollectionGraph)
	api("GET /api/collection/{id}", authenticated, s.getCollection)
	api("GET /api/collection/{id}/items", authenticated, s.collectionItems)

	api("GET /api/permissions/group", adminOnly, s.listGroups)
	api("POST /api/permissions/group", adminOnly, s.createGroup)
	api("GET /api/permissions/group/{id}", adminOnly, s.getGroup)
	api("GET /api/permissions/graph", adminOnly, s.getGraph)
	api("PUT /api/permissions/graph", adminOnly, s.putGraph)

	api("GET /api/mt/gtap", adminOnly, s.withSandboxes(s.listSandboxes))
	api("POST /api/mt/gtap", adminOnly, s.withSandboxes(s.createSandbox))
	api("GET /api/mt/gtap/{id}", adminOnly, s.withSandboxes(s.getSandbox))
	api("PUT /api/mt/gtap/{id}", adminOnly, s.withSandboxes(s.updateSandbox))
	api("DELETE /api/mt/gtap/{id}", adminOnly, s.withSandboxes(s.deleteSandbox))

	// Routes kept in their own files: MB_ENABLE_TEST_ENDPOINTS snapshot/restore (testing.go) and the
	// embedding hub checklist (checklist.go). Each decides itself whether to register.
	s.registerTestingRoutes(mux)
	s.registerChecklistRoutes(mux)
	// Cards, card and dashcard queries, and the frontend's app pages (cards.go).
	s.registerDataRoutes(mux, api)

	// contract §0: an unknown API route is a plain-text 404.
	api("/api/", public, func(*call) (int, any, error) {
		return 0, nil, textErr(http.StatusNotFound, "API endpoint does not exist.")
	})

	api("GET /auth/sso", public, s.ssoGet)
	api("POST /auth/sso", public, s.ssoPost)

	mux.Handle("GET /auth/login", s.page(false, s.loginPage))
	mux.Handle("GET /dashboard/{id}", s.page(true, s.dashboardPage))
	mux.Handle("GET /{$}", s.page(true, s.homePage))
	mux.Handle("/", s.page(false, func(c *call) (int, string) {
		return http.StatusNotFound, "<h1>We're a little lost...</h1><p>The page you asked for couldn't be found.</p>"
	}))
	return s.serve(mux)
}

// api runs fn with the state lock held, after authenticating the caller, and saves state after a write.
func (s *Server) api(who access, fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		c := &call{s: s, w: w, r: r}
		c.u = s.authenticate(r)
		switch {
		case who >= authenticated && c.u == nil:
			writeError(w, errUnauthenticated)
			return
		case who == adminOnly && !c.u.Superuser:
			writeError(w, errForbidden)
			return
		}
		status, body, err := fn(c)
		if err != nil {
			writeError(w, err)
			return
		}
		// GET /auth/sso writes too: it creates users and sessions.
		if r.Method != http.MethodGet || r.URL.Path == "/auth/sso" {
			s.save()
		}
		if status == http.StatusNoContent || status == http.StatusFound {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, body)
	})
}

// authenticate finds the caller from X-API-Key, X-Metabase-Session or the metabase.SESSION cookie
// (contract §0). Caller holds s.mu.
func (s *Server) authenticate(r *http.Request) *user {
	if key := r.Header.Get("X-API-Key"); key != "" {
		h := hashKey(key)
		for _, k := range s.st.APIKeys {
			if k.KeyHash == h {
				return s.st.Users[k.UserID]
			}
		}
		return nil
	}
	key := r.Header.Get("X-Metabase-Session")
	if key == "" {
		if ck, err := r.Cookie(sessionCookie); err == nil {
			key = ck.Value
		}
	}
	if key == "" {
		return nil
	}
	if id, ok := s.st.Sessions[hashKey(key)]; ok {
		return s.st.Users[id]
	}
	return nil
}

// pathID parses a numeric path parameter; Metabase's schema answers 400 for a non-positive-int id.
func pathID(r *http.Request, name string) (int, error) {
	n, err := strconv.Atoi(r.PathValue(name))
	if err != nil || n <= 0 {
		return 0, jsonErr(http.StatusBadRequest, "", map[string]any{
			"errors": map[string]string{name: "value must be an integer greater than zero."}})
	}
	return n, nil
}
