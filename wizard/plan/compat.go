package plan

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

// This file holds every difference between Metabase versions and licenses that the plan branches on, so
// that no step compares version numbers itself. The facts are the contract's (metabase-api.md §3, §4, §8).

// requiredFeatures are the license features the quick start cannot do without, in "token-features" spelling.
var requiredFeatures = []struct{ key, what string }{
	{metabase.FeatureJWT, "JWT single sign-on"},
	{metabase.FeatureSandboxes, "sandboxing (row-level security)"},
	{metabase.FeatureAdvancedPermissions, "blocking a database for All Users (advanced permissions)"},
	{metabase.FeatureEmbedding, "authorized origins for interactive embedding"},
}

// MissingFeatures lists what the license lacks, as "sso_jwt (JWT single sign-on)".
func MissingFeatures(have map[string]bool) []string {
	var out []string
	for _, f := range requiredFeatures {
		if !have[f.key] {
			out = append(out, f.key+" ("+f.what+")")
		}
	}
	return out
}

// dialect is what one Metabase speaks, decided once from its version tag.
type dialect struct {
	version metabase.Version
}

func newDialect(p metabase.Properties) dialect {
	return dialect{version: metabase.ParseVersion(p.Version.Tag)}
}

// embeddingKeys are the settings that switch interactive embedding on and list its authorized origins:
// 0.51 split embedding by kind and deprecated the global names, whose setters no longer reach the new
// ones (contract §4), so writing the old names on 0.51+ would silently do nothing.
func (d dialect) embeddingKeys() (enable, origins string) {
	if d.version.AtLeast(51, 0) {
		return metabase.SettingEnableEmbeddingInteractive, metabase.SettingEmbeddingOriginsInteractive
	}
	return metabase.SettingLegacyEnableEmbedding, metabase.SettingLegacyEmbeddingOrigin
}

// xrayInSubCollection reports whether saved X-rays live in a sub-collection of "Automatically Generated
// Dashboards" rather than in it (≤ about 0.52; the boundary is unverified, so older versions look in both).
func (d dialect) xrayInSubCollection() bool { return !d.version.AtLeast(53, 0) }

// legacyGraph reports whether the permissions graph has the ≤0.49 shape ("data": {"schemas": …}) instead
// of view-data / create-queries (contract §8 "Legacy graph").
func (d dialect) legacyGraph() bool { return !d.version.AtLeast(50, 0) }

// blockDB is one group's permissions that block a whole database: the guide's "View data: Blocked".
func (d dialect) blockDB() metabase.DBPermissions {
	if d.legacyGraph() {
		return metabase.DBPermissions{"data": map[string]any{"schemas": "block", "native": "none"}}
	}
	return metabase.DBPermissions{"view-data": "blocked", "create-queries": "no", "download": map[string]any{"schemas": "none"}}
}

// isBlocked reports whether a group's permissions on a database block it. GET /api/permissions/graph leaves
// out every value that is the least permissive one of its type, and then every entry left empty
// (permissions_rest/data_permissions/graph.clj: ellide?, rename-or-ellide-kv, remove-empty-vals; master
// 2025, and permissions/models/data_permissions/graph.clj from 0.50). The least permissive view-data is
// blocked, so a database blocked for a group shows as no view-data at all, or no entry for the database
// or the group. Absent therefore means blocked; "blocked" itself is accepted too, as older emulations
// and a future Metabase that stops eliding would send it.
func (d dialect) isBlocked(perms metabase.DBPermissions) bool {
	if d.legacyGraph() {
		data, _ := perms["data"].(map[string]any)
		return data["schemas"] == "block"
	}
	v, ok := perms["view-data"]
	return !ok || v == nil || v == "blocked"
}

// sandboxDB gives a tenant group the sandboxed tables (and the query builder on them, without which
// /api/dataset refuses its queries) and blocks the database's other tables. Each table's schema key is the
// table record's own schema: "PUBLIC" on H2, "" for the SQLite Sample Database's nil schema (graph.clj
// data-permissions-graph: (or schema "")).
func (d dialect) sandboxDB(db metabase.Database, sandboxed ...metabase.Table) metabase.DBPermissions {
	isSandboxed := func(t metabase.Table) bool {
		for _, s := range sandboxed {
			if s.ID == t.ID {
				return true
			}
		}
		return false
	}
	if d.legacyGraph() {
		schemas := map[string]any{}
		for _, t := range db.Tables {
			tables := schemaMap(schemas, t.Schema)
			if isSandboxed(t) {
				tables[strconv.Itoa(t.ID)] = map[string]any{"read": "all", "query": "segmented"}
			} else {
				tables[strconv.Itoa(t.ID)] = "none"
			}
		}
		return metabase.DBPermissions{"data": map[string]any{"schemas": schemas, "native": "none"}}
	}
	view, create := map[string]any{}, map[string]any{}
	for _, t := range db.Tables {
		if isSandboxed(t) {
			schemaMap(view, t.Schema)[strconv.Itoa(t.ID)] = "sandboxed"
			schemaMap(create, t.Schema)[strconv.Itoa(t.ID)] = "query-builder"
			continue
		}
		schemaMap(view, t.Schema)[strconv.Itoa(t.ID)] = "blocked"
		schemaMap(create, t.Schema)[strconv.Itoa(t.ID)] = "no"
	}
	return metabase.DBPermissions{"view-data": view, "create-queries": create}
}

func schemaMap(m map[string]any, schema string) map[string]any {
	if s, ok := m[schema].(map[string]any); ok {
		return s
	}
	s := map[string]any{}
	m[schema] = s
	return s
}

// isSandboxed reports whether a group's permissions sandbox exactly the given tables (with the query
// builder on them, and no native SQL) and leave every other table of the database blocked. Blocked values
// are elided from the graph (see isBlocked), so "absent" counts as blocked.
func (d dialect) isSandboxed(perms metabase.DBPermissions, db metabase.Database, sandboxed ...metabase.Table) bool {
	want := map[int]bool{}
	for _, t := range sandboxed {
		want[t.ID] = true
	}
	if d.legacyGraph() {
		data, _ := perms["data"].(map[string]any)
		for _, t := range sandboxed {
			v, _ := tableLevel(data["schemas"], t).(map[string]any)
			if v["query"] != "segmented" {
				return false
			}
		}
		return true
	}
	tables := db.Tables
	if len(tables) == 0 {
		tables = sandboxed
	}
	for _, t := range tables {
		view := tableLevel(perms["view-data"], t)
		if want[t.ID] {
			if view != "sandboxed" || tableLevel(perms["create-queries"], t) != "query-builder" {
				return false
			}
			continue
		}
		if view != nil && view != "blocked" {
			return false
		}
	}
	for _, t := range sandboxed {
		if _, ok := db.TableByID(t.ID); !ok && len(db.Tables) > 0 {
			return false
		}
	}
	return true
}

// tableLevel reads a permission value for one table out of any of the graph's granularities: the whole
// database ("blocked"), a schema ({"PUBLIC": "blocked"}) or a table ({"PUBLIC": {"12": "sandboxed"}}).
func tableLevel(v any, table metabase.Table) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	s, ok := m[table.Schema]
	if !ok {
		return nil
	}
	if tm, ok := s.(map[string]any); ok {
		return tm[strconv.Itoa(table.ID)]
	}
	return s
}

// CookieSameSite decides the session cookie's SameSite: browsers send a Lax cookie inside an iframe only when the
// host app and Metabase are the same site, where ports do not count (http://localhost:8080 and
// http://localhost:3000 are one site). Across sites the cookie must be None, which browsers accept only
// with Secure, that is over HTTPS (contract §15). The registrable domain is approximated by the last two
// labels of the host name; IP addresses and single-label hosts must match whole.
func CookieSameSite(hostApp, metabaseURL string) (value string, warning string, err error) {
	a, err := siteOf(hostApp)
	if err != nil {
		return "", "", fmt.Errorf("host app URL %w", err)
	}
	b, err := siteOf(metabaseURL)
	if err != nil {
		return "", "", fmt.Errorf("Metabase URL %w", err)
	}
	if SameSite(a, b) {
		return "lax", "", nil
	}
	warning = fmt.Sprintf("%s and %s are different sites, so Metabase's session cookie must be SameSite=None", a.Host, b.Host)
	if a.Scheme != "https" || b.Scheme != "https" {
		warning += "; browsers reject such cookies over plain HTTP, so serve both over HTTPS or sign-ins inside the iframe will fail"
	}
	return "none", warning, nil
}

// SameSite reports whether two URLs are the same site as browsers decide SameSite cookies: same scheme
// ("schemeful same-site") and same registrable domain; ports do not matter (contract §15).
func SameSite(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && registrable(a.Hostname()) == registrable(b.Hostname())
}

// registrable is a host's registrable part, without the public-suffix list: the host itself for IPs,
// localhost and two-label names, else its last two labels.
func registrable(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if strings.Count(host, ".") < 2 || strings.Trim(host, "0123456789.") == "" || strings.Contains(host, ":") {
		return host
	}
	parts := strings.Split(host, ".")
	return strings.Join(parts[len(parts)-2:], ".")
}
