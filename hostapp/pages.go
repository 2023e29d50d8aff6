package hostapp

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/embedwizard/embedwizard/assets"
)

// view is what every page template reads; each page uses the fields it needs.
type view struct {
	Title     string
	BodyClass string
	Refresh   int // seconds; the page reloads itself

	CSRF, Next, Email, Error string // login and forms

	Tenants   []Tenant
	Current   *member
	IframeSrc string

	Detail, Hint, Command string // message pages
	Action                *link

	Demo      bool   // demo mode: demo passwords and the tenant switcher are shown
	Banner    string // the Unverified banner, on every page
	LogoutSrc string // the signed-out page: Metabase's /auth/logout, loaded in a hidden iframe
}

type link struct{ Href, Label string }

type pages struct{ login, analytics, message, signedOut *template.Template }

func loadPages() (pages, error) {
	load := func(name string) (*template.Template, error) {
		return template.ParseFS(assets.HostApp, "hostapp/layout.html", "hostapp/"+name+".html")
	}
	var p pages
	var errs [4]error
	p.login, errs[0] = load("login")
	p.analytics, errs[1] = load("analytics")
	p.message, errs[2] = load("message")
	p.signedOut, errs[3] = load("signedout")
	return p, errors.Join(errs[:]...)
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render executes t into a buffer first, so a template error is a clean 500 rather than half a page.
func (a *App) render(w http.ResponseWriter, status int, t *template.Template, v view) {
	buf := buffers.Get().(*bytes.Buffer)
	defer func() { buf.Reset(); buffers.Put(buf) }()
	if a.execute(w, buf, t, v) {
		writePage(w, status, buf.Bytes())
	}
}

// execute renders t into buf; on a template error it answers 500 and returns false.
func (a *App) execute(w http.ResponseWriter, buf *bytes.Buffer, t *template.Template, v view) bool {
	v.Demo, v.Banner = a.s.demo, a.s.banner
	if err := t.ExecuteTemplate(buf, "layout", v); err != nil {
		a.s.log.Error("render page", "page", v.Title, "err", err.Error())
		http.Error(w, "render page: "+err.Error(), http.StatusInternalServerError)
		return false
	}
	return true
}

func writePage(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func (a *App) message(w http.ResponseWriter, status int, v view) {
	a.render(w, status, a.pages.message, v)
}

// refuse is the page for a form that failed its CSRF check.
func (a *App) refuse(w http.ResponseWriter, r *http.Request, what string) {
	a.s.log.Warn("refused form: CSRF token missing or wrong", "form", what, "ip", clientIP(r))
	a.message(w, http.StatusForbidden, view{
		Title:  "This form has expired",
		Detail: "The " + what + " form was not accepted: its security token is missing or out of date, or it was not sent from this site.",
		Hint:   "Reload the page and send the form again.",
		Action: &link{Href: "/login", Label: "Back to sign-in"},
	})
}

// next is where to go after sign-in: a local path, else /analytics.
func (a *App) next(r *http.Request, raw string) string {
	if raw == "" {
		return "/analytics"
	}
	if err := localPath(raw); err != nil {
		a.s.log.Warn("ignored next", "ip", clientIP(r), "reason", err.Error())
		return "/analytics"
	}
	return raw
}

// loginBinding is what the login form's CSRF token is bound to: a random value in its own cookie, set when
// the form is shown, so a login form posted from another site (login CSRF) is refused. The value is signed
// (nonce.mac): a cookie the host app did not issue, such as one another app on localhost planted, is
// replaced rather than adopted.
func (a *App) loginBinding(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCookie); err == nil && a.issuedLoginCookie(c.Value) {
		return c.Value
	}
	nonce := randomID()
	v := nonce + "." + a.csrf.token("login-cookie:"+nonce)
	http.SetCookie(w, a.s.cookie(loginCookie, v, SessionTTL, http.SameSiteLaxMode))
	return v
}

// issuedLoginCookie reports whether v is a login cookie value this process made.
func (a *App) issuedLoginCookie(v string) bool {
	nonce, mac, ok := strings.Cut(v, ".")
	return ok && len(nonce) == 32 && a.csrf.valid("login-cookie:"+nonce, mac)
}

func (a *App) loginPage(w http.ResponseWriter, r *http.Request, status int, v view) {
	v.Title = "Sign in"
	if a.s.demo {
		v.Tenants = a.s.tenants // with their passwords: demo mode only
	}
	v.CSRF = a.csrf.token("login:" + a.loginBinding(w, r))
	a.render(w, status, a.pages.login, v)
}

// serveLoginPage shows the form even to a signed-in user, who may want to sign in as someone else.
func (a *App) serveLoginPage(w http.ResponseWriter, r *http.Request) {
	v := view{Next: r.URL.Query().Get("next")}
	if sess, ok := a.sessions.get(r); ok {
		v.Current = sess.user
	}
	a.loginPage(w, r, http.StatusOK, v)
}

// serveLogin checks the form first and counts the attempt after: a POST without a valid CSRF token (a
// page on another site cannot read one) is refused without touching the rate limits, so it cannot lock
// the real user out. Then the attempt counts against the client's limit and the global one; a sign-in that
// succeeds gives both back.
func (a *App) serveLogin(w http.ResponseWriter, r *http.Request) {
	ip := clientIP(r)
	var binding string
	if c, err := r.Cookie(loginCookie); err == nil && a.issuedLoginCookie(c.Value) {
		binding = "login:" + c.Value
	}
	if !a.formOK(w, r, binding, "sign-in") {
		return
	}
	if ok, wait := a.logins.allow(ip); !ok {
		a.tooManyLogins(w, ip, wait, fmt.Sprintf("This address has tried to sign in more than %d times in a short while.", LoginBurst))
		return
	}
	if ok, wait := a.allLogins.allow(""); !ok {
		a.logins.refund(ip) // not this client's fault
		a.tooManyLogins(w, ip, wait, "There have been too many sign-in attempts to this host app in a short while, from all addresses together.")
		return
	}
	email, next := strings.TrimSpace(r.PostForm.Get("email")), r.PostForm.Get("next")
	u := a.authenticate(email, r.PostForm.Get("password"))
	if u == nil {
		a.s.log.Warn("sign-in failed", "ip", ip, "known_user", a.s.members[strings.ToLower(email)] != nil)
		a.loginPage(w, r, http.StatusUnauthorized, view{Next: next, Email: email, Error: "That email and password do not match a user." + a.demoHint()})
		return
	}
	a.logins.refund(ip)
	a.allLogins.refund("")
	a.signIn(w, r, u)
	a.s.log.Info("signed in", "email", u.Email, "tenant", u.Tenant, "ip", ip)
	http.Redirect(w, r, a.next(r, next), http.StatusSeeOther)
}

func (a *App) demoHint() string {
	if a.s.demo {
		return " Check the demo users below."
	}
	return ""
}

func (a *App) tooManyLogins(w http.ResponseWriter, ip string, wait time.Duration, detail string) {
	secs := int(math.Ceil(wait.Seconds()))
	a.s.log.Warn("sign-in rate limit", "ip", ip)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	a.message(w, http.StatusTooManyRequests, view{
		Title:  "Too many sign-in attempts",
		Detail: detail,
		Hint:   fmt.Sprintf("Wait %d seconds, then try again.", secs),
		Action: &link{Href: "/login", Label: "Back to sign-in"},
	})
}

// authenticate compares passwords in constant time, as SHA-256 digests so that length does not leak either,
// and does the same work for an unknown email as for a known one.
func (a *App) authenticate(email, password string) *member {
	u := a.s.members[strings.ToLower(email)]
	want := "\x00unknown user" // an unknown email still costs one comparison
	if u != nil {
		want = u.Password
	}
	got, exp := sha256.Sum256([]byte(password)), sha256.Sum256([]byte(want))
	if subtle.ConstantTimeCompare(got[:], exp[:]) != 1 || u == nil {
		return nil
	}
	return u
}

// signIn starts a session for u, rotating out any session the browser had.
func (a *App) signIn(w http.ResponseWriter, r *http.Request, u *member) {
	var old string
	if c, err := r.Cookie(SessionCookie); err == nil {
		old = c.Value
	}
	sess := a.sessions.create(u, old)
	http.SetCookie(w, a.s.cookie(SessionCookie, sess.id, SessionTTL, http.SameSiteLaxMode))
}

// formOK reads a posted form (at most MaxFormBytes) and checks its CSRF token against binding ("" never passes);
// when either fails it has answered.
func (a *App) formOK(w http.ResponseWriter, r *http.Request, binding, what string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		a.message(w, http.StatusBadRequest, view{
			Title:  "The " + what + " form could not be read",
			Detail: "parse form: " + err.Error(),
			Action: &link{Href: "/login", Label: "Back to sign-in"},
		})
		return false
	}
	if !a.csrf.valid(binding, r.PostForm.Get("csrf")) {
		a.refuse(w, r, what)
		return false
	}
	return true
}

func (a *App) serveLogout(w http.ResponseWriter, r *http.Request, sess *session) {
	if !a.formOK(w, r, sess.csrfBinding(), "sign-out") {
		return
	}
	a.sessions.delete(sess.id)
	http.SetCookie(w, a.s.cookie(SessionCookie, "", -1, http.SameSiteLaxMode))
	a.s.log.Info("signed out", "email", sess.user.Email)
	// Single logout, as the guide's sample app does it: the page loads Metabase's /auth/logout in a hidden
	// iframe. That route of Metabase's app ends its session (DELETE /api/session, in the iframe, with
	// Metabase's own cookie) and goes to /auth/login. Otherwise the next person to open Metabase in this
	// browser would see the last tenant's rows.
	a.render(w, http.StatusOK, a.pages.signedOut, view{Title: "Signed out", LogoutSrc: a.s.site + "/auth/logout"})
}

// serveSwitch signs the browser in as another demo user: a demo convenience, so the same browser can show
// each tenant's view in turn.
func (a *App) serveSwitch(w http.ResponseWriter, r *http.Request, sess *session) {
	if !a.formOK(w, r, sess.csrfBinding(), "switch user") {
		return
	}
	email := r.PostForm.Get("email")
	u := a.s.members[strings.ToLower(email)]
	if u == nil {
		a.message(w, http.StatusBadRequest, view{
			Title:  "No such demo user",
			Detail: fmt.Sprintf("%q is not one of the demo users.", email),
			Action: &link{Href: "/analytics", Label: "Back to the analytics"},
		})
		return
	}
	a.signIn(w, r, u)
	a.s.log.Info("switched user", "from", sess.user.Email, "to", u.Email)
	http.Redirect(w, r, "/analytics", http.StatusSeeOther)
}

func (a *App) serveAnalytics(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := a.ready.check(r.Context()); err != nil {
		v := view{
			Title:   "Metabase is not reachable",
			Detail:  err.Error(),
			Hint:    "The embedded analytics need Metabase running and configured for JWT sign-in. Start and configure it with:",
			Command: "embedwizard up",
			Refresh: int(probeTTL.Seconds()),
		}
		if errors.Is(err, ErrJWTNotEnabled) {
			v.Title = "JWT is not enabled in Metabase"
		}
		a.message(w, http.StatusServiceUnavailable, v)
		return
	}
	// The page depends only on the session (its user and CSRF token) and the configuration, so it is
	// rendered once per session: a reload costs a lookup, not a template run.
	page := sess.analytics.Load()
	if page == nil {
		var buf bytes.Buffer
		if !a.execute(w, &buf, a.pages.analytics, view{
			Title:     "Analytics",
			BodyClass: "app",
			CSRF:      a.csrf.token(sess.csrfBinding()),
			Tenants:   a.s.tenants,
			Current:   sess.user,
			IframeSrc: "/sso/metabase?return_to=" + url.QueryEscape(a.s.dashboard),
		}) {
			return
		}
		body := buf.Bytes()
		page = &body
		sess.analytics.Store(page) // two first requests may both render; they make the same bytes
	}
	writePage(w, http.StatusOK, *page)
}
