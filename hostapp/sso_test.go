package hostapp

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwtFrom returns the jwt parameter of a redirect to Metabase's /auth/sso.
func jwtFrom(t testing.TB, location string) string {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil || u.Scheme+"://"+u.Host != testSite || u.Path != "/auth/sso" {
		t.Fatalf("redirect %q is not to %s/auth/sso", location, testSite)
	}
	token := u.Query().Get("jwt")
	if token == "" {
		t.Fatalf("redirect %q has no jwt", location)
	}
	return token
}

func TestSSOClaims(t *testing.T) {
	tests := []struct {
		email, password string
		want            jwt.MapClaims
	}{
		{acmeEmail, acmePass, jwt.MapClaims{
			"email": acmeEmail, "first_name": "Rene", "last_name": "Mueller",
			"groups": []any{"Customer-Acme"}, "account_id": "28",
		}},
		{globexMail, globexPass, jwt.MapClaims{
			"email": globexMail, "first_name": "Hank", "last_name": "Scorpio",
			"groups": []any{"Customer-Globex"}, "account_id": "42",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			app := newTestApp(t, nil)
			b := newBrowser(t, app)
			b.mustLogin(tt.email, tt.password)
			now := app.clock.Now()

			resp := b.do("GET", "/sso/metabase", nil)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("GET /sso/metabase = %d", resp.StatusCode)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Error("a redirect holding a token may be cached")
			}
			raw := jwtFrom(t, resp.Header.Get("Location"))
			claims := jwt.MapClaims{}
			tok, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return []byte(testSecret), nil },
				jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(app.clock.Now), jwt.WithIssuedAt(), jwt.WithExpirationRequired())
			if err != nil {
				t.Fatalf("token does not verify with the shared secret: %v", err)
			}
			if tok.Header["alg"] != "HS256" {
				t.Errorf("alg = %v, want HS256", tok.Header["alg"])
			}
			want := jwt.MapClaims{"iat": float64(now.Unix()), "exp": float64(now.Add(10 * time.Minute).Unix())}
			for k, v := range tt.want {
				want[k] = v
			}
			if !reflect.DeepEqual(claims, want) {
				t.Errorf("claims = %#v\nwant     %#v", claims, want)
			}
			if _, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return []byte("another secret"), nil }); err == nil {
				t.Error("token verifies with another secret")
			}

			// Signed at each redirect: a second one a second later is a new token with a new iat.
			app.clock.advance(time.Second)
			again := jwtFrom(t, b.do("GET", "/sso/metabase", nil).Header.Get("Location"))
			if again == raw {
				t.Error("the token was reused")
			}
		})
	}
}

func TestSSOReturnTo(t *testing.T) {
	app := newTestApp(t, nil)
	b := newBrowser(t, app)
	b.mustLogin(acmeEmail, acmePass)
	for _, tt := range goodReturnTo {
		t.Run("good "+tt.in, func(t *testing.T) {
			target := "/sso/metabase"
			if tt.in != "" {
				target += "?return_to=" + url.QueryEscape(tt.in)
			}
			resp := b.do("GET", target, nil)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("GET %s = %d, want 302:\n%s", target, resp.StatusCode, b.last)
			}
			loc := resp.Header.Get("Location")
			jwtFrom(t, loc)
			if !strings.Contains(loc, "&return_to="+url.QueryEscape(tt.want)) {
				t.Errorf("Location %q does not carry return_to=%q, URL-encoded", loc, tt.want)
			}
		})
	}

	// As Metabase's /auth/sso sends it to the identity provider when it has no jwt: unencoded (issue 13).
	for _, tt := range goodReturnTo {
		if tt.in == "" || strings.Contains(tt.in, "#") { // a browser never sends a fragment
			continue
		}
		t.Run("from Metabase "+tt.in, func(t *testing.T) {
			resp := b.do("GET", "/sso/metabase?return_to="+tt.in, nil)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("GET /sso/metabase?return_to=%s = %d, want 302:\n%s", tt.in, resp.StatusCode, b.last)
			}
			if loc := resp.Header.Get("Location"); !strings.Contains(loc, "&return_to="+url.QueryEscape(tt.want)) {
				t.Errorf("Location %q does not carry return_to=%q", loc, tt.want)
			}
		})
	}

	for _, in := range hostileReturnTo {
		t.Run("hostile "+in, func(t *testing.T) {
			resp := b.do("GET", "/sso/metabase?return_to="+url.QueryEscape(in), nil)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("return_to=%q = %d (Location %q), want 400", in, resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.Contains(b.last, "That return_to is not allowed") || !strings.Contains(b.last, "/dashboard/1") {
				t.Errorf("400 page does not explain:\n%s", b.last)
			}
		})
	}
}

func TestSSOUIOptions(t *testing.T) {
	tests := []struct {
		name    string
		options map[string]string
		want    string
	}{
		{"default", nil, "/dashboard/1?logo=false&top_nav=false"},
		{"none", map[string]string{}, "/dashboard/1"},
		{"custom, sorted", map[string]string{"top_nav": "true", "search": "true", "locale": "es"}, "/dashboard/1?locale=es&search=true&top_nav=true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, newTestApp(t, func(c *Config) { c.UIOptions = tt.options }))
			b.mustLogin(acmeEmail, acmePass)
			loc := b.do("GET", "/sso/metabase", nil).Header.Get("Location")
			u, _ := url.Parse(loc)
			if got := u.Query().Get("return_to"); got != tt.want {
				t.Errorf("return_to = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSSOSitePathPrefix(t *testing.T) {
	b := newBrowser(t, newTestApp(t, func(c *Config) { c.MetabaseSiteURL = "https://bi.example.com/metabase/" }))
	b.mustLogin(acmeEmail, acmePass)
	loc := b.do("GET", "/sso/metabase", nil).Header.Get("Location")
	if !strings.HasPrefix(loc, "https://bi.example.com/metabase/auth/sso?jwt=") {
		t.Errorf("Location = %q, want Metabase's /auth/sso under its path", loc)
	}
}
