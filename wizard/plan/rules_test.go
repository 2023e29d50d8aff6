package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

func TestSameSite(t *testing.T) {
	tests := []struct {
		host, mb string
		want     string
		warn     string // in the warning; "" = no warning
	}{
		{"http://localhost:8080", "http://localhost:3000", "lax", ""},
		{"https://app.example.com", "https://metabase.example.com", "lax", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:3000", "lax", ""},
		{"http://localhost:8080", "http://127.0.0.1:3000", "none", "plain HTTP"},
		{"https://app.example.com", "https://example.metabaseapp.com", "none", "SameSite=None"},
		{"https://shop.acme.io", "http://bi.other.io", "none", "HTTPS"},
		{"http://localhost:8080", "https://localhost:3000", "none", "plain HTTP"}, // schemeful same-site
	}
	for _, tt := range tests {
		t.Run(tt.host+" "+tt.mb, func(t *testing.T) {
			got, warn, err := CookieSameSite(tt.host, tt.mb)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || (tt.warn == "") != (warn == "") || !strings.Contains(warn, tt.warn) {
				t.Errorf("sameSite = %q, %q; want %q with a warning about %q", got, warn, tt.want, tt.warn)
			}
		})
	}
}

func TestCoversOrigin(t *testing.T) {
	tests := []struct {
		list []string
		want bool
	}{
		{nil, false},
		{[]string{"https://other.example"}, false},
		{[]string{"https://other.example", "http://localhost:8080"}, true},
		{[]string{"HTTP://LOCALHOST:8080/"}, true},
		{[]string{"http://localhost:*"}, true},
		{[]string{"http://localhost:80"}, false},
		{[]string{"http://localhost.evil:*"}, false},
	}
	for _, tt := range tests {
		if got := CoversOrigin(tt.list, "http://localhost:8080"); got != tt.want {
			t.Errorf("CoversOrigin(%q) = %v, want %v", tt.list, got, tt.want)
		}
	}
}

func TestSecretMatches(t *testing.T) {
	key := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		shown, known string
		want         bool
	}{
		{key, key, true},
		{"**********ef", key, true},
		{"**********aa", key, false},
		{strings.Repeat("f", 64), key, false},
		{"", key, false},
		{key, "", false},
	}
	for _, tt := range tests {
		if got := secretMatches(tt.shown, tt.known); got != tt.want {
			t.Errorf("secretMatches(%q) = %v, want %v", tt.shown, got, tt.want)
		}
	}
}

func TestCheckLicenseFormat(t *testing.T) {
	good := strings.Repeat("a1", 32)
	tests := []struct {
		token string
		why   string // "" = valid
	}{
		{good, ""},
		{"mb_dev_" + strings.Repeat("0", 57), ""},
		{"airgap_xyz", ""},
		{strings.ToUpper(good), "lower-case"},
		{good + "\n", "spaces or line breaks"},
		{good[:60], "64 hexadecimal"},
	}
	for _, tt := range tests {
		err := CheckLicenseFormat(tt.token)
		if (tt.why == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.why)) {
			t.Errorf("CheckLicenseFormat(%q) = %v, want %q", tt.token, err, tt.why)
		}
		if err != nil && strings.Contains(err.Error(), strings.TrimSpace(tt.token)[:20]) {
			t.Errorf("the error repeats the token: %v", err)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	ok := Config{MetabaseURL: "http://localhost:3000", AdminPassword: "pw-123456"}
	tests := []struct {
		name   string
		change func(*Config)
		want   string // in the error; "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no Metabase URL", func(c *Config) { c.MetabaseURL = "" }, "no Metabase URL"},
		{"Metabase URL with a password", func(c *Config) { c.MetabaseURL = "http://admin:hunter2@localhost:3000" }, "user name or password"},
		{"tenant named like a built-in group", func(c *Config) { c.Tenants = []Tenant{{Name: "administrators", AccountID: 5}} }, "Metabase's own group"},
		{"Metabase URL without scheme", func(c *Config) { c.MetabaseURL = "localhost:3000" }, "Metabase URL"},
		{"host app URL with a query", func(c *Config) { c.HostAppURL = "http://localhost:8080/?x=1" }, "without ? or #"},
		{"no password", func(c *Config) { c.AdminPassword = "" }, "EMBEDWIZARD_ADMIN_PASSWORD"},
		{"API key instead", func(c *Config) { c.AdminPassword, c.APIKey = "", "mb_abc" }, ""},
		{"bad API key", func(c *Config) { c.AdminPassword, c.APIKey = "", "abc" }, "mb_"},
		{"bad email", func(c *Config) { c.AdminEmail = "admin" }, "not an email"},
		{"upper-case license", func(c *Config) { c.LicenseToken = strings.Repeat("AB", 32) }, "lower-case"},
		{"tenants sharing a group", func(c *Config) {
			c.Tenants = []Tenant{{Name: "Customer-Acme", AccountID: 1}, {Name: "Customer Acme", AccountID: 2}}
		}, "same Metabase group"},
		{"tenant without account", func(c *Config) { c.Tenants = []Tenant{{Name: "X"}} }, "positive whole number"},
		{"bad UI option", func(c *Config) { c.UIOptions = map[string]string{"a&b": "1"} }, "UI option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			_, err := New(c, nil, Options{})
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("New = %v, want an error about %q", err, tt.want)
			}
			if err != nil && !IsValidation(err) {
				t.Errorf("New = %v: not a *ValidationError, so cmd would not exit 2", err)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the URL's password: %v", err)
			}
		})
	}
}

func TestNewFillsDemoUsers(t *testing.T) {
	st := &State{}
	cfg := Config{MetabaseURL: "http://localhost:3000", AdminPassword: "pw-123456", Tenants: []Tenant{acme, globex}}
	if _, err := New(cfg, st, Options{}); err != nil {
		t.Fatal(err)
	}
	first := st.Tenants[1].DemoUser
	if first.Email != "demo.globex@example.com" || first.FirstName != "Globex" || len(first.Password) != 20 {
		t.Errorf("demo user %+v", first)
	}
	if _, err := New(cfg, st, Options{}); err != nil {
		t.Fatal(err)
	}
	if st.Tenants[1].DemoUser.Password != first.Password {
		t.Errorf("a second New changed the saved demo password")
	}
	cfg.DemoPassword = "Chosen-1234"
	if _, err := New(cfg, st, Options{}); err != nil || st.Tenants[0].DemoUser.Password != "Chosen-1234" {
		t.Errorf("EMBEDWIZARD_DEMO_PASSWORD not applied: %v", err)
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		p, err := GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 20 || strings.IndexFunc(p, unicode.IsDigit) < 0 || strings.IndexFunc(p, unicode.IsUpper) < 0 ||
			strings.IndexFunc(p, unicode.IsLower) < 0 || seen[p] {
			t.Fatalf("weak or repeated password %q", p)
		}
		seen[p] = true
	}
}

func TestMask(t *testing.T) {
	for secret, want := range map[string]string{"": "(not set)", "short": "••••", strings.Repeat("x", 60) + "ab12": "••••ab12"} {
		if got := Mask(secret); got != want {
			t.Errorf("Mask(%q) = %q, want %q", secret, got, want)
		}
	}
}

func TestDialect(t *testing.T) {
	db := metabase.Database{ID: 1, Tables: []metabase.Table{{ID: 8, Schema: "PUBLIC"}, {ID: 3, Schema: "PUBLIC"}}}
	inv := db.Tables[0]
	tests := []struct {
		tag            string
		enable, origin string
		legacy         bool
	}{
		{"v1.63.1", metabase.SettingEnableEmbeddingInteractive, metabase.SettingEmbeddingOriginsInteractive, false},
		{"v1.51.0", metabase.SettingEnableEmbeddingInteractive, metabase.SettingEmbeddingOriginsInteractive, false},
		{"v1.50.9", metabase.SettingLegacyEnableEmbedding, metabase.SettingLegacyEmbeddingOrigin, false},
		{"v1.49.2", metabase.SettingLegacyEnableEmbedding, metabase.SettingLegacyEmbeddingOrigin, true},
		{"", metabase.SettingEnableEmbeddingInteractive, metabase.SettingEmbeddingOriginsInteractive, false},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			d := newDialect(metabase.Properties{Version: metabase.VersionInfo{Tag: tt.tag}})
			if e, o := d.embeddingKeys(); e != tt.enable || o != tt.origin {
				t.Errorf("embedding keys %s, %s; want %s, %s", e, o, tt.enable, tt.origin)
			}
			if d.legacyGraph() != tt.legacy {
				t.Errorf("legacy graph %v, want %v", d.legacyGraph(), tt.legacy)
			}
			// What the plan writes must read back as done once it has gone through JSON, as from a GET, and
			// once Metabase elided its least permissive values, as GET /api/permissions/graph does.
			for name, back := range map[string]func(*testing.T, metabase.DBPermissions) metabase.DBPermissions{"as sent": viaJSON, "elided": elided} {
				if !d.isBlocked(back(t, d.blockDB())) {
					t.Errorf("%s: blockDB does not read back as blocked", name)
				}
				if d.isBlocked(back(t, d.sandboxDB(db, inv))) && !d.legacyGraph() {
					t.Errorf("%s: a sandboxed database reads as blocked", name)
				}
				if !d.isSandboxed(back(t, d.sandboxDB(db, inv)), db, inv) {
					t.Errorf("%s: sandboxDB does not read back as sandboxed: %v", name, d.sandboxDB(db, inv))
				}
				if d.isSandboxed(back(t, d.sandboxDB(db, db.Tables[1])), db, inv) {
					t.Errorf("%s: another table's sandbox reads as Invoices'", name)
				}
			}
		})
	}
	// A database absent from the graph (every value elided) is blocked: graph.clj remove-empty-vals.
	d := newDialect(metabase.Properties{})
	if !d.isBlocked(nil) || !d.isBlocked(metabase.DBPermissions{"download": map[string]any{"schemas": "full"}}) {
		t.Errorf("an elided view-data does not read as blocked")
	}
	if d.isBlocked(metabase.DBPermissions{"view-data": "unrestricted"}) {
		t.Errorf("unrestricted reads as blocked")
	}
	// Granularities a hand-made graph may have.
	for _, tc := range []struct {
		perms metabase.DBPermissions
		want  bool
	}{
		{metabase.DBPermissions{"view-data": map[string]any{"PUBLIC": map[string]any{"8": "sandboxed"}}, "create-queries": "query-builder"}, true},
		{metabase.DBPermissions{"view-data": map[string]any{"PUBLIC": map[string]any{"8": "sandboxed", "3": "blocked"}}, "create-queries": map[string]any{"PUBLIC": "query-builder"}}, true},
		// Native SQL on a sandboxed table is not what the guide grants.
		{metabase.DBPermissions{"view-data": map[string]any{"PUBLIC": map[string]any{"8": "sandboxed"}}, "create-queries": map[string]any{"PUBLIC": "query-builder-and-native"}}, false},
		// Another table left unrestricted: the tenant would see all of it.
		{metabase.DBPermissions{"view-data": map[string]any{"PUBLIC": map[string]any{"8": "sandboxed", "3": "unrestricted"}}, "create-queries": "query-builder"}, false},
		// Without query access /api/dataset would refuse its queries.
		{metabase.DBPermissions{"view-data": map[string]any{"PUBLIC": map[string]any{"8": "sandboxed"}}}, false},
	} {
		if got := d.isSandboxed(tc.perms, db, inv); got != tc.want {
			t.Errorf("isSandboxed(%v) = %v, want %v", tc.perms, got, tc.want)
		}
	}
	// The SQLite Sample Database (0.64+) has a nil schema, keyed "" in the graph.
	sq := metabase.Database{ID: 1, Tables: []metabase.Table{{ID: 8}, {ID: 3}}}
	if got := viaJSON(t, d.sandboxDB(sq, sq.Tables[0])); !d.isSandboxed(elided(t, got), sq, sq.Tables[0]) {
		t.Errorf("a SQLite (schema \"\") sandbox does not read back: %v", got)
	} else if _, ok := got["view-data"].(map[string]any)[""]; !ok {
		t.Errorf("the SQLite sandbox is not keyed by the empty schema: %v", got)
	}
}

// elided is what GET /api/permissions/graph answers for perms: the least permissive value of each type
// left out, then every empty map (graph.clj ellide?, remove-empty-vals).
func elided(t *testing.T, p metabase.DBPermissions) metabase.DBPermissions {
	t.Helper()
	least := map[string]string{"view-data": "blocked", "create-queries": "no", "download": "none", "data-model": "none", "details": "no"}
	var walk func(kind string, v any) any
	walk = func(kind string, v any) any {
		switch x := v.(type) {
		case string:
			if x == least[kind] {
				return nil
			}
			return x
		case map[string]any:
			out := map[string]any{}
			for k, y := range x {
				if w := walk(kind, y); w != nil {
					out[k] = w
				}
			}
			if len(out) == 0 {
				return nil
			}
			return out
		}
		return v
	}
	out := metabase.DBPermissions{}
	for k, v := range viaJSON(t, p) {
		if w := walk(k, v); w != nil {
			out[k] = w
		}
	}
	return out
}

func viaJSON(t *testing.T, p metabase.DBPermissions) metabase.DBPermissions {
	t.Helper()
	var out metabase.DBPermissions
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGroupMappings(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, "map[]"},
		{map[string]any{"A": []any{float64(3), float64(5)}}, "map[A:[3 5]]"},
		{`{"A":[3]}`, "map[A:[3]]"},
		{"", "map[]"},
	}
	for _, tt := range tests {
		got, err := groupMappings(tt.in)
		if err != nil || fmt.Sprint(got) != tt.want {
			t.Errorf("groupMappings(%v) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if _, err := groupMappings(map[string]any{"A": "not a list"}); err == nil {
		t.Errorf("a malformed mapping was accepted")
	}
}

func TestEmbedPath(t *testing.T) {
	tests := []struct {
		path string
		opts map[string]string
		want string
	}{
		{"/dashboard/1", DefaultUIOptions(), "/dashboard/1?logo=false&top_nav=false"},
		{"/dashboard/1", nil, "/dashboard/1"},
		{"/question/2?a=1", map[string]string{"locale": "es"}, "/question/2?a=1&locale=es"},
	}
	for _, tt := range tests {
		if got := EmbedPath(tt.path, tt.opts); got != tt.want {
			t.Errorf("EmbedPath(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestIsWrite(t *testing.T) {
	tests := []struct {
		method, path string
		want         bool
	}{
		{"GET", "/api/setting", false},
		{"GET", "/auth/sso", false},
		{"POST", "/api/session", false},
		{"POST", "/api/dataset", false},
		{"DELETE", "/api/session", true},
		{"POST", "/api/setup", true},
		{"PUT", "/api/setting", true},
		{"POST", "/api/dataset/query_metadata", true},
	}
	for _, tt := range tests {
		if got := IsWrite(tt.method, tt.path); got != tt.want {
			t.Errorf("IsWrite(%s %s) = %v, want %v", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestSignUserTokenHasTheHostAppClaims(t *testing.T) {
	secret := strings.Repeat("ab", 32)
	now := time.Unix(1_700_000_000, 0)
	u := DemoUser{Email: "demo.acme@example.com", FirstName: "Acme", LastName: "Demo"}
	tok, err := signUserToken(secret, u, []string{"Customer-Acme"}, "28", now)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return []byte(secret), nil },
		jwt.WithTimeFunc(func() time.Time { return now }), jwt.WithValidMethods([]string{"HS256"}))
	if err != nil || !parsed.Valid {
		t.Fatalf("token does not verify with the secret's UTF-8 bytes: %v", err)
	}
	want := map[string]any{"email": u.Email, "first_name": "Acme", "last_name": "Demo", "groups": []any{"Customer-Acme"},
		"account_id": "28", "iat": float64(now.Unix()), "exp": float64(now.Add(10 * time.Minute).Unix())}
	if fmt.Sprint(map[string]any(claims)) != fmt.Sprint(want) {
		t.Errorf("claims %v\nwant   %v", claims, want)
	}
}

func TestHintFor(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{withHint(errors.New("x"), "do this"), "do this"},
		{fmt.Errorf("a: %w", context.Canceled), "Interrupted"},
		{&metabase.APIError{Status: 500}, "embedwizard logs"},
		{&metabase.APIError{Status: 409}, "same time"},
		{&metabase.APIError{Status: 402}, "license"},
		{&metabase.APIError{Status: 401}, "EMBEDWIZARD_ADMIN_PASSWORD"},
		{fmt.Errorf("GET /x: %w", syscall.ECONNREFUSED), "stopped answering"},
		{fmt.Errorf("GET /x: %w", io.EOF), "stopped answering"},
		{fmt.Errorf("GET /x: %w", context.DeadlineExceeded), "did not answer in time"},
	}
	for _, tt := range tests {
		if got := hintFor(tt.err, "http://mb"); !strings.Contains(got, tt.want) {
			t.Errorf("hintFor(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestParseTenant(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // in the error; "" = valid
	}{
		{"Customer-Acme=28", ""},
		{"Globex Corp=7", ""},
		{"Administrators=5", "Metabase's own group"},
		{"all-users=5", "Metabase's own group"}, // "all users" after the name → group mapping
		{"ALL USERS=5", "Metabase's own group"},
		{"All-tenant-users=5", "Metabase's own group"},
		{"Data-Analysts=5", "Metabase's own group"},
		{"Acme\x1b[31m=5", "control characters"},
		{"Acme\u202e=5", "control characters"}, // a right-to-left override
		{"Ac\tme=5", "control characters"},
		{strings.Repeat("a", 65) + "=5", "longer than 64"},
		{strings.Repeat("a", 64) + "=5", ""},
		{"Acme", "NAME=ACCOUNT_ID"},
		{"Acme=0", "positive whole number"},
		{"Acme=x", "positive whole number"},
		{"---=5", "letter or digit"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseTenant(tc.in)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("ParseTenant(%q) = %v, want %q", tc.in, err, tc.want)
			}
			if err != nil && !IsValidation(err) {
				t.Fatalf("not a *ValidationError: %v", err)
			}
			if err != nil && strings.ContainsAny(err.Error(), "\x1b\u202e\t") {
				t.Fatalf("the error prints the control characters: %q", err)
			}
		})
	}
}

func TestValidateMetabaseURL(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"http://localhost:3000", ""},
		{"https://metabase.example.com", ""},
		{"https://example.com/metabase", ""},
		{"http://[::1]:3000", ""},
		{"http://admin:s3cret@localhost:3000", "user name or password"},
		{"http://admin@localhost:3000", "user name or password"},
		{"http://localhost:3000/?x=1", "query or fragment"},
		{"http://localhost:3000/#top", "query or fragment"},
		{"http://localhost:3000?", "query or fragment"},
		{"http://:3000", "no host"},
		{"http://localhost:0", "not in 1-65535"},
		{"http://localhost:65536", "not in 1-65535"},
		{"http://localhost:", "empty port"},
		{"ftp://localhost", "not http or https"},
		{"localhost:3000", "not http or https"},
	} {
		err := ValidateMetabaseURL(tc.in)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("ValidateMetabaseURL(%q) = %v, want %q", tc.in, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

func TestValidateJWTKey(t *testing.T) {
	for _, tc := range []struct {
		key string
		ok  bool
	}{
		{strings.Repeat("ab", 32), true},
		{strings.Repeat("ab", 40), true},
		{strings.Repeat("ab", 31) + "a", false},
		{"ab", false},
		{"", false},
		{" " + strings.Repeat("ab", 32), false},
	} {
		err := ValidateJWTKey(tc.key)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateJWTKey(%d chars) = %v, want ok %v", len(tc.key), err, tc.ok)
		}
		if err != nil && (!IsValidation(err) || (len(tc.key) > 8 && strings.Contains(err.Error(), tc.key[:8]))) {
			t.Errorf("ValidateJWTKey: %v (want a *ValidationError without the key)", err)
		}
	}
}
