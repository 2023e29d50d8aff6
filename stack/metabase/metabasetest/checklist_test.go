package metabasetest

import (
	"net/http"
	"slices"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func checklistKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestChecklistAbsentBefore58(t *testing.T) {
	for _, v := range []string{"v1.52.4", "v1.55.9", "v1.57.6"} {
		s := NewServer(Options{Version: v, LicenseToken: TestLicenseToken})
		t.Cleanup(s.Close)
		a := admin(t, s)
		a.base = withTestingRoutes(t, s)
		if r := a.do("GET", "/api/ee/embedding-hub/checklist", nil); r.status != http.StatusNotFound || string(r.body) != "API endpoint does not exist." {
			t.Errorf("%s: %s, want 404 API endpoint does not exist.", v, r)
		}
	}
}

// The shape per version, and what the finished quick start marks done.
func TestChecklistAfterTheGuide(t *testing.T) {
	for _, tc := range []struct {
		version string
		nested  bool
		keys    []string
		done    []string
	}{
		{"v1.58.31", false,
			[]string{"add-data", "configure-row-column-security", "create-dashboard", "create-test-embed", "embed-production", "secure-embeds"},
			[]string{"configure-row-column-security", "create-dashboard", "secure-embeds"}},
		{"v1.59.28", false,
			[]string{"add-data", "configure-row-column-security", "create-dashboard", "create-models", "create-tenants", "create-test-embed", "embed-production", "enable-tenants", "secure-embeds", "setup-data-segregation-strategy"},
			[]string{"configure-row-column-security", "create-dashboard", "secure-embeds"}},
		{"v1.60.3", true,
			[]string{"add-data", "configure-row-column-security", "create-dashboard", "create-models", "create-tenants", "create-test-embed", "data-permissions-and-enable-tenants", "embed-production", "enable-tenants", "move-dashboard-to-shared", "setup-data-segregation-strategy", "sso-auth-manual-tested", "sso-configured"},
			[]string{"configure-row-column-security", "create-dashboard", "setup-data-segregation-strategy", "sso-configured"}},
	} {
		t.Run(tc.version, func(t *testing.T) {
			s := NewServer(Options{Version: tc.version})
			t.Cleanup(s.Close)
			base := withTestingRoutes(t, s)
			a := admin(t, s)
			a.base = base
			// premium-handler :embedding runs before +auth: 402 without the feature, even anonymously.
			for _, c := range []*rawClient{a, newRawClient(t, base)} {
				if r := c.do("GET", "/api/ee/embedding-hub/checklist", nil); r.status != http.StatusPaymentRequired {
					t.Errorf("without a license: %s, want 402", r)
				}
			}
			a.must(http.StatusNoContent, "PUT", "/api/setting/premium-embedding-token", map[string]any{"value": TestLicenseToken})
			if r := newRawClient(t, base).do("GET", "/api/ee/embedding-hub/checklist", nil); r.status != http.StatusUnauthorized {
				t.Errorf("licensed, no session: %s, want 401", r)
			}
			fresh := a.obj(http.StatusOK, "GET", "/api/ee/embedding-hub/checklist", nil)
			if tc.nested {
				if fresh["data-isolation-strategy"] != nil {
					t.Errorf("fresh data-isolation-strategy = %v, want null", fresh["data-isolation-strategy"])
				}
				fresh = fresh["checklist"].(map[string]any)
			}
			if got := checklistKeys(fresh); !slices.Equal(got, tc.keys) {
				t.Fatalf("keys = %v, want %v", got, tc.keys)
			}
			for k, v := range fresh {
				if v != false {
					t.Errorf("fresh instance: %s = %v, want false", k, v)
				}
			}
		})
	}
	for _, tc := range []struct {
		version string
		nested  bool
		done    []string
	}{
		{"v1.58.31", false, []string{"configure-row-column-security", "create-dashboard", "secure-embeds"}},
		{"v1.59.28", false, []string{"configure-row-column-security", "create-dashboard", "secure-embeds"}},
		{"v1.60.3", true, []string{"configure-row-column-security", "create-dashboard", "setup-data-segregation-strategy", "sso-configured"}},
		{"v1.64.1", true, []string{"configure-row-column-security", "create-dashboard", "setup-data-segregation-strategy", "sso-configured"}},
	} {
		t.Run(tc.version+"/guided", func(t *testing.T) {
			g := setupGuide(t, Options{Version: tc.version})
			base := withTestingRoutes(t, g.s)
			// +auth only: a signed-in tenant user may read it too.
			user := g.signIn(t, "rene@example.com", jwt.MapClaims{"account_id": 28, "groups": []string{"Customer-Acme"}})
			user.base = base
			got := user.obj(http.StatusOK, "GET", "/api/ee/embedding-hub/checklist", nil)
			if tc.nested {
				if got["data-isolation-strategy"] != "row-column-level-security" {
					t.Errorf("data-isolation-strategy = %v, want row-column-level-security", got["data-isolation-strategy"])
				}
				got = got["checklist"].(map[string]any)
			}
			var done []string
			for k, v := range got {
				if v == true {
					done = append(done, k)
				}
			}
			slices.Sort(done)
			if !slices.Equal(done, tc.done) {
				t.Errorf("done after the guide = %v, want %v", done, tc.done)
			}
			// Turning JWT off un-checks SSO.
			g.admin.base = base
			g.admin.must(http.StatusNoContent, "PUT", "/api/setting/jwt-enabled", map[string]any{"value": false})
			again := g.admin.obj(http.StatusOK, "GET", "/api/ee/embedding-hub/checklist", nil)
			if tc.nested {
				again = again["checklist"].(map[string]any)
			}
			if again["secure-embeds"] == true || again["sso-configured"] == true {
				t.Errorf("SSO still done with jwt-enabled false: %v", again)
			}
		})
	}
}
