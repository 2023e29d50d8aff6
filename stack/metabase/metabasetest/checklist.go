package metabasetest

// GET /api/ee/embedding-hub/checklist, the data behind the admin "Embedding setup guide" (Metabase 58+).
// Sources, metabase/metabase:
//   - enterprise/backend/src/metabase_enterprise/api_routes/routes.clj ee-routes-map "/embedding-hub"
//     (premium-handler ... :embedding): without the :embedding token feature the whole route answers the
//     ee-feature-error 402 ("Embedding is a paid feature ..."), before authentication; the routes themselves
//     are +auth (any signed-in user, not only admins).
//   - enterprise/backend/src/metabase_enterprise/embedding_hub/api.clj `embedding-hub-checklist`, three shapes
//     over its history (the release each first shipped in is UNVERIFIED; see docs/reset-notes.md):
//     flat6  (id 24797660121): add-data, create-dashboard, configure-row-column-security, create-test-embed,
//     embed-production, secure-embeds.
//     flat10 (commit 01050204): flat6 + create-models, enable-tenants, create-tenants and a constant-false
//     setup-data-segregation-strategy.
//     nested (id 58810295219, newest): {"checklist": {13 booleans}, "data-isolation-strategy": null|"row-column-
//     level-security"|"connection-impersonation"|"database-routing"} with sso-configured in place of
//     secure-embeds.

import "net/http"

// checklistShape is which response shape a version has: "" when it has no embedding hub.
type checklistShape int

const (
	noChecklist checklistShape = iota
	checklistFlat6
	checklistFlat10
	checklistNested
)

// checklistShapeOf maps the emulated version to a shape: none before 58 (the hub is a 58 feature, per the
// issue and the docs; UNVERIFIED in the source), flat6 for 58, flat10 for 59, nested from 60. The inner
// boundaries are inferred from merge dates (tenants, metabase/metabase#66661, 2025-12-08; the setup guide's
// permissions and SSO sub-pages, #70268 and #70477, 2026-03) against the release dates (v0.60.2 on 2026-04-24):
// UNVERIFIED. Clients must accept every shape.
func (s *Server) checklistShapeOf() checklistShape {
	major := versionMajor(s.opts.Version)
	if g := s.gen(); major == 0 && g == Gen64 { // "latest" or an unparsable tag emulates the newest
		major = g.Major()
	}
	switch {
	case major < 58:
		return noChecklist
	case major == 58:
		return checklistFlat6
	case major == 59:
		return checklistFlat10
	}
	return checklistNested
}

// registerChecklistRoutes adds the checklist for the versions that have it; on older ones the path falls to
// the /api/ catch-all 404, as on a Metabase without the route.
func (s *Server) registerChecklistRoutes(mux *http.ServeMux) {
	if s.checklistShapeOf() == noChecklist {
		return
	}
	mux.Handle("GET /api/ee/embedding-hub/checklist", s.api(public, s.embeddingChecklist))
}

func (s *Server) embeddingChecklist(c *call) (int, any, error) {
	// premium-handler wraps +auth: the feature is checked first.
	if !s.features()["embedding"] {
		return 0, nil, premiumErr("Embedding")
	}
	if c.u == nil {
		return 0, nil, errUnauthenticated
	}
	k := s.checklistFacts()
	switch s.checklistShapeOf() {
	case checklistFlat6:
		return http.StatusOK, map[string]bool{
			"add-data": k.addData, "create-dashboard": k.dashboard, "configure-row-column-security": k.sandboxes,
			"create-test-embed": k.testEmbed, "embed-production": k.prodEmbed, "secure-embeds": k.sso,
		}, nil
	case checklistFlat10:
		return http.StatusOK, map[string]bool{
			"add-data": k.addData, "create-dashboard": k.dashboard, "create-models": k.models,
			"configure-row-column-security": k.sandboxes, "create-test-embed": k.testEmbed,
			"embed-production": k.prodEmbed, "secure-embeds": k.sso, "enable-tenants": k.useTenants,
			"create-tenants": k.tenants, "setup-data-segregation-strategy": false,
		}, nil
	}
	enableTenants := k.useTenants && k.sharedTenantColl
	segregation := k.sandboxes // impersonation and database routing are not emulated
	var strategy any
	if k.sandboxes {
		strategy = "row-column-level-security"
	}
	return http.StatusOK, map[string]any{
		"checklist": map[string]bool{
			"add-data": k.addData, "create-dashboard": k.dashboard, "create-models": k.models,
			"configure-row-column-security": k.sandboxes, "create-test-embed": k.testEmbed || k.guestEmbed,
			"embed-production":                    k.prodEmbed,
			"data-permissions-and-enable-tenants": enableTenants && k.tenants && segregation,
			"enable-tenants":                      enableTenants, "move-dashboard-to-shared": false,
			"create-tenants": k.tenants, "setup-data-segregation-strategy": segregation,
			"sso-configured": k.sso, "sso-auth-manual-tested": k.ssoTested,
		},
		"data-isolation-strategy": strategy,
	}, nil
}

// checklistFacts are the app-database facts the checklist reads, from the emulator's state. Caller holds s.mu.
type checklistFacts struct {
	addData, dashboard, models, sandboxes, testEmbed, prodEmbed, guestEmbed, sso, ssoTested bool
	useTenants, sharedTenantColl, tenants                                                   bool
}

func (s *Server) checklistFacts() checklistFacts {
	var k checklistFacts
	// has-user-added-database?: a non-sample, non-audit database, or a CSV upload into the Sample Database. The
	// emulator has only the Sample Database and no uploads.
	k.addData = false
	// has-user-created-dashboard?: an unarchived dashboard other than the example dashboard (setting
	// example-dashboard-id) and outside the audit collections (the emulator has none).
	// The emulator's seeded example dashboard is the one its internal user created (content.go); the setting
	// wins when set.
	example := exampleDashboardID
	if v, ok := s.rawSetting("example-dashboard-id").(float64); ok {
		example = int(v)
	}
	for _, d := range s.st.Dashboards {
		if d.ID == example && (d.CreatorID == internalUserID || s.rawSetting("example-dashboard-id") != nil) {
			continue
		}
		if d.CollectionID != nil {
			if coll := s.st.Collections[*d.CollectionID]; coll != nil && coll.Archived {
				continue // Metabase archives a dashboard with its collection
			}
		}
		k.dashboard = true
		break
	}
	// has-user-created-models?: the emulator stores no cards of type model.
	k.models = false
	// has-configured-sandboxes?: the sandboxes feature and at least one sandbox row.
	k.sandboxes = s.features()["sandboxes"] && len(s.st.Sandboxes) > 0
	// Settings the admin UI sets when the user copies a snippet or tests SSO by hand.
	k.testEmbed, _ = s.rawSetting("embedding-hub-test-embed-snippet-created").(bool)
	k.prodEmbed, _ = s.rawSetting("embedding-hub-production-embed-snippet-created").(bool)
	k.ssoTested, _ = s.rawSetting("embedding-hub-sso-auth-manual-tested").(bool)
	// has-published-guest-embed?: a card or dashboard with enable_embedding; the emulator has no static embeds.
	k.guestEmbed = false
	// has-configured-sso?: the sso-jwt feature, jwt-enabled and jwt-configured (SAML is not emulated).
	// s.setting("jwt-enabled") already folds in the feature gate and the secret + IdP URI check.
	k.sso, _ = s.setting("jwt-enabled").(bool)
	// perms/use-tenants, shared tenant collections and active tenants: the emulator has no tenants.
	k.useTenants, _ = s.rawSetting("use-tenants").(bool)
	k.sharedTenantColl, k.tenants = false, false
	return k
}
