package metabasetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// rawClient speaks raw HTTP to the emulator, the way the contract describes the calls; it never follows
// redirects so tests see the 302s.
type rawClient struct {
	t       testing.TB
	base    string
	session string // X-Metabase-Session
	cookie  string // metabase.SESSION cookie value
	apiKey  string
}

func newRawClient(t testing.TB, base string) *rawClient { return &rawClient{t: t, base: base} }

var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// json decodes the body; a test failure if it is not JSON.
func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func (c *rawClient) do(method, path string, body any) reply {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.session != "" {
		req.Header.Set("X-Metabase-Session", c.session)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.cookie})
	}
	if c.apiKey != "" {
		req.Header.Set("X-API-Key", c.apiKey)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// must does a request and fails the test unless the status is want; it returns the decoded body.
func (c *rawClient) must(want int, method, path string, body any) any {
	c.t.Helper()
	r := c.do(method, path, body)
	if r.status != want {
		c.t.Fatalf("%s %s: got %s, want status %d", method, path, r, want)
	}
	if len(r.body) == 0 {
		return nil
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return string(r.body)
	}
	return v
}

func (c *rawClient) obj(want int, method, path string, body any) map[string]any {
	c.t.Helper()
	m, ok := c.must(want, method, path, body).(map[string]any)
	if !ok {
		c.t.Fatalf("%s %s: body is not a JSON object", method, path)
	}
	return m
}

func num(t testing.TB, v any) int {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return int(i)
}

const testPassword = "Sup3r-secret-pw"

// admin runs POST /api/setup on a fresh server and returns a client with the admin session.
func admin(t testing.TB, s *Server) *rawClient {
	t.Helper()
	c := newRawClient(t, s.URL)
	m := c.obj(http.StatusOK, "POST", "/api/setup", map[string]any{
		"token": s.SetupToken(),
		"user":  map[string]any{"email": "admin@example.com", "password": testPassword, "first_name": "Demo", "last_name": "Admin"},
		"prefs": map[string]any{"site_name": "Embedwizard", "site_locale": "en"},
	})
	c.session = m["id"].(string)
	return c
}

const testJWTSecret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// signJWT signs claims with HS256 and the test secret, as a host app does (key = the secret's bytes).
func signJWT(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testJWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// guide is a server configured like the quick start: license, X-ray dashboard, embedding, JWT, group
// "Customer Acme" mapped from "Customer-Acme", All Users blocked, Invoices sandboxed on account_id, the
// container collection readable by All Users.
type guide struct {
	s         *Server
	admin     *rawClient
	invoices  int
	accountID int
	dashboard int
	container int
	group     int
	schema    string // the graph's schema key: the table record's schema, "" when it is nil (SQLite)
}

// setupGuide is the quick start done by hand through the API: Invoices sandboxed for the tenant group on
// account_id, All Users blocked, the X-ray collection at View.
func setupGuide(t testing.TB, opts Options) *guide {
	t.Helper()
	g := guideUpToGroup(t, opts)
	a := g.admin
	graph := a.obj(http.StatusOK, "GET", "/api/permissions/graph", nil)
	inv := fmt.Sprint(g.invoices)
	a.must(http.StatusOK, "PUT", "/api/permissions/graph", map[string]any{
		"revision": graph["revision"],
		"groups": map[string]any{
			"1": map[string]any{"1": map[string]any{"view-data": "blocked", "create-queries": "no", "download": map[string]any{"schemas": "none"}}},
			fmt.Sprint(g.group): map[string]any{"1": map[string]any{
				"view-data":      map[string]any{g.schema: map[string]any{inv: "sandboxed"}},
				"create-queries": map[string]any{g.schema: map[string]any{inv: "query-builder"}}}},
		},
		"sandboxes": []any{map[string]any{"group_id": g.group, "table_id": g.invoices, "card_id": nil,
			"attribute_remappings": map[string]any{"account_id": []any{"dimension", []any{"field", g.accountID, nil}}}}},
	})
	g.viewContainer(t)
	return g
}

// guideUpToGroup is the quick start through the API up to the tenant group and its JWT mapping: the license,
// Invoices and ACCOUNT_ID looked up, the X-ray saved, embedding and JWT on. Permissions are the caller's.
func guideUpToGroup(t testing.TB, opts Options) *guide {
	t.Helper()
	s := NewServer(opts)
	t.Cleanup(s.Close)
	g := &guide{s: s, admin: admin(t, s)}
	a := g.admin
	a.must(http.StatusNoContent, "PUT", "/api/setting/premium-embedding-token", map[string]any{"value": TestLicenseToken})

	tables := a.must(http.StatusOK, "GET", "/api/table", nil).([]any)
	for _, tb := range tables {
		if m := tb.(map[string]any); m["name"] == "INVOICES" {
			g.invoices = num(t, m["id"])
			g.schema, _ = m["schema"].(string)
		}
	}
	meta := a.obj(http.StatusOK, "GET", fmt.Sprintf("/api/table/%d/query_metadata", g.invoices), nil)
	for _, f := range meta["fields"].([]any) {
		if m := f.(map[string]any); m["name"] == "ACCOUNT_ID" {
			g.accountID = num(t, m["id"])
		}
	}
	xray := a.obj(http.StatusOK, "GET", fmt.Sprintf("/api/automagic-dashboards/table/%d", g.invoices), nil)
	dash := a.obj(http.StatusOK, "POST", "/api/dashboard/save", xray)
	g.dashboard, g.container = num(t, dash["id"]), num(t, dash["collection_id"])

	a.must(http.StatusNoContent, "PUT", "/api/setting", map[string]any{
		"enable-embedding-interactive": true, "embedding-app-origins-interactive": "http://localhost:8080",
		"jwt-identity-provider-uri": "http://localhost:8080/sso/metabase", "jwt-shared-secret": testJWTSecret,
		"jwt-enabled": true,
	})
	g.group = num(t, a.obj(http.StatusOK, "POST", "/api/permissions/group", map[string]any{"name": "Customer Acme"})["id"])
	a.must(http.StatusNoContent, "PUT", "/api/setting", map[string]any{
		"jwt-group-sync": true, "jwt-group-mappings": map[string]any{"Customer-Acme": []int{g.group}}})
	return g
}

// viewContainer gives All Users View on the X-ray's collection, as the guide says.
func (g *guide) viewContainer(t testing.TB) {
	t.Helper()
	cg := g.admin.obj(http.StatusOK, "GET", "/api/collection/graph", nil)
	g.admin.must(http.StatusOK, "PUT", "/api/collection/graph", map[string]any{
		"revision": cg["revision"], "groups": map[string]any{"1": map[string]any{fmt.Sprint(g.container): "read"}}})
}

// signIn does GET /auth/sso with a fresh token for email and returns a client holding the session cookie.
func (g *guide) signIn(t testing.TB, email string, extra jwt.MapClaims) *rawClient {
	t.Helper()
	now := g.s.opts.Now()
	claims := jwt.MapClaims{"email": email, "first_name": "Rene", "last_name": "Mueller",
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	for k, v := range extra {
		claims[k] = v
	}
	c := newRawClient(t, g.s.URL)
	r := c.do("GET", "/auth/sso?jwt="+signJWT(t, claims)+"&return_to="+url.QueryEscape("/"), nil)
	if r.status != http.StatusFound {
		t.Fatalf("sso sign-in: got %s, want 302", r)
	}
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == sessionCookie {
			c.cookie = ck.Value
		}
	}
	if c.cookie == "" {
		t.Fatalf("sso sign-in: no %s cookie in %v", sessionCookie, r.header)
	}
	return c
}

// accountRows counts Invoices rows per account in the sample data, the expected sandbox result.
func accountRows(account int64) int {
	n := 0
	for _, row := range tableByID(8).Rows {
		if row[1].(int64) == account {
			n++
		}
	}
	return n
}
