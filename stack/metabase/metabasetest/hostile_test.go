package metabasetest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// t0 is the hostile tests' clock, so JWT time rules are exact.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return t0 }

// ssoPath is GET /auth/sso for a token and a return_to value.
func ssoPath(token, returnTo string) string {
	return "/auth/sso?jwt=" + url.QueryEscape(token) + "&return_to=" + url.QueryEscape(returnTo)
}

// claims are a valid tenant's claims at t0, changed by edit.
func claims(edit func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{"email": "tenant@example.com", "first_name": "T", "last_name": "User", "account_id": 28,
		"groups": []string{"Customer-Acme"}, "iat": t0.Unix(), "exp": t0.Add(time.Minute).Unix()}
	if edit != nil {
		edit(c)
	}
	return c
}

// rawJWT builds a token with any header, HMAC-SHA256-signed with key, to test algorithm checks.
func rawJWT(header, payload, key string) string {
	enc := base64.RawURLEncoding.EncodeToString
	msg := enc([]byte(header)) + "." + enc([]byte(payload))
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(msg))
	return msg + "." + enc(mac.Sum(nil))
}

type hostileCase struct {
	name string
	// env: guide (configured quick start), fresh (no user), unlicensed (admin, no token), booting, nosso
	// (JWT configured from env but the license lacks sso_jwt).
	env string
	// as: admin, anon, tenant (JWT user in Customer Acme), outsider (JWT user in no group).
	as     string
	method string
	path   func(g *guide) string
	body   func(g *guide) any
	status int
	text   string            // exact plain-text body
	prefix string            // plain-text body prefix
	json   map[string]string // dotted path -> exact value in a JSON body
	after  func(t *testing.T, g *guide)
}

func at(p string) func(*guide) string { return func(*guide) string { return p } }

func body(v any) func(*guide) any { return func(*guide) any { return v } }

func TestHostileRequests(t *testing.T) {
	gtap := func(table func(g *guide) int) func(g *guide) any {
		return func(g *guide) any {
			return map[string]any{"group_id": g.group, "table_id": table(g), "card_id": nil,
				"attribute_remappings": map[string]any{"account_id": []any{"dimension", []any{"field", g.accountID, nil}}}}
		}
	}
	token := func(c jwt.MapClaims) func(*guide) string {
		return func(*guide) string { return ssoPath(signJWTKey(c, testJWTSecret, jwt.SigningMethodHS256), "/") }
	}
	redirect := func(to string) func(*guide) string {
		return func(*guide) string {
			return ssoPath(signJWTKey(claims(nil), testJWTSecret, jwt.SigningMethodHS256), to)
		}
	}
	// setupGuide already moved both graphs past revision 0.
	stale := body(map[string]any{"revision": 0, "groups": map[string]any{"1": map[string]any{}}})
	cases := []hostileCase{
		{name: "wrong password", env: "guide", as: "anon", method: "POST", path: at("/api/session"),
			body:   body(map[string]any{"username": "admin@example.com", "password": "wrong-passw0rd"}),
			status: 401, json: map[string]string{"errors.password": "did not match stored password"}},
		{name: "unknown user", env: "guide", as: "anon", method: "POST", path: at("/api/session"),
			body:   body(map[string]any{"username": "nobody@example.com", "password": testPassword}),
			status: 401, json: map[string]string{"errors.password": "did not match stored password"}},
		{name: "missing session", env: "guide", as: "anon", method: "GET", path: at("/api/user/current"),
			status: 401, text: "Unauthenticated"},
		{name: "non-admin reads the data graph", env: "guide", as: "tenant", method: "GET", path: at("/api/permissions/graph"),
			status: 403, text: "You don't have permissions to do that."},
		{name: "non-admin writes a setting", env: "guide", as: "tenant", method: "PUT", path: at("/api/setting/jwt-enabled"),
			body: body(map[string]any{"value": false}), status: 403, text: "You don't have permissions to do that."},
		{name: "non-admin creates a group", env: "guide", as: "tenant", method: "POST", path: at("/api/permissions/group"),
			body: body(map[string]any{"name": "Mine"}), status: 403, text: "You don't have permissions to do that."},
		{name: "non-admin lists sandboxes", env: "guide", as: "tenant", method: "GET", path: at("/api/mt/gtap"),
			status: 403, text: "You don't have permissions to do that."},
		{name: "non-admin reads another user", env: "guide", as: "tenant", method: "GET", path: at("/api/user/1"),
			status: 403, text: "You don't have permissions to do that."},
		{name: "unknown setting read", env: "guide", as: "admin", method: "GET", path: at("/api/setting/foo"),
			status: 500, json: map[string]string{"message": "Unknown setting: :foo"}},
		{name: "unknown setting write", env: "guide", as: "admin", method: "PUT", path: at("/api/setting/foo"),
			body: body(map[string]any{"value": 1}), status: 500, json: map[string]string{"message": "Unknown setting: :foo"}},
		{name: "extra key in setting body", env: "guide", as: "admin", method: "PUT", path: at("/api/setting/site-name"),
			body: body(map[string]any{"value": "X", "key": "site-name"}), status: 400, json: map[string]string{"errors.key": "disallowed key"},
			after: settingIs("site-name", "Embedwizard")},
		{name: "bad SameSite", env: "guide", as: "admin", method: "PUT", path: at("/api/setting/session-cookie-samesite"),
			body: body(map[string]any{"value": "sometimes"}), status: 400,
			json: map[string]string{"message": "Invalid value for session cookie samesite"}},
		{name: "group mapping to id 0", env: "guide", as: "admin", method: "PUT", path: at("/api/setting/jwt-group-mappings"),
			body: body(map[string]any{"value": map[string]any{"Customer-Acme": []int{0}}}), status: 400,
			prefix: `{"errors":{"jwt-group-mappings"`},
		{name: "group mapping to a string", env: "guide", as: "admin", method: "PUT", path: at("/api/setting/jwt-group-mappings"),
			body: body(map[string]any{"value": map[string]any{"Customer-Acme": "5"}}), status: 400,
			prefix: `{"errors":{"jwt-group-mappings"`},
		{name: "upper-case license token", env: "unlicensed", as: "admin", method: "PUT", path: at("/api/setting/premium-embedding-token"),
			body: body(map[string]any{"value": strings.ToUpper(TestLicenseToken)}), status: 400,
			json: map[string]string{"message": "Token format is invalid.", "error-details": "Token should be 64 hexadecimal characters."}},
		{name: "license refused by the token check", env: "unlicensed", as: "admin", method: "PUT", path: at("/api/setting/premium-embedding-token"),
			body: body(map[string]any{"value": strings.Repeat("ab", 32)}), status: 400, json: map[string]string{"message": "Invalid token"}},
		{name: "gated setting without license", env: "unlicensed", as: "admin", method: "PUT", path: at("/api/setting/jwt-enabled"),
			body: body(map[string]any{"value": true}), status: 500,
			text: "Setting jwt-enabled is not enabled because feature :sso-jwt is not available"},
		{name: "bulk settings are all or nothing", env: "guide", as: "admin", method: "PUT", path: at("/api/setting"),
			body:   body(map[string]any{"site-name": "Changed", "session-cookie-samesite": "sometimes"}),
			status: 400, json: map[string]string{"message": "Invalid value for session cookie samesite"},
			after: settingIs("site-name", "Embedwizard")},
		{name: "stale permission graph", env: "guide", as: "admin", method: "PUT", path: at("/api/permissions/graph"),
			body: stale, status: 409,
			text: "Looks like someone else edited the permissions and your data is out of date. Please fetch new data and try again."},
		{name: "stale collection graph", env: "guide", as: "admin", method: "PUT", path: at("/api/collection/graph"),
			body: stale, status: 409,
			text: "Looks like someone else edited the permissions and your data is out of date. Please fetch new data and try again."},
		{name: "collection graph with an extra key", env: "guide", as: "admin", method: "PUT", path: at("/api/collection/graph?force=true"),
			body: body(map[string]any{"groups": map[string]any{}, "sandboxes": []any{}}), status: 400,
			json: map[string]string{"errors.sandboxes": "disallowed key"}},
		{name: "blocked with native queries", env: "guide", as: "admin", method: "PUT", path: at("/api/permissions/graph?force=true"),
			body: func(g *guide) any {
				return map[string]any{"groups": map[string]any{fmt.Sprint(g.group): map[string]any{"1": map[string]any{
					"view-data": "blocked", "create-queries": "query-builder-and-native"}}}}
			}, status: 400, prefix: "Cannot parse permissions graph because it is invalid: "},
		{name: "sandbox without license", env: "unlicensed", as: "admin", method: "GET", path: at("/api/mt/gtap"),
			status: 403, text: "Error: sandboxing is not enabled for this instance. Please check you have set a valid Enterprise token and try again."},
		{name: "graph sandboxes without license", env: "unlicensed", as: "admin", method: "PUT", path: at("/api/permissions/graph?force=true"),
			body: body(map[string]any{"groups": map[string]any{}, "sandboxes": []any{}}), status: 402,
			json: map[string]string{"status": "error-premium-feature-not-available"}},
		{name: "blocking without advanced_permissions", env: "unlicensed", as: "admin", method: "PUT", path: at("/api/permissions/graph?force=true"),
			body: body(map[string]any{"groups": map[string]any{"1": map[string]any{"1": map[string]any{"view-data": "blocked"}}}}), status: 402,
			text: "The blocked permissions functionality is only enabled if you have a premium token with the advanced-permissions feature."},
		// Options.Strict only: Metabase itself inserts the sandbox (gtap_test.clj deftest create-gtap-test).
		{name: "sandbox on a table that is not sandboxed", env: "strict", as: "admin", method: "POST", path: at("/api/mt/gtap"),
			body: func(g *guide) any {
				return map[string]any{"group_id": g.group, "table_id": 5, "attribute_remappings": map[string]any{}}
			}, status: 400, prefix: "Table 5 is not sandboxed for group 5"},
		{name: "duplicate sandbox", env: "guide", as: "admin", method: "POST", path: at("/api/mt/gtap"),
			body: gtap(func(g *guide) int { return g.invoices }), status: 500, prefix: `{"message":"Unique index or primary key violation`},
		{name: "setup twice", env: "guide", as: "anon", method: "POST", path: at("/api/setup"),
			body: func(g *guide) any {
				return map[string]any{"token": g.s.SetupToken(), "user": map[string]any{"email": "x@example.com", "password": testPassword},
					"prefs": map[string]any{"site_name": "X"}}
			}, status: 403, text: "The /api/setup route can only be used to create the first user, however a user currently exists."},
		{name: "setup with the wrong token", env: "fresh", as: "anon", method: "POST", path: at("/api/setup"),
			body: body(map[string]any{"token": "00000000-0000-4000-8000-000000000000",
				"user": map[string]any{"email": "a@example.com", "password": testPassword}, "prefs": map[string]any{"site_name": "X"}}),
			status: 400, json: map[string]string{"errors.token": "Token does not match the setup token."}},
		{name: "setup with a weak password", env: "fresh", as: "anon", method: "POST", path: at("/api/setup"),
			body: func(g *guide) any {
				return map[string]any{"token": g.s.SetupToken(), "user": map[string]any{"email": "a@example.com", "password": "abcdef"},
					"prefs": map[string]any{"site_name": "X"}}
			}, status: 400, json: map[string]string{"errors.user.password": "password is too common."}},
		{name: "tampered JWT", env: "guide", as: "anon", method: "GET",
			path: func(*guide) string {
				tok := signJWTKey(claims(nil), testJWTSecret, jwt.SigningMethodHS256)
				parts := strings.Split(tok, ".")
				forged := base64.RawURLEncoding.EncodeToString([]byte(`{"email":"admin@example.com","exp":9999999999}`))
				return ssoPath(parts[0]+"."+forged+"."+parts[2], "/")
			}, status: 401, text: "Message seems corrupt or manipulated."},
		{name: "expired JWT", env: "guide", as: "anon", method: "GET",
			path: token(claims(func(c jwt.MapClaims) { c["exp"] = t0.Unix(); delete(c, "iat") })), status: 401,
			text: fmt.Sprintf("Token is expired (%d)", t0.Unix())},
		{name: "unsigned JWT (alg none)", env: "guide", as: "anon", method: "GET",
			path: func(*guide) string {
				enc := base64.RawURLEncoding.EncodeToString
				return ssoPath(enc([]byte(`{"alg":"none","typ":"JWT"}`))+"."+enc([]byte(`{"email":"admin@example.com"}`))+".", "/")
			}, status: 401, text: "Message seems corrupt or manipulated."},
		{name: "JWT signed with another key", env: "guide", as: "anon", method: "GET",
			path: func(*guide) string {
				return ssoPath(signJWTKey(claims(nil), strings.Repeat("f", 64), jwt.SigningMethodHS256), "/")
			}, status: 401, text: "Message seems corrupt or manipulated."},
		{name: "RS256 header", env: "guide", as: "anon", method: "GET",
			path: func(*guide) string {
				return ssoPath(rawJWT(`{"alg":"RS256","typ":"JWT"}`, fmt.Sprintf(`{"email":"a@example.com","exp":%d}`, t0.Unix()+60), testJWTSecret), "/")
			}, status: 401, text: "Message seems corrupt or manipulated."},
		{name: "HS512 token", env: "guide", as: "anon", method: "GET",
			path: func(*guide) string {
				return ssoPath(signJWTKey(claims(nil), testJWTSecret, jwt.SigningMethodHS512), "/")
			},
			status: 401, text: "Message seems corrupt or manipulated."},
		{name: "iat 181 s old with a future exp", env: "guide", as: "anon", method: "GET",
			path:   token(claims(func(c jwt.MapClaims) { c["iat"] = t0.Unix() - 181; c["exp"] = t0.Unix() + 3600 })),
			status: 401, text: "Token is older than max-age (180)"},
		{name: "nbf in the future", env: "guide", as: "anon", method: "GET",
			path:   token(claims(func(c jwt.MapClaims) { c["nbf"] = t0.Unix() + 30 })),
			status: 401, text: fmt.Sprintf("Token is not yet valid (%d)", t0.Unix()+30)},
		{name: "JWT without email", env: "guide", as: "anon", method: "GET",
			path: token(claims(func(c jwt.MapClaims) { delete(c, "email") })), status: 401, text: "JWT token missing email claim"},
		{name: "absolute return_to on another host", env: "guide", as: "anon", method: "GET",
			path: redirect("https://evil.example/steal"), status: 400, json: map[string]string{"message": "Invalid redirect URL"}},
		{name: "protocol-relative return_to", env: "guide", as: "anon", method: "GET",
			path: redirect("//evil.example/steal"), status: 400, json: map[string]string{"message": "Invalid redirect URL"}},
		{name: "backslash return_to", env: "guide", as: "anon", method: "GET",
			path: redirect(`/\evil.example`), status: 400, json: map[string]string{"message": "Invalid redirect URL"}},
		// sso_utils.clj check-sso-redirect parses without decoding: "%2F%2Fevil.example" is a relative path for
		// Metabase (the browser resolves it under Metabase's origin); only strict mode refuses it.
		{name: "encoded return_to (strict)", env: "strict", as: "anon", method: "GET",
			path: redirect("%2F%2Fevil.example"), status: 400, json: map[string]string{"message": "Invalid redirect URL"}},
		{name: "scheme without slashes", env: "guide", as: "anon", method: "GET",
			path: redirect("https:evil.example"), status: 400, json: map[string]string{"message": "Invalid redirect URL"}},
		// jwt_test.clj deftest sso-prereqs-test: 400 JSON error-sso-disabled, also with JWT configured but no
		// sso-jwt feature ("SSO requests fail if they don't have a valid premium-features token").
		{name: "SSO while disabled", env: "unlicensed", as: "anon", method: "GET",
			path: token(claims(nil)), status: 400, json: map[string]string{"status": "error-sso-disabled",
				"message": "SSO has not been enabled and/or configured"}},
		{name: "SSO without sso_jwt", env: "nosso", as: "anon", method: "GET",
			path: token(claims(nil)), status: 400, json: map[string]string{"status": "error-sso-disabled",
				"message": "SSO has not been enabled and/or configured"}},
		{name: "dataset as a blocked user", env: "guide", as: "outsider", method: "POST", path: at("/api/dataset"),
			body: func(g *guide) any {
				return map[string]any{"database": 1, "type": "query", "query": map[string]any{"source-table": g.invoices}}
			}, status: 403, text: "You do not have permissions to run this query."},
		{name: "health while booting", env: "booting", as: "anon", method: "GET", path: at("/api/health"),
			status: 503, json: map[string]string{"status": "initializing"}},
		{name: "API while booting", env: "booting", as: "anon", method: "GET", path: at("/api/session/properties"),
			status: 503, text: "Metabase is still initializing. Please sit tight..."},
		{name: "unknown API route", env: "guide", as: "admin", method: "GET", path: at("/api/nope"),
			status: 404, text: "API endpoint does not exist."},
		{name: "duplicate group name", env: "guide", as: "admin", method: "POST", path: at("/api/permissions/group"),
			body: body(map[string]any{"name": "customer acme"}), status: 400, text: "A group with that name already exists."},
		{name: "personal collection in the collection graph", env: "guide", as: "admin", method: "PUT", path: at("/api/collection/graph?force=true"),
			body: func(g *guide) any {
				me := g.admin.obj(http.StatusOK, "GET", "/api/user/current", nil)
				return map[string]any{"groups": map[string]any{"1": map[string]any{fmt.Sprint(me["personal_collection_id"]): "read"}}}
			}, status: 500,
			json: map[string]string{"message": "You cannot edit permissions for a Personal Collection or its descendants."}},
		{name: "SSO with provisioning off", env: "guide", as: "anon", method: "GET",
			path: func(g *guide) string {
				g.admin.must(http.StatusNoContent, "PUT", "/api/setting/jwt-user-provisioning-enabled%3F", map[string]any{"value": false})
				return ssoPath(signJWTKey(claims(func(c jwt.MapClaims) { c["email"] = "new@example.com" }), testJWTSecret, jwt.SigningMethodHS256), "/")
			}, status: 401, prefix: "Sorry, but you'll need a Embedwizard account"},
		{name: "dashboard page signed out", env: "guide", as: "anon", method: "GET",
			path: func(g *guide) string { return fmt.Sprintf("/dashboard/%d?top_nav=false", g.dashboard) }, status: 302},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := hostileEnv(t, tc.env)
			c := newRawClient(t, g.s.URL)
			switch tc.as {
			case "admin":
				c = g.admin
			case "tenant":
				c = g.signIn(t, "tenant@example.com", jwt.MapClaims{"account_id": 28, "groups": []string{"Customer-Acme"}})
			case "outsider":
				c = g.signIn(t, "outsider@example.com", nil)
			}
			var b any
			if tc.body != nil {
				b = tc.body(g)
			}
			r := c.do(tc.method, tc.path(g), b)
			if r.status != tc.status {
				t.Fatalf("got %s, want status %d", r, tc.status)
			}
			ct := r.header.Get("Content-Type")
			switch {
			case tc.text != "":
				if string(r.body) != tc.text || !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("got %q (%s), want plain text %q", r.body, ct, tc.text)
				}
			case tc.prefix != "":
				if !strings.HasPrefix(string(r.body), tc.prefix) {
					t.Errorf("got %q, want it to start with %q", r.body, tc.prefix)
				}
			}
			if tc.json != nil {
				m := r.json(t)
				for path, want := range tc.json {
					if got := dig(m, path); got != want {
						t.Errorf("%s = %v, want %q (body %s)", path, got, want, r.body)
					}
				}
			}
			if tc.status == http.StatusFound && !strings.HasPrefix(r.header.Get("Location"), "/auth/login?redirect=") {
				t.Errorf("Location = %q, want the login page", r.header.Get("Location"))
			}
			if tc.after != nil {
				tc.after(t, g)
			}
		})
	}
}

func dig(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func settingIs(key string, want any) func(t *testing.T, g *guide) {
	return func(t *testing.T, g *guide) {
		if got := g.admin.must(http.StatusOK, "GET", "/api/setting/"+key, nil); got != want {
			t.Errorf("%s = %v after the refused write, want %v", key, got, want)
		}
	}
}

func signJWTKey(c jwt.MapClaims, key string, m jwt.SigningMethod) string {
	tok, err := jwt.NewWithClaims(m, c).SignedString([]byte(key))
	if err != nil {
		panic(err)
	}
	return tok
}

// hostileEnv builds the server a hostile case runs against.
func hostileEnv(t *testing.T, env string) *guide {
	opts := Options{Now: fixedClock, InvalidTokens: []string{strings.Repeat("ab", 32)}}
	switch env {
	case "guide":
		return setupGuide(t, opts)
	case "strict":
		opts.Strict = true
		return setupGuide(t, opts)
	case "booting":
		opts.Now = time.Now
		opts.BootDuration = time.Hour
	case "nosso":
		opts.LicenseToken = TestLicenseToken
		opts.Features = []string{"embedding", "sandboxes", "advanced_permissions"}
		opts.Env = map[string]string{"MB_JWT_ENABLED": "true", "MB_JWT_SHARED_SECRET": testJWTSecret,
			"MB_JWT_IDENTITY_PROVIDER_URI": "http://localhost:8080/sso/metabase"}
	}
	s := NewServer(opts)
	t.Cleanup(s.Close)
	g := &guide{s: s}
	if env == "unlicensed" || env == "nosso" {
		g.admin = admin(t, s)
	}
	return g
}
