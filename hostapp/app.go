// Package hostapp is the bundled host app of Metabase's interactive embedding quick start, written as an
// http.Handler: the guide's Node/Express app (login, restrict, /sso/metabase, /analytics) with tenants,
// sessions and the safety a demo that people copy from should have.
package hostapp

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/url"

	"github.com/embedwizard/embedwizard/assets"
)

// App is the host app. Create it with New; it is safe for concurrent use.
type App struct {
	s         *settings
	sessions  *sessions
	csrf      csrf
	logins    *limiter // per client IP
	allLogins *limiter // all clients together, one bucket
	ready     *readiness
	pages     pages
	handler   http.Handler
	headers   http.Header // security headers on every response
}

// New checks cfg and returns the host app. Every problem in cfg is reported at once, with what to do.
func New(cfg Config) (*App, error) {
	s, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	pg, err := loadPages()
	if err != nil {
		return nil, fmt.Errorf("host app pages: %w", err)
	}
	a := &App{
		s:         s,
		sessions:  newSessions(s.now),
		csrf:      newCSRF(),
		logins:    newLimiter(s.now, LoginBurst, LoginRefill),
		allLogins: newLimiter(s.now, LoginGlobalBurst, LoginGlobalRefill),
		ready:     &readiness{probe: s.probe, now: s.now},
		pages:     pg,
		headers: http.Header{
			// The iframe first loads /sso/metabase here, then follows the redirect to Metabase: frame-src needs both.
			"Content-Security-Policy": {"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
				"frame-src 'self' " + s.origin + "; form-action 'self'; frame-ancestors 'self'; base-uri 'none'"},
			"X-Content-Type-Options":     {"nosniff"},
			"X-Frame-Options":            {"SAMEORIGIN"},
			"Referrer-Policy":            {"same-origin"},
			"Cross-Origin-Opener-Policy": {"same-origin"},
			"Cache-Control":              {"no-store"},
		},
	}
	static, err := fs.Sub(assets.HostApp, "hostapp")
	if err != nil {
		return nil, fmt.Errorf("host app assets: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/analytics", http.StatusFound)
	})
	mux.HandleFunc("GET /login", a.serveLoginPage)
	mux.HandleFunc("POST /login", a.serveLogin)
	mux.Handle("POST /logout", a.restrict(a.serveLogout))
	if s.demo {
		mux.Handle("POST /switch", a.restrict(a.serveSwitch))
	}
	mux.Handle("GET /analytics", a.restrict(a.serveAnalytics))
	mux.Handle("GET /sso/metabase", a.restrict(a.serveSSO))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(static)))
	// Forms carry CSRF tokens; on top of them, a browser's cross-origin POST (Sec-Fetch-Site, or an Origin
	// that is not this host) is refused before its form is read. On localhost every port shares cookies,
	// so another local app could plant a login cookie whose token it knows: the token alone is not enough.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.refuse(w, r, "cross-site") }))
	a.handler = cop.Handler(mux)
	return a, nil
}

// ServeHTTP serves the host app's routes:
//
//	GET  /               → /analytics
//	GET  /login          the sign-in page, listing each tenant's demo users
//	POST /login          sign in (CSRF token, rate-limited per client IP)
//	POST /logout         sign out (CSRF token)
//	POST /switch         sign in as another demo user (CSRF token; demo mode only)
//	GET  /analytics      the embedded Metabase, or a "not ready" page
//	GET  /sso/metabase   sign a JWT and redirect to Metabase's /auth/sso
//	GET  /healthz        liveness
//	GET  /static/…       stylesheet and script
//
// A request whose Host header is not one of the configured names gets 421 (see Config.AllowedHosts).
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.s.hostAllowed(r.Host) {
		a.misdirected(w, r)
		return
	}
	// The values are shared, read-only slices: assigning them skips an allocation per header per request
	// (a later Set replaces a slice, and an append to a full slice copies it, so none is ever changed).
	h := w.Header()
	for k, v := range a.headers {
		h[k] = v
	}
	a.handler.ServeHTTP(w, r)
}

// restrict is the guide's restrict: a request without a live session goes to /login, which sends it back
// to where it was going (a GET's own path) after sign-in.
func (a *App) restrict(next func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sess, ok := a.sessions.get(r); ok {
			next(w, r, sess)
			return
		}
		to := "/login"
		if r.Method == http.MethodGet {
			to += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
}

// staticNames are the files served under /static/: the stylesheet and the script, not the templates.
var staticNames = map[string]bool{"hostapp.css": true, "hostapp.js": true}

// staticFiles serves the embedded stylesheet and script, and nothing else from the assets. Any other name
// is a 404 before the file system sees it: "/static/%ff.css" (not valid UTF-8) was a 500.
func staticFiles(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !staticNames[r.URL.Path] {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}
