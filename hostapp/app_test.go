package hostapp

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRoutes(t *testing.T) {
	tests := []struct {
		name       string
		signedIn   bool
		method     string
		target     string
		wantStatus int
		wantLoc    string // exact Location, if any
		wantType   string // Content-Type prefix, if any
	}{
		{"root goes to analytics", false, "GET", "/", http.StatusFound, "/analytics", ""},
		{"analytics needs sign-in", false, "GET", "/analytics", http.StatusSeeOther, "/login?next=%2Fanalytics", ""},
		{"sso needs sign-in and keeps return_to", false, "GET", "/sso/metabase?return_to=%2Fquestion%2F5", http.StatusSeeOther, "/login?next=" + url.QueryEscape("/sso/metabase?return_to=%2Fquestion%2F5"), ""},
		{"logout needs sign-in", false, "POST", "/logout", http.StatusSeeOther, "/login", ""},
		{"switch needs sign-in", false, "POST", "/switch", http.StatusSeeOther, "/login", ""},
		{"login page", false, "GET", "/login", http.StatusOK, "", "text/html"},
		{"login page when signed in", true, "GET", "/login", http.StatusOK, "", "text/html"},
		{"analytics signed in", true, "GET", "/analytics", http.StatusOK, "", "text/html"},
		{"sso signed in", true, "GET", "/sso/metabase", http.StatusFound, "", ""},
		{"healthz", false, "GET", "/healthz", http.StatusOK, "", "application/json"},
		{"stylesheet", false, "GET", "/static/hostapp.css", http.StatusOK, "", "text/css"},
		{"script", false, "GET", "/static/hostapp.js", http.StatusOK, "", "text/javascript"},
		{"templates are not served", false, "GET", "/static/login.html", http.StatusNotFound, "", ""},
		{"unknown path", false, "GET", "/wp-admin", http.StatusNotFound, "", ""},
		{"wrong method on login", false, "DELETE", "/login", http.StatusMethodNotAllowed, "", ""},
		{"logout is POST only", true, "GET", "/logout", http.StatusMethodNotAllowed, "", ""},
		{"sso is GET only", true, "POST", "/sso/metabase", http.StatusMethodNotAllowed, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newTestApp(t, nil)
			b := newBrowser(t, app)
			if tt.signedIn {
				b.mustLogin(acmeEmail, acmePass)
			}
			resp := b.do(tt.method, tt.target, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s = %d, want %d\n%s", tt.method, tt.target, resp.StatusCode, tt.wantStatus, b.last)
			}
			if tt.wantLoc != "" && resp.Header.Get("Location") != tt.wantLoc {
				t.Errorf("Location = %q, want %q", resp.Header.Get("Location"), tt.wantLoc)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
				t.Errorf("Content-Type = %q, want %q…", ct, tt.wantType)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	app := newTestApp(t, nil)
	b := newBrowser(t, app)
	b.mustLogin(acmeEmail, acmePass)
	for _, target := range []string{"/login", "/analytics", "/sso/metabase"} {
		resp := b.do("GET", target, nil)
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"frame-src 'self' " + testSite, "default-src 'none'", "frame-ancestors 'self'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", target, csp, want)
			}
		}
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN", "Cache-Control": "no-store", "Referrer-Policy": "same-origin"} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", target, h, got, want)
			}
		}
	}
}

func TestRestrictReturnsAfterLogin(t *testing.T) {
	tests := []struct {
		name, target, wantAfter string
	}{
		{"analytics", "/analytics", "/analytics"},
		{"sso with return_to", "/sso/metabase?return_to=%2Fquestion%2F5", "/sso/metabase?return_to=%2Fquestion%2F5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, newTestApp(t, nil))
			resp := b.do("GET", tt.target, nil)
			loginURL := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loginURL, "/login?next=") {
				t.Fatalf("GET %s = %d %q, want 303 to /login?next=…", tt.target, resp.StatusCode, loginURL)
			}
			if resp := b.do("GET", loginURL, nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d", loginURL, resp.StatusCode)
			}
			next := regexp.MustCompile(`name="next" value="([^"]*)"`).FindStringSubmatch(b.last)
			if next == nil {
				t.Fatal("login form has no next field")
			}
			resp = b.do("POST", "/login", url.Values{"csrf": {b.csrf()}, "next": {unescapeHTML(next[1])}, "email": {acmeEmail}, "password": {acmePass}})
			if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != tt.wantAfter {
				t.Fatalf("POST /login = %d to %q, want 303 to %q", resp.StatusCode, got, tt.wantAfter)
			}
		})
	}
}

func unescapeHTML(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#39;", "'", "&#34;", `"`, "&lt;", "<", "&gt;", ">").Replace(s)
}

func TestLoginNextOnlyLocal(t *testing.T) {
	for _, next := range []string{"https://evil.example/", "//evil.example", `/\evil.example`, "javascript:alert(1)", "/%2F%2Fevil.example", ""} {
		t.Run(next, func(t *testing.T) {
			b := newBrowser(t, newTestApp(t, nil))
			b.do("GET", "/login", nil)
			resp := b.do("POST", "/login", url.Values{"csrf": {b.csrf()}, "next": {next}, "email": {acmeEmail}, "password": {acmePass}})
			if got := resp.Header.Get("Location"); got != "/analytics" {
				t.Errorf("after login with next=%q went to %q, want /analytics", next, got)
			}
		})
	}
}

func TestLoginCSRF(t *testing.T) {
	tests := []struct {
		name  string
		forge func(b *browser) url.Values
	}{
		{"no token", func(b *browser) url.Values { return url.Values{} }},
		{"wrong token", func(b *browser) url.Values {
			return url.Values{"csrf": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}
		}},
		{"token of another browser", func(b *browser) url.Values {
			other := newBrowser(b.t, b.h)
			other.do("GET", "/login", nil)
			return url.Values{"csrf": {other.csrf()}}
		}},
		{"no login cookie (cross-site post)", func(b *browser) url.Values {
			v := url.Values{"csrf": {b.csrf()}}
			delete(b.jar, loginCookie)
			return v
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, newTestApp(t, nil))
			b.do("GET", "/login", nil)
			form := tt.forge(b)
			form.Set("email", acmeEmail)
			form.Set("password", acmePass)
			resp := b.do("POST", "/login", form)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(b.last, "This form has expired") {
				t.Fatalf("forged login = %d, want 403 with an explanation:\n%s", resp.StatusCode, b.last)
			}
			if b.session() != "" {
				t.Error("a forged login set a session cookie")
			}
		})
	}
}

func TestFormTooLarge(t *testing.T) {
	b := newBrowser(t, newTestApp(t, nil))
	b.do("GET", "/login", nil)
	resp := b.do("POST", "/login", url.Values{"csrf": {b.csrf()}, "email": {strings.Repeat("a", 100<<10)}, "password": {"x"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(b.last, "could not be read") {
		t.Fatalf("100 KiB login form = %d, want 400 with an explanation:\n%s", resp.StatusCode, b.last)
	}
}

func TestLoginFailures(t *testing.T) {
	tests := []struct{ name, email, password string }{
		{"wrong password", acmeEmail, "nope"},
		{"other user's password", acmeEmail, globexPass},
		{"password with a trailing space", acmeEmail, acmePass + " "},
		{"password prefix", acmeEmail, acmePass[:5]},
		{"unknown user", "who@nowhere.example", acmePass},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newTestApp(t, nil)
			b := newBrowser(t, app)
			resp := b.login(tt.email, tt.password)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(b.last, "do not match a user") {
				t.Fatalf("login = %d, want 401 with an error:\n%s", resp.StatusCode, b.last)
			}
			if b.session() != "" || app.sessions.len() != 0 {
				t.Error("a failed login made a session")
			}
		})
	}
}

func TestLoginEmailIsCaseInsensitive(t *testing.T) {
	b := newBrowser(t, newTestApp(t, nil))
	b.mustLogin(strings.ToUpper(acmeEmail), acmePass)
}

func TestLoginRateLimit(t *testing.T) {
	app := newTestApp(t, nil)
	b := newBrowser(t, app)
	for i := range LoginBurst {
		if resp := b.login(acmeEmail, "wrong"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d = %d, want 401", i+1, resp.StatusCode)
		}
	}
	// Over the limit even the right password is refused: the limit is on attempts, not on failures.
	resp := b.login(acmeEmail, acmePass)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "6" {
		t.Fatalf("attempt %d = %d Retry-After %q, want 429 and 6", LoginBurst+1, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(b.last, "Too many sign-in attempts") {
		t.Errorf("429 page does not explain:\n%s", b.last)
	}

	other := newBrowser(t, app)
	other.ip = "198.51.100.7"
	other.mustLogin(globexMail, globexPass) // another client is not affected

	app.clock.advance(LoginRefill)
	b.mustLogin(acmeEmail, acmePass) // one attempt refilled, and given back by the successful sign-in
	b.mustLogin(acmeEmail, acmePass)
	if resp := b.login(acmeEmail, "wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong password with one attempt left = %d, want 401", resp.StatusCode)
	}
	if resp := b.login(acmeEmail, acmePass); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the attempt after the last one = %d, want 429", resp.StatusCode)
	}
}

func TestSessionRotation(t *testing.T) {
	app := newTestApp(t, nil)
	b := newBrowser(t, app)

	// An attacker-chosen id planted before sign-in must not become the session.
	b.jar[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: "fixated-by-attacker"}
	b.mustLogin(acmeEmail, acmePass)
	first := b.session()
	if first == "fixated-by-attacker" || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(first) {
		t.Fatalf("session id after login = %q, want a fresh 128-bit hex id", first)
	}

	b.mustLogin(acmeEmail, acmePass)
	second := b.session()
	if second == first {
		t.Fatal("signing in again kept the same session id")
	}

	resp := b.post("/analytics", "/switch", url.Values{"email": {globexMail}})
	third := b.session()
	if resp.StatusCode != http.StatusSeeOther || third == second {
		t.Fatalf("switch = %d, session %q → %q: want 303 and a new id", resp.StatusCode, second, third)
	}

	for _, old := range []string{first, second} {
		stale := newBrowser(t, app)
		stale.jar[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: old}
		if resp := stale.do("GET", "/analytics", nil); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("rotated-out session %s still works: %d", old, resp.StatusCode)
		}
	}
	if n := app.sessions.len(); n != 1 {
		t.Errorf("%d sessions live, want 1", n)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		app := newTestApp(t, func(c *Config) { c.SecureCookies = secure })
		b := newBrowser(t, app)
		b.mustLogin(acmeEmail, acmePass)
		c := b.jar[SessionCookie]
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != secure {
			t.Errorf("secure=%v: cookie HttpOnly=%v SameSite=%v Path=%q Secure=%v", secure, c.HttpOnly, c.SameSite, c.Path, c.Secure)
		}
		if c.MaxAge != int(SessionTTL.Seconds()) || !c.Expires.Equal(app.clock.Now().Add(SessionTTL).Truncate(time.Second)) {
			t.Errorf("cookie MaxAge=%d Expires=%v, want %v", c.MaxAge, c.Expires, SessionTTL)
		}
	}
}

func TestSessionExpires(t *testing.T) {
	app := newTestApp(t, nil)
	b := newBrowser(t, app)
	b.mustLogin(acmeEmail, acmePass)
	app.clock.advance(SessionTTL - time.Second)
	if resp := b.do("GET", "/analytics", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("just before expiry: %d, want 200", resp.StatusCode)
	}
	app.clock.advance(time.Second)
	if resp := b.do("GET", "/analytics", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("at expiry: %d, want 303 to /login", resp.StatusCode)
	}
}

func TestLogout(t *testing.T) {
	app := newTestApp(t, nil)
	b := newBrowser(t, app)
	b.mustLogin(acmeEmail, acmePass)
	sid := b.session()

	// Without the token (a cross-site form), nothing happens.
	if resp := b.do("POST", "/logout", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without CSRF = %d, want 403", resp.StatusCode)
	}
	if resp := b.do("GET", "/analytics", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("session gone after a refused logout: %d", resp.StatusCode)
	}

	resp := b.post("/analytics", "/logout", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout = %d, want 200 and the signed-out page", resp.StatusCode)
	}
	// Single logout: the signed-out page ends the Metabase session too, by loading its /auth/logout.
	if want := `<iframe id="metabase-logout" src="` + testSite + `/auth/logout"`; !strings.Contains(b.last, want) {
		t.Errorf("signed-out page lacks %s:\n%s", want, b.last)
	}
	if !strings.Contains(b.last, `href="/login"`) {
		t.Errorf("signed-out page has no way back to sign-in:\n%s", b.last)
	}
	if b.session() != "" {
		t.Error("logout did not delete the cookie")
	}
	replay := newBrowser(t, app)
	replay.jar[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: sid}
	if resp := replay.do("GET", "/analytics", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the old session id still works after logout: %d", resp.StatusCode)
	}
}

func TestSwitch(t *testing.T) {
	tests := []struct {
		name       string
		form       url.Values
		withToken  bool
		wantStatus int
		wantUser   string
	}{
		{"to another tenant", url.Values{"email": {globexMail}}, true, http.StatusSeeOther, globexMail},
		{"within the tenant", url.Values{"email": {"ana@acme.example"}}, true, http.StatusSeeOther, "ana@acme.example"},
		{"unknown user", url.Values{"email": {"mallory@evil.example"}}, true, http.StatusBadRequest, acmeEmail},
		{"without CSRF token", url.Values{"email": {globexMail}}, false, http.StatusForbidden, acmeEmail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, newTestApp(t, nil))
			b.mustLogin(acmeEmail, acmePass)
			var resp *http.Response
			if tt.withToken {
				resp = b.post("/analytics", "/switch", tt.form)
			} else {
				resp = b.do("POST", "/switch", tt.form)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("switch = %d, want %d\n%s", resp.StatusCode, tt.wantStatus, b.last)
			}
			b.do("GET", "/analytics", nil)
			if !strings.Contains(b.last, `data-testid="current-user">`+tt.wantUser+"<") {
				t.Errorf("after switch the page is not for %s", tt.wantUser)
			}
		})
	}
}

func TestLoginPageListsDemoUsers(t *testing.T) {
	b := newBrowser(t, newTestApp(t, nil))
	b.do("GET", "/login", nil)
	for _, want := range []string{
		"Customer-Acme", "account_id 28", "Customer-Globex", "account_id 42", acmeEmail, globexMail,
		`<details class="reveal"><summary>Show password</summary><code class="secret">` + acmePass + `</code></details>`,
	} {
		if !strings.Contains(b.last, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	if strings.Contains(b.last, testSecret) {
		t.Error("login page shows the JWT secret")
	}
}

func TestAnalyticsPage(t *testing.T) {
	b := newBrowser(t, newTestApp(t, func(c *Config) { c.DashboardPath = "/dashboard/7" }))
	b.mustLogin(acmeEmail, acmePass)
	if resp := b.do("GET", "/analytics", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /analytics = %d", resp.StatusCode)
	}
	for _, want := range []string{
		`<iframe class="metabase" id="metabase" src="/sso/metabase?return_to=%2fdashboard%2f7"`,
		`<option value="` + globexMail + `">`, `<option value="` + acmeEmail + `" selected>`,
		`data-testid="current-tenant">Customer-Acme<`, "private window",
	} {
		if !strings.Contains(strings.ToLower(b.last), strings.ToLower(want)) {
			t.Errorf("analytics page lacks %q:\n%s", want, b.last)
		}
	}
	if strings.Contains(b.last, testSecret) || strings.Contains(b.last, acmePass) {
		t.Error("analytics page shows a secret")
	}
}

func TestAnalyticsNotReady(t *testing.T) {
	tests := []struct {
		name      string
		probe     error
		wantTitle string
	}{
		{"unreachable", errors.New("probe Metabase at http://metabase.test:3000: connection refused"), "Metabase is not reachable"},
		{"jwt off", fmt.Errorf("%w: other-sso-enabled? is false", ErrJWTNotEnabled), "JWT is not enabled in Metabase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, newTestApp(t, func(c *Config) {
				c.Probe = func(context.Context) error { return tt.probe }
			}))
			b.mustLogin(acmeEmail, acmePass)
			resp := b.do("GET", "/analytics", nil)
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("GET /analytics = %d, want 503", resp.StatusCode)
			}
			for _, want := range []string{tt.wantTitle, "embedwizard up", html.EscapeString(tt.probe.Error()), `http-equiv="refresh"`} {
				if !strings.Contains(b.last, want) {
					t.Errorf("not-ready page lacks %q:\n%s", want, b.last)
				}
			}
			if strings.Contains(b.last, "<iframe") {
				t.Error("not-ready page still has the iframe")
			}
		})
	}
}

func TestProbeIsCached(t *testing.T) {
	calls := 0
	var answer error = errors.New("connection refused")
	app := newTestApp(t, func(c *Config) {
		c.Probe = func(context.Context) error { calls++; return answer }
	})
	b := newBrowser(t, app)
	b.mustLogin(acmeEmail, acmePass)
	steps := []struct {
		advance    time.Duration
		fix        bool
		wantStatus int
		wantCalls  int
	}{
		{0, false, http.StatusServiceUnavailable, 1},
		{time.Second, true, http.StatusServiceUnavailable, 1}, // fixed, but the cached answer still stands
		{probeTTL, false, http.StatusOK, 2},
		{time.Second, false, http.StatusOK, 2},
	}
	for i, s := range steps {
		app.clock.advance(s.advance)
		if s.fix {
			answer = nil
		}
		resp := b.do("GET", "/analytics", nil)
		if resp.StatusCode != s.wantStatus || calls != s.wantCalls {
			t.Fatalf("step %d: status %d after %d probes, want %d after %d", i, resp.StatusCode, calls, s.wantStatus, s.wantCalls)
		}
	}
	b.do("GET", "/sso/metabase", nil)
	if calls != 2 {
		t.Error("/sso/metabase probed Metabase")
	}
}

func TestSecretsStayOutOfLogsAndPages(t *testing.T) {
	app := newTestApp(t, nil)
	b := newBrowser(t, app)
	var pages strings.Builder
	b.login(acmeEmail, "wrong-guess-"+globexPass)
	pages.WriteString(b.last)
	b.mustLogin(acmeEmail, acmePass)
	sessionID := b.session()
	resp := b.do("GET", "/sso/metabase", nil)
	token := jwtFrom(t, resp.Header.Get("Location"))
	b.do("GET", "/sso/metabase?return_to=https://evil.example", nil)
	pages.WriteString(b.last)
	b.post("/analytics", "/switch", url.Values{"email": {globexMail}})
	pages.WriteString(b.last)
	b.post("/analytics", "/logout", nil)
	pages.WriteString(b.last)

	log := app.log.String()
	if !strings.Contains(log, "signed in") || !strings.Contains(log, "refused return_to") {
		t.Fatalf("the log misses the events it should have:\n%s", log)
	}
	for name, secret := range map[string]string{"JWT secret": testSecret, "password": acmePass, "other password": globexPass, "token": token, "session id": sessionID} {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds the %s:\n%s", name, log)
		}
	}
	if strings.Contains(pages.String(), testSecret) || strings.Contains(pages.String(), token) {
		t.Error("a page shows the JWT secret or a token")
	}
}
