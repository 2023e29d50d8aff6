package hostapp

import (
	"net/http"
	"net/http/httptest"
	"testing"
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
