package metabasetest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkSandboxedDataset measures a tenant's POST /api/dataset over HTTP, sandbox applied.
func BenchmarkSandboxedDataset(b *testing.B) {
	g := setupGuide(b, Options{})
	c := g.signIn(b, "tenant@example.com", jwt.MapClaims{"account_id": 28, "groups": []string{"Customer-Acme"}})
	q := map[string]any{"database": 1, "type": "query", "query": map[string]any{"source-table": g.invoices}}
	for b.Loop() {
		c.must(http.StatusAccepted, "POST", "/api/dataset", q)
	}
}

// BenchmarkSSOSignIn measures GET /auth/sso: verify, provision, sync groups, set the session.
func BenchmarkSSOSignIn(b *testing.B) {
	g := setupGuide(b, Options{})
	for b.Loop() {
		g.signIn(b, "tenant@example.com", jwt.MapClaims{"account_id": 28, "groups": []string{"Customer-Acme"}})
	}
}

// BenchmarkXrayCardsInProcess runs every card of the saved X-ray as a sandboxed tenant, without HTTP: the
// query processor's own cost (filters, implicit joins through ACCOUNT_ID, breakouts, sandboxes).
func BenchmarkXrayCardsInProcess(b *testing.B) {
	g := tenantGuide(b, Options{}, "sandboxed")
	tenant(b, g)
	var u *user
	for _, cand := range g.s.st.Users {
		if cand.Email == "tenant@example.com" {
			u = cand
		}
	}
	var bodies []datasetBody
	for _, ref := range g.s.DashboardCards(g.dashboard) {
		sc := g.s.cardByID(ref.CardID)
		raw, _ := json.Marshal(sc.card["dataset_query"])
		var body datasetBody
		if err := json.Unmarshal(raw, &body); err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	b.ResetTimer()
	for b.Loop() {
		for _, body := range bodies {
			if _, err := g.s.runQuery(u, body, false); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(bodies)), "ns/card")
}
