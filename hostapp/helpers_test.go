package hostapp

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/internal/syncbuf"
)

const (
	testSecret = "4f1c2a3b5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f701"
	testSite   = "http://metabase.test:3000"
	testHost   = "hostapp.test:8080" // the host app's own host, from testConfig's HostAppURL
	acmeEmail  = "rene@acme.example"
	acmePass   = "acme-pass-123"
	globexMail = "hank@globex.example"
	globexPass = "globex-pass-456"
)

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testConfig() Config {
	return Config{
		MetabaseSiteURL: testSite,
		JWTSecret:       testSecret,
		DashboardPath:   "/dashboard/1",
		Tenants: []Tenant{
			{Name: "Customer-Acme", AccountID: 28, Users: []User{
				{Email: acmeEmail, FirstName: "Rene", LastName: "Mueller", Password: acmePass},
				{Email: "ana@acme.example", FirstName: "Ana", LastName: "Lopez", Password: "acme-ana-789"},
			}},
			{Name: "Customer-Globex", AccountID: 42, Users: []User{
				{Email: globexMail, FirstName: "Hank", LastName: "Scorpio", Password: globexPass},
			}},
		},
		Probe:      func(context.Context) error { return nil },
		HostAppURL: "http://" + testHost,
		Demo:       true,
	}
}

// testApp is a host app with a fixed clock and a captured log.
type testApp struct {
	*App
	clock *clock
	log   *syncbuf.Buffer
}

func newTestApp(t testing.TB, edit func(*Config)) *testApp {
	t.Helper()
	cfg := testConfig()
	c := &clock{t: time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)}
	buf := &syncbuf.Buffer{}
	cfg.Now = c.Now
	cfg.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if edit != nil {
		edit(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testApp{App: a, clock: c, log: buf}
}

// browser keeps cookies between requests to a handler, like a browser on one host, without following redirects.
type browser struct {
	t    testing.TB
	h    http.Handler
	ip   string
	jar  map[string]*http.Cookie
	last string // body of the last response

	header http.Header // added to every request, e.g. Origin or Sec-Fetch-Site
}

func newBrowser(t testing.TB, h http.Handler) *browser {
	return &browser{t: t, h: h, ip: "192.0.2.10", jar: map[string]*http.Cookie{}}
}

func (b *browser) do(method, target string, form url.Values) *http.Response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	r.RemoteAddr = b.ip + ":51234"
	r.Host = testHost
	if b.header != nil {
		for k, v := range b.header {
			r.Header[k] = v
		}
	}
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range b.jar {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, r)
	resp := w.Result()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c
		}
	}
	raw, _ := io.ReadAll(resp.Body)
	b.last = string(raw)
	return resp
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token of the form on the last page.
func (b *browser) csrf() string {
	b.t.Helper()
	m := csrfField.FindStringSubmatch(b.last)
	if m == nil {
		b.t.Fatalf("no CSRF field on the page:\n%s", b.last)
	}
	return m[1]
}

// login signs in through the form, as a person would, and returns the POST's response.
func (b *browser) login(email, password string) *http.Response {
	b.t.Helper()
	if resp := b.do("GET", "/login", nil); resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET /login = %d", resp.StatusCode)
	}
	return b.do("POST", "/login", url.Values{"csrf": {b.csrf()}, "email": {email}, "password": {password}})
}

// mustLogin signs in and fails the test unless it worked.
func (b *browser) mustLogin(email, password string) {
	b.t.Helper()
	if resp := b.login(email, password); resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("login %s = %d, want 303:\n%s", email, resp.StatusCode, b.last)
	}
}

// post sends a form from the page at page, with that page's CSRF token.
func (b *browser) post(page, action string, form url.Values) *http.Response {
	b.t.Helper()
	if resp := b.do("GET", page, nil); resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s = %d", page, resp.StatusCode)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf())
	return b.do("POST", action, form)
}

func (b *browser) session() string {
	if c := b.jar[SessionCookie]; c != nil {
		return c.Value
	}
	return ""
}
