package hostapp_test

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/hostapp"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
)

// TestIdentityProviderRoundTrip: when Metabase's session inside the iframe has expired, its /auth/sso
// (reached without a jwt) sends the browser to the identity provider URI, the host app's /sso/metabase,
// with the redirect appended unencoded (issue 13). The host app must hand Metabase back every UI option.
func TestIdentityProviderRoundTrip(t *testing.T) {
	acme := hostapp.Tenant{Name: "Customer-Acme", AccountID: 28, Users: []hostapp.User{
		{Email: "rene@acme.example", FirstName: "Rene", LastName: "Mueller", Password: "acme-" + randomHex(6)}}}
	mb := metabasetest.NewServer(metabasetest.Options{})
	t.Cleanup(mb.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hostURL := "http://localhost:" + portOf(ln.Addr())
	secret, dashPath, _ := configureEmulator(t, mb.URL, hostURL, []hostapp.Tenant{acme})
	app, err := hostapp.New(hostapp.Config{MetabaseSiteURL: mb.URL, JWTSecret: secret, DashboardPath: dashPath,
		Tenants: []hostapp.Tenant{acme}, HostAppURL: hostURL})
	if err != nil {
		t.Fatal(err)
	}
	host := httptest.NewUnstartedServer(app)
	host.Listener.Close()
	host.Listener = ln
	host.Start()
	t.Cleanup(host.Close)

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signInOver(t, client, hostURL, acme.Users[0])

	for _, tt := range []struct{ redirect, want string }{
		{dashPath + "?logo=false&top_nav=false", dashPath + "?logo=false&top_nav=false"},
		{dashPath + "?tab=2&logo=false&top_nav=false&search=true", dashPath + "?tab=2&logo=false&top_nav=false&search=true"},
		{"/question/5?top_nav=true", "/question/5?top_nav=true&logo=false"}, // the user's choice stays; the missing one is added
		{"/search?q=invoices+2024&logo=false", "/search?q=invoices+2024&logo=false&top_nav=false"},
	} {
		want := tt.want
		t.Run(tt.redirect, func(t *testing.T) {
			resp, err := client.Get(mb.URL + "/auth/sso?redirect=" + url.QueryEscape(tt.redirect))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			idp := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(idp, hostURL+"/sso/metabase?return_to=") {
				t.Fatalf("Metabase's /auth/sso without a jwt = %d to %q, want 302 to the identity provider", resp.StatusCode, idp)
			}
			resp, err = client.Get(idp)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			back, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || resp.StatusCode != http.StatusFound {
				t.Fatalf("GET %s = %d to %q, want 302 to Metabase", idp, resp.StatusCode, resp.Header.Get("Location"))
			}
			if got := back.Query().Get("return_to"); got != want {
				t.Errorf("the host app sent Metabase return_to=%q, want %q (every UI option kept)", got, want)
			}
		})
	}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signInOver signs u in through the login form over HTTP.
func signInOver(t *testing.T, client *http.Client, base string, u hostapp.User) {
	t.Helper()
	resp, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfInput.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-in form:\n%s", page)
	}
	resp, err = client.PostForm(base+"/login", url.Values{"csrf": {string(m[1])}, "email": {u.Email}, "password": {u.Password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in = %d, want 303", resp.StatusCode)
	}
}
