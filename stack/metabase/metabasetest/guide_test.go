package metabasetest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestGuideWalkthrough walks contract §14 with raw HTTP and checks what a user of the quick start would
// see at every checkpoint.
func TestGuideWalkthrough(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	anon := newRawClient(t, s.URL)

	// §2: before setup.
	health := anon.obj(http.StatusOK, "GET", "/api/health", nil)
	if health["status"] != "ok" {
		t.Fatalf("health = %v", health)
	}
	props := anon.obj(http.StatusOK, "GET", "/api/session/properties", nil)
	if props["has-user-setup"] != false || props["setup-token"] != s.SetupToken() {
		t.Fatalf("fresh properties: has-user-setup=%v setup-token=%v", props["has-user-setup"], props["setup-token"])
	}
	if v := props["version"].(map[string]any)["tag"]; v != DefaultVersion {
		t.Errorf("version.tag = %v", v)
	}
	if tf := props["token-features"].(map[string]any); tf["sso_jwt"] != false || tf["embedding"] != false {
		t.Errorf("token-features without a license = %v, want all false", tf)
	}

	g := setupGuide(t, Options{})
	a := g.admin
	anon = newRawClient(t, g.s.URL)
	props = a.obj(http.StatusOK, "GET", "/api/session/properties", nil)
	tf := props["token-features"].(map[string]any)
	for _, f := range []string{"embedding", "sso_jwt", "sandboxes", "advanced_permissions"} {
		if tf[f] != true {
			t.Errorf("token-features.%s = %v after the license, want true", f, tf[f])
		}
	}
	if props["has-user-setup"] != true || props["setup-token"] != nil {
		t.Errorf("after setup: has-user-setup=%v setup-token=%v", props["has-user-setup"], props["setup-token"])
	}

	// §5: the first user group is 5 on v1.6x.
	if g.group != 5 {
		t.Errorf("Customer Acme got id %d, want 5 on v1.63", g.group)
	}
	// §7: the dashboard lives in the container at "/".
	var found bool
	for _, c := range a.must(http.StatusOK, "GET", "/api/collection", nil).([]any) {
		m := c.(map[string]any)
		if m["name"] == containerName && m["location"] == "/" && m["archived"] == false {
			found = num(t, m["id"]) == g.container
		}
	}
	if !found {
		t.Errorf("collection %d named %q at / not listed by GET /api/collection", g.container, containerName)
	}
	items := a.obj(http.StatusOK, "GET", fmt.Sprintf("/api/collection/%d/items?models=dashboard", g.container), nil)
	if num(t, items["total"]) != 1 || items["data"].([]any)[0].(map[string]any)["name"] != "A look at Invoices" {
		t.Errorf("container items = %v, want the X-ray dashboard", items)
	}
	// §9: the sandbox exists once.
	sbs := a.must(http.StatusOK, "GET", "/api/mt/gtap", nil).([]any)
	if len(sbs) != 1 {
		t.Fatalf("sandboxes = %v, want one", sbs)
	}
	// §4: jwt-enabled reads true now that secret and IdP URI are set; the secret is obfuscated.
	if v := a.must(http.StatusOK, "GET", "/api/setting/jwt-enabled", nil); v != true {
		t.Errorf("jwt-enabled = %v, want true", v)
	}
	if v := a.must(http.StatusOK, "GET", "/api/setting/jwt-shared-secret", nil); v != "**********ef" {
		t.Errorf("jwt-shared-secret reads %v, want it obfuscated", v)
	}

	// §11: SSO sign-in through the iframe URL.
	now := time.Now()
	tok := signJWT(t, jwt.MapClaims{"email": "rene@example.com", "first_name": "Rene", "last_name": "Mueller",
		"account_id": 28, "groups": []string{"Customer-Acme"}, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	returnTo := fmt.Sprintf("/dashboard/%d?logo=false&top_nav=false", g.dashboard)
	r := anon.do("GET", "/auth/sso?jwt="+tok+"&return_to="+url.QueryEscape(returnTo), nil)
	if r.status != http.StatusFound || r.header.Get("Location") != returnTo {
		t.Fatalf("GET /auth/sso: %s Location=%q, want 302 to %q", r, r.header.Get("Location"), returnTo)
	}
	var session *http.Cookie
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == sessionCookie {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.Path != "/" || session.SameSite != http.SameSiteLaxMode || session.Secure {
		t.Fatalf("session cookie = %+v, want HttpOnly, Path=/, SameSite=Lax, not Secure over HTTP", session)
	}
	if !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), "\n"), "metabase.TIMEOUT=alive") {
		t.Errorf("no metabase.TIMEOUT=alive cookie")
	}
	rene := newRawClient(t, g.s.URL)
	rene.cookie = session.Value

	// §13: the JWT user.
	me := rene.obj(http.StatusOK, "GET", "/api/user/current", nil)
	if me["sso_source"] != "jwt" || me["jwt_attributes"].(map[string]any)["account_id"] != "28" {
		t.Errorf("current user = %v, want sso_source jwt and jwt_attributes.account_id \"28\"", me)
	}
	if attrs := me["jwt_attributes"].(map[string]any); attrs["groups"] != nil || attrs["exp"] != nil || attrs["email"] != nil {
		t.Errorf("jwt_attributes kept registered or mapped claims: %v", attrs)
	}
	// users_rest/api.clj GET /current hydrates group_ids; user_group_memberships only on GET /:id.
	var inGroup bool
	for _, id := range me["group_ids"].([]any) {
		inGroup = inGroup || num(t, id) == g.group
	}
	if !inGroup || me["user_group_memberships"] != nil {
		t.Errorf("current user group_ids = %v, user_group_memberships = %v; want group %d and no memberships",
			me["group_ids"], me["user_group_memberships"], g.group)
	}
	byID := a.obj(http.StatusOK, "GET", fmt.Sprintf("/api/user/%d", num(t, me["id"])), nil)
	inGroup = false
	for _, m := range byID["user_group_memberships"].([]any) {
		inGroup = inGroup || num(t, m.(map[string]any)["id"]) == g.group
	}
	if !inGroup {
		t.Errorf("admin GET /api/user/:id user_group_memberships = %v, want group %d", byID["user_group_memberships"], g.group)
	}

	// §13: the sandboxed query returns only account 28's rows.
	res := rene.obj(http.StatusAccepted, "POST", "/api/dataset", map[string]any{"database": 1, "type": "query",
		"query": map[string]any{"source-table": g.invoices, "limit": 2000}})
	rows := res["data"].(map[string]any)["rows"].([]any)
	if res["status"] != "completed" || len(rows) != accountRows(28) || len(rows) == 0 {
		t.Fatalf("sandboxed dataset: status %v, %d rows, want %d rows", res["status"], len(rows), accountRows(28))
	}
	for _, row := range rows {
		if acct := num(t, row.([]any)[1]); acct != 28 {
			t.Fatalf("sandboxed dataset leaked account %d", acct)
		}
	}
	// The admin sees every account.
	res = a.obj(http.StatusAccepted, "POST", "/api/dataset", map[string]any{"database": 1, "type": "query",
		"query": map[string]any{"source-table": g.invoices, "breakout": []any{[]any{"field", g.accountID, nil}},
			"aggregation": []any{[]any{"count"}}}})
	if n := num(t, res["row_count"]); n < 10 {
		t.Errorf("admin breakout by account: %d accounts, want >= 10", n)
	}

	// §12: the dashboard page inside the iframe honours logo/top_nav and the sandbox.
	page := rene.do("GET", returnTo, nil)
	html := string(page.body)
	if page.status != http.StatusOK {
		t.Fatalf("dashboard page: %d", page.status)
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors http://localhost:8080;") {
		t.Errorf("CSP = %q, want frame-ancestors http://localhost:8080", csp)
	}
	if strings.Contains(html, `data-testid="main-logo"`) || strings.Contains(html, `data-testid="app-bar"`) {
		t.Errorf("logo=false&top_nav=false page still shows the logo or the app bar")
	}
	if got := strings.Count(html, `data-testid="invoice-row"`); got != accountRows(28) {
		t.Errorf("dashboard page shows %d invoice rows, want %d", got, accountRows(28))
	}
	if strings.Count(html, `data-account-id="28"`) != accountRows(28) || !strings.Contains(html, "rene@example.com") {
		t.Errorf("dashboard page rows are not all account 28 or the email is missing")
	}
	plain := string(rene.do("GET", fmt.Sprintf("/dashboard/%d-a-look-at-invoices", g.dashboard), nil).body)
	if !strings.Contains(plain, `data-testid="main-logo"`) || !strings.Contains(plain, `data-testid="app-bar"`) {
		t.Errorf("default dashboard page lacks the logo or the app bar")
	}

	// A user outside every tenant group is blocked (All Users is blocked).
	outsider := g.signIn(t, "stranger@example.com", nil)
	if r := outsider.do("POST", "/api/dataset", map[string]any{"database": 1, "type": "query",
		"query": map[string]any{"source-table": g.invoices}}); r.status != http.StatusForbidden {
		t.Errorf("blocked user dataset: %s, want 403", r)
	}
	if body := string(outsider.do("GET", fmt.Sprintf("/dashboard/%d", g.dashboard), nil).body); !strings.Contains(body,
		"You don't have permission to see this") || strings.Contains(body, `data-testid="invoice-row"`) {
		t.Errorf("blocked user's dashboard page shows rows or no permission message")
	}
}
