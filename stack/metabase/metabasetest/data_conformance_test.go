package metabasetest

import (
	"fmt"
	"net/http"
	"testing"
)

// TestDataConformance replays, per generation, Metabase test cases about X-rays and card queries over HTTP.
// Each case names the Metabase test it comes from.
func TestDataConformance(t *testing.T) {
	cases := []struct {
		source string // Metabase file and deftest
		run    func(t *testing.T, g *guide)
	}{
		{"xray-dashboards-work-test (Metabase pulse tests; file UNVERIFIED): GET automagic-dashboards/table 200, POST dashboard/save 200, GET dashboard/:id has the cards and \"A look at <table>\"",
			func(t *testing.T, g *guide) {
				orders := tableByName("ORDERS")
				x := g.admin.obj(http.StatusOK, "GET", fmt.Sprintf("/api/automagic-dashboards/table/%d", orders.ID), nil)
				saved := g.admin.obj(http.StatusOK, "POST", "/api/dashboard/save", x)
				d := g.admin.obj(http.StatusOK, "GET", fmt.Sprintf("/api/dashboard/%d", num(t, saved["id"])), nil)
				if d["name"] != "A look at Orders" || len(d["dashcards"].([]any)) == 0 {
					t.Errorf("saved X-ray %q with %d dashcards", d["name"], len(d["dashcards"].([]any)))
				}
			}},
		{"test/metabase/api/public_test.clj execute-public-card-as-user-without-perms-test: POST card/:id/query without collection perms is 403 \"You don't have permissions to do that.\"",
			func(t *testing.T, g *guide) {
				cg := g.admin.obj(http.StatusOK, "GET", "/api/collection/graph", nil)
				g.admin.must(http.StatusOK, "PUT", "/api/collection/graph", map[string]any{"revision": cg["revision"],
					"groups": map[string]any{"1": map[string]any{fmt.Sprint(g.container): "none"}}})
				ref := g.s.DashboardCards(g.dashboard)[0]
				if got := tenant(t, g).must(http.StatusForbidden, "POST", fmt.Sprintf("/api/card/%d/query", ref.CardID), nil); got != "You don't have permissions to do that." {
					t.Errorf("body %v", got)
				}
			}},
		{"dashboard API tests (e.g. referenced-entities tests): POST dashboard/:id/dashcard/:dc/card/:card/query is 202 with status \"completed\"",
			func(t *testing.T, g *guide) {
				for _, ref := range g.s.DashboardCards(g.dashboard) {
					if res := cardResult(t, g.admin, g, ref); res["status"] != "completed" {
						t.Errorf("card %q: %v", ref.Name, res["status"])
					}
				}
			}},
		{"test/metabase/query_processor/middleware/permissions_test.clj: a query without data perms fails with status failed, \"You do not have permissions to run this query.\", type missing-required-permissions",
			func(t *testing.T, g *guide) {
				example := g.s.DashboardCards(exampleDashboardID)
				res := tenant(t, g).obj(http.StatusAccepted, "POST", fmt.Sprintf("/api/card/%d/query", example[0].CardID), nil)
				if res["status"] != "failed" || res["error"] != "You do not have permissions to run this query." || res["error_type"] != "missing-required-permissions" {
					t.Errorf("got %v", res)
				}
			}},
	}
	for _, gen := range Generations() {
		for i, tc := range cases {
			t.Run(fmt.Sprintf("%s/%d", gen, i), func(t *testing.T) {
				t.Log(tc.source)
				tc.run(t, tenantGuide(t, Options{Version: gen.Tag()}, "blocked"))
			})
		}
	}
}
