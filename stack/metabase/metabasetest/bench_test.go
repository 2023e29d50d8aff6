package metabasetest

import (
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
