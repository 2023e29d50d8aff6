package hostapp

// The attack suite: what an attacker on the network, or a hostile web page in the user's browser, tries
// against the host app, and what they must get instead. Each refusal is its own test.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// liveServer serves app on a loopback port with opts (shortened timeouts) until the test ends.
func liveServer(t *testing.T, app *App, opts serveOptions) (addr string, cl *connLimiter) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	limited := make(chan *connLimiter, 1)
	go func() { done <- app.serveWith(ctx, ln, opts, func(c *connLimiter) { limited <- c }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), <-limited
}

func shortOptions() serveOptions {
	return serveOptions{readHeader: 300 * time.Millisecond, read: 600 * time.Millisecond, write: 2 * time.Second,
		idle: 400 * time.Millisecond, stale: 300 * time.Millisecond, limits: ConnLimits{PerClient: 64, Total: 128}}
}

// dialFrom connects to addr from the loopback address from (127.0.0.x: every one of them is this machine).
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reports whether the server closes c (a read ends) within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// get sends one keep-alive GET on c and reads the status; the connection stays open.
func get(t *testing.T, c net.Conn, r *bufio.Reader, path string) int {
	t.Helper()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestServerSettings(t *testing.T) {
	srv := newTestApp(t, nil).Server()
	for name, got := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if got <= 0 || got > time.Minute {
			t.Errorf("%s = %s, want set and at most a minute", name, got)
		}
	}
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 64<<10 {
		t.Errorf("MaxHeaderBytes = %d, want set and at most 64 KiB", srv.MaxHeaderBytes)
	}
	if l := DefaultConnLimits(); l.PerClient <= 0 || l.Total < l.PerClient {
		t.Errorf("DefaultConnLimits = %+v", l)
	}
}

// TestTimeouts: connections that send nothing, trickle a body, or sit idle are closed by the server.
func TestTimeouts(t *testing.T) {
	addr, _ := liveServer(t, newTestApp(t, nil).App, shortOptions())
	tests := []struct {
		name string
		send func(c net.Conn, r *bufio.Reader)
	}{
		{"silent connection (no request at all)", func(net.Conn, *bufio.Reader) {}},
		{"slowloris: headers never finish", func(c net.Conn, _ *bufio.Reader) {
			io.WriteString(c, "GET /login HTTP/1.1\r\nHost: localhost\r\nX-A: ")
		}},
		{"slow body: a POST that never ends", func(c net.Conn, _ *bufio.Reader) {
			io.WriteString(c, "POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nemail=")
		}},
		{"idle keep-alive after a request", func(c net.Conn, r *bufio.Reader) {
			if code := get(t, c, r, "/healthz"); code != http.StatusOK {
				t.Fatalf("GET /healthz = %d", code)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialFrom(t, "127.0.0.1", addr)
			tt.send(c, bufio.NewReader(c))
			if !closedWithin(c, 3*time.Second) {
				t.Fatal("the server kept the connection open past its timeouts")
			}
		})
	}
}

func TestHeaderTooLarge(t *testing.T) {
	addr, _ := liveServer(t, newTestApp(t, nil).App, shortOptions())
	c := dialFrom(t, "127.0.0.1", addr)
	r := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintf(c, "GET /login HTTP/1.1\r\nHost: localhost\r\nCookie: x=%s\r\n\r\n", strings.Repeat("a", MaxHeaderBytes+8<<10))
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a %d KiB header = %d, want 431", (MaxHeaderBytes+8<<10)>>10, resp.StatusCode)
	}
}

// TestIdleFloodDoesNotLockOut: 600 idle connections (the attack that locked everyone out under a 512-file
// limit) against a server limited to 128: the server holds at most its limit, and a real user, from
// another address or from the attacker's own, still gets in at once.
func TestIdleFloodDoesNotLockOut(t *testing.T) {
	opts := shortOptions()
	opts.idle, opts.readHeader, opts.read = time.Minute, time.Minute, time.Minute // the flood outlasts the test
	opts.limits = ConnLimits{PerClient: 64, Total: 128}
	addr, cl := liveServer(t, newTestApp(t, nil).App, opts)

	var flood []net.Conn
	for i := range 600 {
		c := dialFrom(t, fmt.Sprintf("127.0.0.%d", 2+i%4), addr) // 4 attacker addresses
		if i%2 == 0 {                                            // half idle after a request, half never sending one
			// The flood's own connections may be shed as soon as they are made: that is the defence.
			c.SetDeadline(time.Now().Add(2 * time.Second))
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				resp.Body.Close()
			}
		}
		flood = append(flood, c)
	}
	time.Sleep(1100 * time.Millisecond) // the silent ones count as idle after a second
	if n := cl.open(); n > opts.limits.Total {
		t.Errorf("%d connections held, limit %d", n, opts.limits.Total)
	}
	for _, from := range []string{"127.0.0.9", "127.0.0.2"} {
		c := dialFrom(t, from, addr)
		if code := get(t, c, bufio.NewReader(c), "/login"); code != http.StatusOK {
			t.Errorf("a real user from %s during the flood: GET /login = %d, want 200", from, code)
		}
	}
	if cl.closed.Load() < 600-int64(opts.limits.Total) {
		t.Errorf("only %d connections shed; want at least %d", cl.closed.Load(), 600-opts.limits.Total)
	}
}

// TestSlowBodyFloodDoesNotLockOut: slow-body POSTs hold their connections busy, not idle; once they have
// run longer than any page takes, they give way to a new client too.
func TestSlowBodyFloodDoesNotLockOut(t *testing.T) {
	opts := shortOptions()
	opts.read = time.Minute // the flood outlasts the test unless shed
	opts.limits = ConnLimits{PerClient: 16, Total: 32}
	addr, cl := liveServer(t, newTestApp(t, nil).App, opts)
	for i := range 40 {
		c := dialFrom(t, fmt.Sprintf("127.0.0.%d", 2+i%4), addr)
		io.WriteString(c, "POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nemail=")
	}
	time.Sleep(2 * opts.stale)
	if n := cl.open(); n > opts.limits.Total {
		t.Errorf("%d connections held, limit %d", n, opts.limits.Total)
	}
	c := dialFrom(t, "127.0.0.9", addr)
	if code := get(t, c, bufio.NewReader(c), "/login"); code != http.StatusOK {
		t.Errorf("a real user during the slow-body flood: GET /login = %d, want 200", code)
	}
}

func TestPerClientLimit(t *testing.T) {
	opts := shortOptions()
	opts.idle = time.Minute
	opts.limits = ConnLimits{PerClient: 4, Total: 100}
	addr, cl := liveServer(t, newTestApp(t, nil).App, opts)
	var conns []net.Conn
	for range 10 {
		c := dialFrom(t, "127.0.0.5", addr)
		get(t, c, bufio.NewReader(c), "/healthz")
		conns = append(conns, c)
		// The server marks a connection idle just after it answers; on a loaded machine that can come
		// after the next connection's request. Let it settle, so that "oldest idle" is well defined.
		time.Sleep(20 * time.Millisecond)
	}
	if n := cl.open(); n > 4 {
		t.Errorf("one client holds %d connections, limit 4", n)
	}
	// The oldest gave way to the newest: the first six are closed, the last four answer.
	for i, c := range conns {
		open := !closedWithin(c, 50*time.Millisecond)
		if want := i >= 6; open != want {
			t.Errorf("connection %d open = %v, want %v", i+1, open, want)
		}
	}
}

func TestHostHeader(t *testing.T) {
	app := newTestApp(t, func(c *Config) { c.AllowedHosts = []string{"Demo.Example.com"} })
	tests := []struct {
		host string
		want int
	}{
		{"localhost:8080", http.StatusOK},
		{"localhost", http.StatusOK},
		{"LOCALHOST:8080", http.StatusOK},
		{"127.0.0.1:8080", http.StatusOK},
		{"[::1]:8080", http.StatusOK},
		{"hostapp.test:8080", http.StatusOK}, // HostAppURL's host, on any port
		{"hostapp.test.:8080", http.StatusOK},
		{"demo.example.com", http.StatusOK}, // AllowedHosts, compared without case
		{"evil.example", http.StatusMisdirectedRequest},
		{"evil.example:8080", http.StatusMisdirectedRequest}, // DNS rebinding: evil.example now resolves to 127.0.0.1
		{"localhost.evil.example", http.StatusMisdirectedRequest},
		{"127.0.0.1.nip.io:8080", http.StatusMisdirectedRequest},
		{"hostapp.test.evil.example", http.StatusMisdirectedRequest},
		{"127.0.0.2:8080", http.StatusMisdirectedRequest},
		{"", http.StatusMisdirectedRequest},
	}
	for _, tt := range tests {
		for _, path := range []string{"/login", "/healthz"} {
			t.Run(tt.host+path, func(t *testing.T) {
				r, _ := http.NewRequest("GET", path, nil)
				r.Host, r.RemoteAddr = tt.host, "127.0.0.1:5000"
				w := newRecorder()
				app.ServeHTTP(w, r)
				if w.Code != tt.want {
					t.Fatalf("Host %q: GET %s = %d, want %d", tt.host, path, w.Code, tt.want)
				}
				if tt.want == http.StatusMisdirectedRequest && (strings.Contains(w.Body.String(), "Sign in") || !strings.Contains(w.Body.String(), "localhost")) {
					t.Errorf("421 body should name the accepted hosts and nothing of the app:\n%s", w.Body)
				}
			})
		}
	}
}

func TestBadHostConfig(t *testing.T) {
	for _, edit := range []func(*Config){
		func(c *Config) { c.HostAppURL = "localhost:8080" },
		func(c *Config) { c.HostAppURL = "ftp://x" },
		func(c *Config) { c.AllowedHosts = []string{"http://x.example"} },
		func(c *Config) { c.AllowedHosts = []string{""} },
	} {
		cfg := testConfig()
		edit(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "e.g.") {
			t.Errorf("New(%q, %q) = %v, want an error with an example", cfg.HostAppURL, cfg.AllowedHosts, err)
		}
	}
}

// TestSessionStoreIsBounded: 60,000 sign-ins keep at most MaxSessions, the oldest leave first, and expired
// sessions leave on the next sign-in.
func TestSessionStoreIsBounded(t *testing.T) {
	app := newTestApp(t, nil)
	u := app.s.members[acmeEmail]
	first := app.sessions.create(u, "")
	var last *session
	for range 60000 {
		last = app.sessions.create(u, "")
	}
	if n := app.sessions.len(); n != MaxSessions {
		t.Errorf("%d sessions after 60,000 sign-ins, want the cap %d", n, MaxSessions)
	}
	if n := app.sessions.age.Len(); n != MaxSessions {
		t.Errorf("the age list holds %d, want %d", n, MaxSessions)
	}
	if has(app, first.id) || !has(app, last.id) {
		t.Errorf("oldest kept = %v, newest kept = %v; want false, true", has(app, first.id), has(app, last.id))
	}
	app.clock.advance(SessionTTL)
	fresh := app.sessions.create(u, "")
	if n := app.sessions.len(); n != 1 || !has(app, fresh.id) {
		t.Errorf("%d sessions after every other one expired, want only the new one", n)
	}
}

func has(app *testApp, id string) bool {
	r, _ := http.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: id})
	_, ok := app.sessions.get(r)
	return ok
}

// TestLoginGuessFlood: 1,000 guesses in 1.2 s from 100 loopback addresses (10 each, inside every per-IP
// limit) get at most the global burst plus its refill checked; the rest are 429.
func TestLoginGuessFlood(t *testing.T) {
	app := newTestApp(t, nil)
	checked, limited := 0, 0
	var clients []*browser
	for i := range 100 {
		b := newBrowser(t, app)
		b.ip = fmt.Sprintf("127.0.%d.%d", i/250, 1+i%250)
		b.do("GET", "/login", nil)
		clients = append(clients, b)
	}
	step := 1200 * time.Millisecond / 1000
	for i := range 1000 {
		b := clients[i%100]
		tok := csrfField.FindStringSubmatch(b.last)
		resp := b.do("POST", "/login", url.Values{"csrf": {tok[1]}, "email": {acmeEmail}, "password": {fmt.Sprintf("guess-%d", i)}})
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
			limited++
			b.do("GET", "/login", nil) // the next guess needs a form again
		default:
			t.Fatalf("guess %d = %d", i, resp.StatusCode)
		}
		app.clock.advance(step)
	}
	if want := LoginGlobalBurst + int(1200*time.Millisecond/LoginGlobalRefill); checked > want {
		t.Errorf("%d of 1,000 guesses had their password checked, want at most %d", checked, want)
	}
	if checked+limited != 1000 || limited == 0 {
		t.Errorf("checked %d, limited %d", checked, limited)
	}
	if !strings.Contains(app.log.String(), "sign-in rate limit") {
		t.Error("the refusals were not logged")
	}
}

// TestCrossSitePostsDoNotLockOut: a hostile page makes the user's browser post the login form 1,000 times
// without a token (it cannot read one); none counts, and the user then signs in at once.
func TestCrossSitePostsDoNotLockOut(t *testing.T) {
	app := newTestApp(t, nil)
	victim := newBrowser(t, app)
	victim.do("GET", "/login", nil) // the victim's browser has a login cookie
	for i := range 1000 {
		form := url.Values{"email": {acmeEmail}, "password": {"x"}}
		if i%2 == 1 {
			victim.header = http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}
		}
		if resp := victim.do("POST", "/login", form); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("token-less POST %d = %d, want 403", i, resp.StatusCode)
		}
		victim.header = nil
	}
	victim.mustLogin(acmeEmail, acmePass)
}

// TestCrossOriginPostRefused: even with a valid token (another app on localhost can plant a login cookie
// and learn its token), a browser's cross-origin POST is refused.
func TestCrossOriginPostRefused(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   int
	}{
		{"same origin", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {"http://" + testHost}}, http.StatusSeeOther},
		{"no browser headers (curl)", nil, http.StatusSeeOther},
		{"cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"same-site, another port", http.Header{"Sec-Fetch-Site": {"same-site"}}, http.StatusForbidden},
		{"foreign Origin, no Sec-Fetch-Site", http.Header{"Origin": {"http://evil.example"}}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, newTestApp(t, nil))
			b.do("GET", "/login", nil)
			b.header = tt.header
			resp := b.do("POST", "/login", url.Values{"csrf": {b.csrf()}, "email": {acmeEmail}, "password": {acmePass}})
			if resp.StatusCode != tt.want {
				t.Fatalf("POST /login = %d, want %d\n%s", resp.StatusCode, tt.want, b.last)
			}
		})
	}
}

// TestPlantedLoginCookie: a login cookie the host app did not issue is replaced, and a token computed
// for it does not exist: the attacker cannot prepare a form for the victim's browser.
func TestPlantedLoginCookie(t *testing.T) {
	app := newTestApp(t, nil)
	for _, planted := range []string{strings.Repeat("a", 32), randomID(), randomID() + ".forged"} {
		b := newBrowser(t, app)
		b.jar[loginCookie] = &http.Cookie{Name: loginCookie, Value: planted}
		b.do("GET", "/login", nil)
		if got := b.jar[loginCookie].Value; got == planted {
			t.Errorf("planted login cookie %q was adopted", planted)
		}
		tok := b.csrf()
		b.jar[loginCookie] = &http.Cookie{Name: loginCookie, Value: planted}
		if resp := b.do("POST", "/login", url.Values{"csrf": {tok}, "email": {acmeEmail}, "password": {acmePass}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("sign-in with planted login cookie %q = %d, want 403", planted, resp.StatusCode)
		}
	}
}

// TestPlantedSessionCookie: a session id the host app did not issue opens nothing, and sign-in replaces it.
func TestPlantedSessionCookie(t *testing.T) {
	app := newTestApp(t, nil)
	for _, planted := range []string{"fixated-by-attacker", randomID(), strings.Repeat("0", 32)} {
		b := newBrowser(t, app)
		b.jar[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: planted}
		if resp := b.do("GET", "/analytics", nil); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("planted session %q opened /analytics: %d", planted, resp.StatusCode)
		}
		b.mustLogin(acmeEmail, acmePass)
		if b.session() == planted {
			t.Errorf("planted session %q became the session", planted)
		}
	}
}

func TestStaticBadPaths(t *testing.T) {
	b := newBrowser(t, newTestApp(t, nil))
	for _, p := range []string{"/static/%ff.css", "/static/%c0%ae%c0%ae/app.go", "/static/..%2flayout.html", "/static/x.css",
		"/static/hostapp.css%00", "/static/login.html", "/static/", "/static/%2e%2e%2fhostapp.css"} {
		if resp := b.do("GET", p, nil); resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMovedPermanently {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
}

// TestDemoModeGating: without Demo the login page shows no passwords and no demo users, the analytics
// page has no switcher, and /switch does not exist.
func TestDemoModeGating(t *testing.T) {
	for _, demo := range []bool{true, false} {
		t.Run(fmt.Sprint("demo=", demo), func(t *testing.T) {
			app := newTestApp(t, func(c *Config) { c.Demo = demo })
			b := newBrowser(t, app)
			b.do("GET", "/login", nil)
			if got := strings.Contains(b.last, acmePass) || strings.Contains(b.last, globexPass); got != demo {
				t.Errorf("passwords on /login = %v, want %v", got, demo)
			}
			if got := strings.Contains(b.last, `data-testid="demo-users"`); got != demo {
				t.Errorf("demo users on /login = %v, want %v", got, demo)
			}
			b.mustLogin(acmeEmail, acmePass)
			b.do("GET", "/analytics", nil)
			if got := strings.Contains(b.last, `action="/switch"`); got != demo {
				t.Errorf("tenant switcher on /analytics = %v, want %v", got, demo)
			}
			tok := b.csrf()
			resp := b.do("POST", "/switch", url.Values{"csrf": {tok}, "email": {globexMail}})
			if want := map[bool]int{true: http.StatusSeeOther, false: http.StatusNotFound}[demo]; resp.StatusCode != want {
				t.Errorf("POST /switch = %d, want %d", resp.StatusCode, want)
			}
			if !demo {
				b.do("GET", "/analytics", nil)
				if !strings.Contains(b.last, acmeEmail) {
					t.Error("without demo mode the switch changed the user")
				}
			}
		})
	}
}

func TestConfigFromEnvIsNotDemo(t *testing.T) {
	env := map[string]string{EnvJWTSecret: testSecret, EnvSiteURL: testSite, EnvDemoPassword: "pw-123456"}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Demo {
		t.Error("ConfigFromEnv turned demo mode on; `host` from the guide's variables must have neither demo passwords nor the switcher")
	}
}

// TestDemoRefusesNonLoopback: demo mode on an address other machines reach is refused with a clear error.
func TestDemoRefusesNonLoopback(t *testing.T) {
	tests := []struct {
		addr    string
		demo    bool
		refused bool
	}{
		{"127.0.0.1:0", true, false},
		{"0.0.0.0:0", true, true},
		{"0.0.0.0:0", false, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.addr, " demo=", tt.demo), func(t *testing.T) {
			app := newTestApp(t, func(c *Config) { c.Demo = tt.demo })
			ln, err := net.Listen("tcp", tt.addr)
			if err != nil {
				t.Skipf("listen %s: %v", tt.addr, err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			err = app.Serve(ctx, ln)
			if got := errors.Is(err, ErrDemoNotLoopback); got != tt.refused {
				t.Fatalf("Serve on %s = %v, refused = %v, want %v", tt.addr, err, got, tt.refused)
			}
			if tt.refused && !strings.Contains(err.Error(), "listen on 127.0.0.1") {
				t.Errorf("the refusal does not say what to do: %v", err)
			}
			if !tt.refused && err != nil {
				t.Errorf("Serve = %v, want nil after its context ended", err)
			}
		})
	}
}

func TestDemoRefusesNonLoopbackHostAppURL(t *testing.T) {
	for _, tt := range []struct {
		url     string
		demo    bool
		refused bool
	}{
		{"http://192.168.1.20:8080", true, true},
		{"http://[2001:db8::1]:8080", true, true},
		{"http://192.168.1.20:8080", false, false},
		{"http://127.0.0.1:8080", true, false},
		{"http://localhost:8080", true, false},
	} {
		cfg := testConfig()
		cfg.HostAppURL, cfg.Demo = tt.url, tt.demo
		_, err := New(cfg)
		if got := errors.Is(err, ErrDemoNotLoopback); got != tt.refused {
			t.Errorf("New(HostAppURL %s, Demo %v) = %v, want refused %v", tt.url, tt.demo, err, tt.refused)
		}
	}
}

func TestUnverifiedBanner(t *testing.T) {
	for _, unverified := range []bool{false, true} {
		app := newTestApp(t, func(c *Config) { c.Unverified, c.UnverifiedDetail = unverified, "The Invoices sandbox is missing." })
		b := newBrowser(t, app)
		pages := map[string]func(){
			"/login":     func() { b.do("GET", "/login", nil) },
			"/analytics": func() { b.mustLogin(acmeEmail, acmePass); b.do("GET", "/analytics", nil) },
			"message":    func() { b.do("GET", "/sso/metabase?return_to=//evil.example", nil) },
			"signed out": func() { b.post("/analytics", "/logout", nil) },
		}
		for _, name := range []string{"/login", "/analytics", "message", "signed out"} {
			pages[name]()
			got := strings.Contains(b.last, `data-testid="unverified-banner"`) && strings.Contains(b.last, "The Invoices sandbox is missing.")
			if got != unverified {
				t.Errorf("Unverified=%v: banner on %s = %v", unverified, name, got)
			}
		}
	}
}

// TestConcurrentSignInsAndFlood runs sign-ins, lookups and evictions at once, for the race detector.
func TestConcurrentSignInsAndFlood(t *testing.T) {
	app := newTestApp(t, nil)
	app.sessions.max = 50
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			b := newBrowser(t, app)
			b.ip = fmt.Sprintf("198.51.100.%d", i+1)
			for range 5 {
				b.mustLogin(acmeEmail, acmePass)
				b.do("GET", "/sso/metabase", nil)
			}
		})
		wg.Go(func() {
			for range 200 {
				app.sessions.create(app.s.members[globexMail], "")
			}
		})
	}
	wg.Wait()
	if n := app.sessions.len(); n > 50 {
		t.Errorf("%d sessions, cap 50", n)
	}
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
