package metabasetest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// tenantGuide is the quick start on generation gen, with ACCOUNTS set to accounts ("blocked", or "sandboxed"
// on ACCOUNTS.ID = account_id) for the tenant group, every other table but Invoices blocked.
func tenantGuide(t testing.TB, opts Options, accounts string) *guide {
	t.Helper()
	g := guideUpToGroup(t, opts)
	s, a := g.s, g.admin
	inv, acc := tableByName("INVOICES"), tableByName("ACCOUNTS")

	view, create := map[string]any{}, map[string]any{}
	for _, tb := range sampleTables {
		view[fmt.Sprint(tb.ID)], create[fmt.Sprint(tb.ID)] = "blocked", "no"
	}
	view[fmt.Sprint(inv.ID)], create[fmt.Sprint(inv.ID)] = "sandboxed", "query-builder"
	sandboxes := []any{map[string]any{"group_id": g.group, "table_id": inv.ID, "card_id": nil,
		"attribute_remappings": map[string]any{"account_id": []any{"dimension", []any{"field", g.accountID, nil}}}}}
	if accounts == "sandboxed" {
		view[fmt.Sprint(acc.ID)] = "sandboxed"
		sandboxes = append(sandboxes, map[string]any{"group_id": g.group, "table_id": acc.ID, "card_id": nil,
			"attribute_remappings": map[string]any{"account_id": []any{"dimension", []any{"field", acc.fieldNamed("ID").ID, nil}}}})
	}
	key := s.sampleSchemaKey()
	graph := a.obj(http.StatusOK, "GET", "/api/permissions/graph", nil)
	a.must(http.StatusOK, "PUT", "/api/permissions/graph", map[string]any{
		"revision": graph["revision"],
		"groups": map[string]any{
			"1": map[string]any{"1": map[string]any{"view-data": "blocked", "create-queries": "no", "download": map[string]any{"schemas": "none"}}},
			fmt.Sprint(g.group): map[string]any{"1": map[string]any{
				"view-data": map[string]any{key: view}, "create-queries": map[string]any{key: create}}},
		},
		"sandboxes": sandboxes,
	})
	g.viewContainer(t)
	return g
}

func tenant(t testing.TB, g *guide) *rawClient {
	return g.signIn(t, "tenant@example.com", jwt.MapClaims{"account_id": 28, "groups": []string{"Customer-Acme"}})
}

// cardResult runs one dashcard as c and returns the body, which is always a 202 stream.
func cardResult(t testing.TB, c *rawClient, g *guide, ref CardRef) map[string]any {
	t.Helper()
	return c.obj(http.StatusAccepted, "POST",
		fmt.Sprintf("/api/dashboard/%d/dashcard/%d/card/%d/query", g.dashboard, ref.DashcardID, ref.CardID), map[string]any{"parameters": []any{}})
}

func touches(ref CardRef, table string) bool {
	for _, tb := range ref.Tables {
		if tb == table {
			return true
		}
	}
	return false
}

// TestDashcardQueriesApplyPermissions opens every card of the saved X-ray as the admin and as a tenant whose
// Accounts are blocked or sandboxed: the checkpoint the plan runs.
func TestDashcardQueriesApplyPermissions(t *testing.T) {
	for _, gen := range Generations() {
		for _, accounts := range []string{"blocked", "sandboxed"} {
			t.Run(fmt.Sprintf("%s/accounts_%s", gen, accounts), func(t *testing.T) {
				g := tenantGuide(t, Options{Version: gen.Tag()}, accounts)
				cards := g.s.DashboardCards(g.dashboard)
				if len(cards) == 0 {
					t.Fatal("the saved X-ray has no cards")
				}
				var viaAccounts int
				rene := tenant(t, g)
				for _, ref := range cards {
					adminRes := cardResult(t, g.admin, g, ref)
					if adminRes["status"] != "completed" {
						t.Errorf("admin: card %q: %v", ref.Name, adminRes["error"])
					}
					res := cardResult(t, rene, g, ref)
					needsAccounts := touches(ref, "ACCOUNTS")
					if needsAccounts {
						viaAccounts++
					}
					switch {
					case needsAccounts && accounts == "blocked":
						if res["status"] != "failed" || res["error"] != "You do not have permissions to run this query." ||
							res["error_type"] != "missing-required-permissions" {
							t.Errorf("tenant: card %q joins blocked ACCOUNTS: got status=%v error=%v error_type=%v, want the permission failure",
								ref.Name, res["status"], res["error"], res["error_type"])
						}
					case res["status"] != "completed":
						t.Errorf("tenant: card %q (tables %v): status %v, error %v", ref.Name, ref.Tables, res["status"], res["error"])
					}
				}
				if viaAccounts == 0 {
					t.Errorf("no X-ray card follows ACCOUNT_ID to ACCOUNTS; cards: %+v", cards)
				}
			})
		}
	}
}

// TestCardQueriesShowOnlyTheTenantsRows checks the numbers a tenant sees in the cards.
func TestCardQueriesShowOnlyTheTenantsRows(t *testing.T) {
	g := tenantGuide(t, Options{}, "sandboxed")
	rene := tenant(t, g)
	byName := map[string]CardRef{}
	for _, ref := range g.s.DashboardCards(g.dashboard) {
		byName[ref.Name] = ref
	}
	rows := func(c *rawClient, name string) []any {
		ref, ok := byName[name]
		if !ok {
			t.Fatalf("no card %q in %v", name, byName)
		}
		res := cardResult(t, c, g, ref)
		if res["status"] != "completed" {
			t.Fatalf("card %q: %v", name, res["error"])
		}
		return res["data"].(map[string]any)["rows"].([]any)
	}
	first := func(rs []any) int { return num(t, rs[0].([]any)[0]) }

	if got := first(rows(g.admin, "The number of Invoices")); got != len(tableByName("INVOICES").Rows) {
		t.Errorf("admin: number of invoices = %d, want %d", got, len(tableByName("INVOICES").Rows))
	}
	if got := first(rows(rene, "The number of Invoices")); got != accountRows(28) {
		t.Errorf("tenant: number of invoices = %d, want account 28's %d", got, accountRows(28))
	}
	if got := first(rows(rene, "Distinct Account ID")); got != 1 {
		t.Errorf("tenant: distinct accounts = %d, want 1", got)
	}
	// Through the FK: one country, holding all of the tenant's invoices.
	countries := rows(rene, "Invoices per country")
	if len(countries) != 1 || num(t, countries[0].([]any)[1]) != accountRows(28) {
		t.Errorf("tenant: invoices per country = %v, want one country with %d invoices", countries, accountRows(28))
	}
	if all := rows(g.admin, "Invoices per country"); len(all) < 2 {
		t.Errorf("admin: invoices per country = %v, want several countries", all)
	}
}

// TestCardEndpoints covers GET /api/card/:id, POST /api/card/:id/query and the dashcard route's checks.
func TestCardEndpoints(t *testing.T) {
	g := tenantGuide(t, Options{}, "blocked")
	cards := g.s.DashboardCards(g.dashboard)
	ref := cards[0]
	card := g.admin.obj(http.StatusOK, "GET", fmt.Sprintf("/api/card/%d", ref.CardID), nil)
	if card["name"] != ref.Name || num(t, card["collection_id"]) != g.container || card["can_write"] != true {
		t.Errorf("GET /api/card/%d = name %v collection %v can_write %v", ref.CardID, card["name"], card["collection_id"], card["can_write"])
	}
	if q, ok := card["dataset_query"].(map[string]any); !ok || q["type"] != "query" {
		t.Errorf("card dataset_query = %v", card["dataset_query"])
	}
	res := g.admin.obj(http.StatusAccepted, "POST", fmt.Sprintf("/api/card/%d/query", ref.CardID), nil)
	if res["status"] != "completed" || res["context"] != "question" {
		t.Errorf("POST /api/card/%d/query = status %v context %v", ref.CardID, res["status"], res["context"])
	}

	// Only the tenant group may read the X-ray's collection now, so someone outside it gets the 403s.
	cg := g.admin.obj(http.StatusOK, "GET", "/api/collection/graph", nil)
	g.admin.must(http.StatusOK, "PUT", "/api/collection/graph", map[string]any{"revision": cg["revision"], "groups": map[string]any{
		"1": map[string]any{fmt.Sprint(g.container): "none"}, fmt.Sprint(g.group): map[string]any{fmt.Sprint(g.container): "read"}}})
	rene := tenant(t, g)
	outsider := g.signIn(t, "outsider@example.com", jwt.MapClaims{"account_id": 3})
	example := g.s.DashboardCards(exampleDashboardID)
	if len(example) == 0 {
		t.Fatal("no example dashboard cards")
	}
	cases := []struct {
		name   string
		c      *rawClient
		method string
		path   string
		status int
		text   string // plain-text body, or "" to skip
		failed bool   // a 202 whose body status is "failed" with the permission error
	}{
		{"tenant reads a card", rene, "GET", fmt.Sprintf("/api/card/%d", ref.CardID), 200, "", false},
		{"no collection access: card", outsider, "GET", fmt.Sprintf("/api/card/%d", ref.CardID), 403, "You don't have permissions to do that.", false},
		{"no collection access: card query", outsider, "POST", fmt.Sprintf("/api/card/%d/query", ref.CardID), 403, "You don't have permissions to do that.", false},
		{"no collection access: dashcard query", outsider, "POST",
			fmt.Sprintf("/api/dashboard/%d/dashcard/%d/card/%d/query", g.dashboard, ref.DashcardID, ref.CardID), 403, "You don't have permissions to do that.", false},
		{"card of another dashcard", g.admin, "POST",
			fmt.Sprintf("/api/dashboard/%d/dashcard/%d/card/%d/query", g.dashboard, ref.DashcardID, cards[1].CardID), 404, "Not found.", false},
		{"unknown card", g.admin, "GET", "/api/card/99999", 404, "Not found.", false},
		{"bad card id", g.admin, "GET", "/api/card/x", 400, "", false},
		{"signed out", newRawClient(t, g.s.URL), "POST", fmt.Sprintf("/api/card/%d/query", ref.CardID), 401, "Unauthenticated", false},
		// The tenant may read the Examples collection (All Users curate it on a fresh instance) but its ORDERS
		// are blocked: the query fails, the card does not.
		{"example card on a blocked table", rene, "POST", fmt.Sprintf("/api/card/%d/query", example[0].CardID), 202, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.do(tc.method, tc.path, nil)
			if r.status != tc.status {
				t.Fatalf("got %s, want %d", r, tc.status)
			}
			if tc.text != "" && strings.TrimSpace(string(r.body)) != tc.text {
				t.Errorf("body %q, want %q", r.body, tc.text)
			}
			if tc.failed {
				m := r.json(t)
				if m["status"] != "failed" || m["error_type"] != "missing-required-permissions" {
					t.Errorf("body %s, want a failed query with error_type missing-required-permissions", r.body)
				}
			}
		})
	}
}

// TestTenantSeesNoNativePermissions: the database record tells a sandboxed tenant it may not write SQL.
func TestTenantSeesNoNativePermissions(t *testing.T) {
	g := tenantGuide(t, Options{}, "sandboxed")
	db := tenant(t, g).obj(http.StatusOK, "GET", fmt.Sprintf("/api/database/%d", sampleDBID), nil)
	if db["native_permissions"] != "none" {
		t.Errorf("tenant: native_permissions %v, want none", db["native_permissions"])
	}
}
