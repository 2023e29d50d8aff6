package hostapp

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"testing"
	"time"
)

// BenchmarkSSORedirect is the /sso/metabase hot path through ServeHTTP with a signed-in session: session
// lookup, return_to check, signing, redirect.
func BenchmarkSSORedirect(b *testing.B) {
	for _, bc := range []struct{ name, target string }{
		{"default", "/sso/metabase"},
		{"return_to", "/sso/metabase?return_to=%2Fdashboard%2F2%3Ftab%3D5-overview"},
		{"return_to from Metabase", "/sso/metabase?return_to=/dashboard/2?tab=5-overview&logo=false&top_nav=false"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			app := newTestApp(b, nil)
			br := newBrowser(b, app)
			br.mustLogin(acmeEmail, acmePass)
			cookie := &http.Cookie{Name: SessionCookie, Value: br.session()}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := httptest.NewRequest("GET", bc.target, nil)
					r.Host = testHost
					r.AddCookie(cookie)
					w := httptest.NewRecorder()
					app.ServeHTTP(w, r)
					if w.Code != http.StatusFound {
						b.Errorf("GET %s = %d, want 302", bc.target, w.Code) // Fatal is not allowed in RunParallel
						return
					}
				}
			})
		})
	}
}

// BenchmarkSignInFlood is the flood that once grew the host app from 18 MB to 556 MB: 60,000 sign-ins
// through the login form, each followed by /analytics (which caches a rendered page in the session), with
// the rate limits lifted so that every one gets through. It reports the live heap after the flood, and
// the sessions kept, which the cap bounds. Run: go test -run - -bench SignInFlood -benchtime 1x ./hostapp/
func BenchmarkSignInFlood(b *testing.B) {
	const signIns = 60000
	for _, capped := range []bool{true, false} {
		name := "capped"
		if !capped {
			name = "uncapped, for comparison"
		}
		b.Run(name, func(b *testing.B) { signInFlood(b, signIns, capped) })
	}
}

func signInFlood(b *testing.B, signIns int, capped bool) {
	for b.Loop() {
		app := newTestApp(b, func(c *Config) { c.Logger = slog.New(slog.DiscardHandler) }) // a log buffer would count
		if !capped {
			app.sessions.max = 1 << 30
		}
		app.logins = newLimiter(app.clock.Now, 1<<30, time.Nanosecond)
		app.allLogins = newLimiter(app.clock.Now, 1<<30, time.Nanosecond)
		before := liveHeap()
		br := newBrowser(b, app)
		br.do("GET", "/login", nil)
		tok := br.csrf()
		for i := range signIns {
			resp := br.do("POST", "/login", url.Values{"csrf": {tok}, "email": {acmeEmail}, "password": {acmePass}})
			if resp.StatusCode != http.StatusSeeOther {
				b.Fatalf("sign-in %d = %d", i, resp.StatusCode)
			}
			// The browser forgets its session, as a flood of fresh clients would: none is rotated out.
			delete(br.jar, SessionCookie)
			if i%4 == 0 {
				br.jar[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: resp.Cookies()[0].Value}
				br.do("GET", "/analytics", nil)
				delete(br.jar, SessionCookie)
			}
		}
		after := liveHeap()
		b.ReportMetric(float64(after)/(1<<20), "heap-MiB-after")
		b.ReportMetric(float64(after-before)/(1<<20), "heap-MiB-growth")
		b.ReportMetric(float64(app.sessions.len()), "sessions-kept")
		runtime.KeepAlive(app)
	}
}

// liveHeap is the heap in use after a full collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
