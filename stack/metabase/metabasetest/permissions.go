package metabasetest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Groups, the data permissions graph and the collection graph (contract §5, §8, §10).

// errStale is the 409 for a graph PUT with an old revision (contract §8; §10 uses the same text).
var errStale = textErr(http.StatusConflict,
	"Looks like someone else edited the permissions and your data is out of date. Please fetch new data and try again.")

// groupJSON is a group as GET /api/permissions/group lists it: the keys frontend/src/metabase-types/api/
// group.ts Group requires (id, name, member_count), plus magic_group_type from Gen55 (before it, Metabase
// finds its magic groups by name: permissions_group model all-users/admin look up by name) and
// is_tenant_group with the tenants feature (Gen64; permissions_group model set-default-permission-values!).
func (s *Server) groupJSON(g *group) map[string]any {
	n := 0
	for _, u := range s.st.Users {
		if u.inGroup(g.ID) {
			n++
		}
	}
	out := map[string]any{"id": g.ID, "name": g.Name, "member_count": n}
	if s.gen() >= Gen55 {
		out["magic_group_type"] = g.MagicType
	}
	if s.gen() >= Gen64 {
		out["is_tenant_group"] = g.MagicType != nil && *g.MagicType == "all-external-users"
	}
	return out
}

func (s *Server) listGroups(c *call) (int, any, error) {
	ids := sortedKeys(s.st.Groups)
	// contract §5: ordered by name.
	slices.SortStableFunc(ids, func(a, b int) int {
		return strings.Compare(strings.ToLower(s.st.Groups[a].Name), strings.ToLower(s.st.Groups[b].Name))
	})
	out := []map[string]any{}
	for _, id := range ids {
		if g := s.st.Groups[id]; !s.groupListed(g) {
			continue
		}
		out = append(out, s.groupJSON(s.st.Groups[id]))
	}
	return http.StatusOK, out, nil
}

// groupListed is permissions_rest/db.clj permissions-groups (newest, id 65858741445; Gen64 here, boundary
// UNVERIFIED): with tenants off the tenant groups ("All tenant users") are left out, and without
// advanced-permissions so is the Data Analysts magic group. GET /api/permissions/group/:id still finds them.
func (s *Server) groupListed(g *group) bool {
	if s.gen() < Gen64 || g.MagicType == nil {
		return true
	}
	switch *g.MagicType {
	case "all-external-users":
		return false // tenants are off in the emulator (use-tenants false)
	case "data-analyst":
		return s.features()["advanced_permissions"]
	}
	return true
}

func (s *Server) getGroup(c *call) (int, any, error) {
	id, err := pathID(c.r, "id")
	if err != nil {
		return 0, nil, err
	}
	g := s.st.Groups[id]
	if g == nil {
		return 0, nil, errNotFound
	}
	out := s.groupJSON(g)
	members := []map[string]any{}
	for _, uid := range sortedKeys(s.st.Users) {
		if u := s.st.Users[uid]; u.inGroup(id) && u.Type != "api-key" {
			// group.ts Member: user_id, group_id, membership_id, email, first_name, last_name,
			// is_group_manager, is_superuser.
			members = append(members, map[string]any{"user_id": u.ID, "group_id": id, "email": u.Email,
				"first_name": u.FirstName, "last_name": u.LastName, "common_name": commonName(u),
				"is_group_manager": false, "is_superuser": u.Superuser, "membership_id": u.ID*1000 + id})
		}
	}
	out["members"] = members
	return http.StatusOK, out, nil
}

func (s *Server) createGroup(c *call) (int, any, error) {
	var b struct {
		Name *string `json:"name"`
	}
	if err := decodeBody(c.r, &b); err != nil {
		return 0, nil, err
	}
	if b.Name == nil || strings.TrimSpace(*b.Name) == "" {
		return 0, nil, fieldErr(http.StatusBadRequest, "name", "value must be a non-blank string.")
	}
	for _, g := range s.st.Groups {
		// permissions_group model check-name-not-already-taken: case-insensitive, 400 plain text.
		if strings.EqualFold(g.Name, *b.Name) {
			return 0, nil, textErr(http.StatusBadRequest, "A group with that name already exists.")
		}
	}
	g := s.st.addGroup(*b.Name, nil)
	s.st.Perms[g.ID] = s.newGroupPerms()
	s.st.CollPerms[g.ID] = map[string]string{"root": "none"}
	return http.StatusOK, s.groupJSON(g), nil
}

// levels orders each permission's values from least to most permissive (permissions/schema.clj
// data-permissions lists them most-permissive first; sandboxed/impersonated are API-only view-data values).
var levels = map[string][]string{
	"view-data":      {"blocked", "sandboxed", "impersonated", "legacy-no-self-service", "unrestricted"},
	"create-queries": {"no", "query-builder", "query-builder-and-native"},
	"download":       {"none", "limited", "full"},
	"data-model":     {"none", "all"},
	"details":        {"no", "yes"},
}

func rank(perm, v string) int { return slices.Index(levels[perm], v) }

// least is the value permissions_rest/data_permissions/graph.clj ellide? leaves out of the GET graph:
// perms/least-permissive-data-perms-value (view-data :blocked, create-queries :no, download :no → nil,
// manage-table-metadata :no → nil, manage-database :no).
func least(perm string) string { return levels[perm][0] }

// newGroupPerms is data_permissions.clj new-group-permissions, run by the PermissionsGroup after-insert hook
// set-default-permission-values! (permissions_group model): one database-level value per permission,
// create-queries and download the most restrictive of All Users' values on the database (defaults
// query-builder-and-native and full), data-model and details no. view-data is the EE
// new-group-view-data-permission-level (advanced_permissions common.clj, ids 1759078657, 2576518698):
// blocked when All Users has any blocked view-data row on the database (with advanced-permissions), or a
// sandbox there (with sandboxes); otherwise unrestricted (always, on OSS).
func (s *Server) newGroupPerms() *dbPerms {
	all := s.st.Perms[allUsersID]
	feats := s.features()
	vd := "unrestricted"
	for _, v := range all.ViewData {
		if v == "blocked" && feats["advanced_permissions"] || v == "sandboxed" && feats["sandboxes"] {
			vd = "blocked"
		}
	}
	return &dbPerms{ViewData: perTable(vd), CreateQueries: perTable(leastOf("create-queries", all.CreateQueries)),
		Download: perTable(leastOf("download", all.Download)), DataModel: perTable("none"), Details: "no"}
}

func leastOf(perm string, m map[int]string) string {
	least := levels[perm][len(levels[perm])-1]
	for _, v := range m {
		if rank(perm, v) < rank(perm, least) {
			least = v
		}
	}
	return least
}

// granular renders one permission's per-table values the way graph.clj api-graph does. Metabase stores one
// database-level row when every table agrees (data_permissions.clj set-table-permissions! "replaced with a
// single database-level row"), shown as a string and left out when it is the least value (rename-or-ellide-kv
// / granular-perm-rename). Otherwise {"<schema>": {"<table id>": value}} without the least-valued tables
// (api-table-perms), and nil when nothing is left (remove-empty-vals). The schema key is the table's schema,
// "" for SQLite's nil (data-permissions-graph: (or schema "")).
func (s *Server) granular(perm string, m map[int]string, shown func(int, string) string) any {
	vals := map[int]string{}
	for id, v := range m {
		if shown != nil {
			v = shown(id, v)
		}
		vals[id] = v
	}
	first := vals[tableIDs()[0]]
	same := true
	for _, v := range vals {
		same = same && v == first
	}
	if same {
		if first == least(perm) {
			return nil
		}
		return first
	}
	tables := map[string]string{}
	for id, v := range vals {
		if v != least(perm) {
			tables[strconv.Itoa(id)] = v
		}
	}
	if len(tables) == 0 {
		return nil
	}
	return map[string]any{s.sampleSchemaKey(): tables}
}

// apiPerms is one group's Sample Database entry in GET /api/permissions/graph, or nil when every value is
// elided (remove-empty-vals drops the entry). Sandboxed tables show view-data "sandboxed"
// (add-sandboxes-to-permissions-graph): Metabase stores them unrestricted plus a sandbox row.
func (s *Server) apiPerms(gid int, p *dbPerms) map[string]any {
	if gid == adminsID {
		// graph.clj add-admin-perms-to-permissions-graph: not stored, always added. transforms only in the
		// newest read (Gen64 here; boundary UNVERIFIED).
		out := map[string]any{"view-data": "unrestricted", "create-queries": "query-builder-and-native",
			"download": map[string]any{"schemas": "full"}, "data-model": map[string]any{"schemas": "all"}, "details": "yes"}
		if s.gen() >= Gen64 {
			out["transforms"] = "yes"
		}
		return out
	}
	out := map[string]any{}
	if v := s.granular("view-data", p.ViewData, nil); v != nil {
		out["view-data"] = v
	}
	if v := s.granular("create-queries", p.CreateQueries, nil); v != nil {
		out["create-queries"] = v
	}
	if v := s.granular("download", p.Download, nil); v != nil {
		out["download"] = map[string]any{"schemas": v}
	}
	if v := s.granular("data-model", p.DataModel, nil); v != nil {
		out["data-model"] = map[string]any{"schemas": v}
	}
	if g := s.st.Groups[gid]; g != nil && g.MagicType != nil && *g.MagicType == "data-analyst" {
		// graph.clj add-data-analyst-perms-to-permissions-graph: implicit data-model all.
		out["data-model"] = map[string]any{"schemas": "all"}
	}
	if p.Details == "yes" {
		out["details"] = "yes"
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (s *Server) graphJSON() map[string]any {
	groups := map[string]any{}
	for id, p := range s.st.Perms {
		if entry := s.apiPerms(id, p); entry != nil {
			groups[strconv.Itoa(id)] = map[string]any{strconv.Itoa(sampleDBID): entry}
		}
	}
	return map[string]any{"revision": s.st.PermRevision, "groups": groups}
}

func (s *Server) getGraph(c *call) (int, any, error) {
	return http.StatusOK, s.graphJSON(), nil
}

// invalidGraph is the 400 for a graph the schema refuses (contract §8).
func invalidGraph(format string, args ...any) *apiError {
	return textErr(http.StatusBadRequest, "Cannot parse permissions graph because it is invalid: "+format, args...)
}

// parsePerm turns a graph value (a string, or {"<schema>": string | {"<table id>": string}}) into per-table
// values, keeping tables the body does not name.
func (s *Server) parsePerm(perm string, raw any, cur map[int]string, tableLevel []string) (map[int]string, error) {
	out := maps.Clone(cur)
	valid := func(v any, table bool) (string, error) {
		str, ok := v.(string)
		if !ok || rank(perm, str) < 0 || !table && slices.Contains(tableLevel, str) {
			return "", invalidGraph("%s: %v is not a valid value", perm, v)
		}
		return str, nil
	}
	if m, ok := raw.(map[string]any); ok {
		// graph.clj resolve-api-value (newest): a table map is applied by table id whatever the schema key
		// says; a schema-level value applies to the tables of that schema (key "" = nil schema), so a key that
		// names no schema of the database changes nothing.
		for schema, sv := range m {
			if tables, ok := sv.(map[string]any); ok {
				for tid, tv := range tables {
					id, err := strconv.Atoi(tid)
					if err != nil || tableByID(id) == nil {
						return nil, invalidGraph("%s: unknown table %q", perm, tid)
					}
					if out[id], err = valid(tv, true); err != nil {
						return nil, err
					}
				}
				continue
			}
			v, err := valid(sv, true)
			if err != nil {
				return nil, err
			}
			if schema != s.sampleSchemaKey() {
				continue
			}
			for id := range out {
				out[id] = v
			}
		}
		return out, nil
	}
	v, err := valid(raw, false)
	if err != nil {
		return nil, err
	}
	for id := range out {
		out[id] = v
	}
	return out, nil
}

// schemasOf unwraps download / data-model's {"schemas": …}.
func schemasOf(perm string, raw any) (any, error) {
	m, ok := raw.(map[string]any)
	if !ok || m["schemas"] == nil || len(m) != 1 {
		return nil, invalidGraph("%s must be {\"schemas\": …}", perm)
	}
	return m["schemas"], nil
}

// applyDBPerms applies one group's body for the Sample Database onto p (contract §8): keys present are
// updated in Metabase's order (details, data-model, download, create-queries, view-data) with its side rules.
func (s *Server) applyDBPerms(p *dbPerms, body map[string]any) error {
	feats := s.features()
	for k := range body {
		switch k {
		case "view-data", "create-queries", "download", "data-model", "details", "transforms":
		case "data":
			// contract §8: the legacy key is accepted by the schema and ignored by the updater.
		default:
			return invalidGraph("unknown permission %q", k)
		}
	}
	if raw, ok := body["details"]; ok {
		if v, _ := raw.(string); rank("details", v) < 0 {
			return invalidGraph("details: %v is not a valid value", raw)
		}
		p.Details = raw.(string)
	}
	for _, perm := range []string{"data-model", "download"} {
		raw, ok := body[perm]
		if !ok {
			continue
		}
		inner, err := schemasOf(perm, raw)
		if err != nil {
			return err
		}
		cur := map[string]map[int]string{"data-model": p.DataModel, "download": p.Download}[perm]
		next, err := s.parsePerm(perm, inner, cur, nil)
		if err != nil {
			return err
		}
		maps.Copy(cur, next)
	}
	var cq, vd map[int]string
	if raw, ok := body["create-queries"]; ok {
		var err error
		if cq, err = s.parsePerm("create-queries", raw, p.CreateQueries, nil); err != nil {
			return err
		}
	}
	if raw, ok := body["view-data"]; ok {
		var err error
		if vd, err = s.parsePerm("view-data", raw, p.ViewData, []string{"sandboxed"}); err != nil {
			return err
		}
		// graph.clj validate-blocked-permissions! (newest): a database-level "blocked" in the body needs
		// advanced-permissions, whether or not the database is blocked already; table-level values are not checked.
		if raw == "blocked" && !feats["advanced_permissions"] {
			return textErr(http.StatusPaymentRequired,
				"The blocked permissions functionality is only enabled if you have a premium token with the advanced-permissions feature.")
		}
		for id, v := range vd {
			// contract §8: query-builder-and-native with blocked view-data is refused.
			if v == "blocked" && cq != nil && cq[id] == "query-builder-and-native" {
				return invalidGraph("create-queries query-builder-and-native needs view-data other than blocked")
			}
			// Sandboxing needs the sandboxes feature (contract §3).
			if v == "sandboxed" && p.ViewData[id] != "sandboxed" && !feats["sandboxes"] {
				return premiumErr("Sandboxes")
			}
		}
	}
	for id, v := range cq {
		p.CreateQueries[id] = v
		// contract §8: create-queries other than "no" forces view-data unrestricted, unless sandboxed.
		if v != "no" && p.ViewData[id] != "sandboxed" {
			p.ViewData[id] = "unrestricted"
		}
	}
	for id, v := range vd {
		p.ViewData[id] = v
		if v == "blocked" {
			// contract §8: blocking forces create-queries and download to their least.
			p.CreateQueries[id] = "no"
			p.Download[id] = "none"
		}
	}
	return nil
}

func clonePerms(p *dbPerms) *dbPerms {
	return &dbPerms{ViewData: maps.Clone(p.ViewData), CreateQueries: maps.Clone(p.CreateQueries),
		Download: maps.Clone(p.Download), DataModel: maps.Clone(p.DataModel), Details: p.Details}
}

// graphQuery reads ?force and ?skip-graph; the newest schema refuses other keys.
func graphQuery(c *call) (force, skip bool, err error) {
	q := c.r.URL.Query()
	for k := range q {
		if k != "force" && k != "skip-graph" && k != "namespace" {
			return false, false, jsonErr(http.StatusBadRequest, "", map[string]any{"errors": map[string]string{k: "disallowed key"}})
		}
	}
	return q.Get("force") == "true", q.Get("skip-graph") == "true", nil
}

// revisionOK checks the body revision against the current one unless forced (contract §8, §10).
func revisionOK(raw json.RawMessage, current int, force bool) error {
	if force {
		return nil
	}
	var rev int
	if raw == nil || json.Unmarshal(raw, &rev) != nil {
		return jsonErr(http.StatusBadRequest, "", map[string]any{"errors": map[string]string{"revision": "value must be an integer."}})
	}
	if rev != current {
		return errStale
	}
	return nil
}

func (s *Server) putGraph(c *call) (int, any, error) {
	force, skip, err := graphQuery(c)
	if err != nil {
		return 0, nil, err
	}
	var body struct {
		Revision       json.RawMessage                      `json:"revision"`
		Groups         map[string]map[string]map[string]any `json:"groups"`
		Sandboxes      []sandboxBody                        `json:"sandboxes"`
		Impersonations json.RawMessage                      `json:"impersonations"`
	}
	if err := decodeBody(c.r, &body); err != nil {
		return 0, nil, invalidGraph("%v", err)
	}
	if err := revisionOK(body.Revision, s.st.PermRevision, force); err != nil {
		return 0, nil, err
	}
	if body.Sandboxes != nil && !s.features()["sandboxes"] {
		// contract §3: a sandboxes key without the feature is 402.
		return 0, nil, premiumErr("Sandboxes")
	}
	// All or nothing: work on copies, commit at the end.
	perms := map[int]*dbPerms{}
	for gid, dbs := range body.Groups {
		id, err := strconv.Atoi(gid)
		if err != nil || s.st.Groups[id] == nil {
			return 0, nil, invalidGraph("unknown group %q", gid)
		}
		p := clonePerms(s.st.Perms[id])
		for dbid, dbBody := range dbs {
			if dbid != strconv.Itoa(sampleDBID) {
				return 0, nil, invalidGraph("unknown database %q", dbid)
			}
			if err := s.applyDBPerms(p, dbBody); err != nil {
				return 0, nil, err
			}
		}
		// Administrators always keep full access; sending their entry back unchanged is normal.
		if id != adminsID {
			perms[id] = p
		}
	}
	// permsOf hands the sandbox upsert the pending copy, so a failure later in the PUT changes nothing.
	permsOf := func(gid int) *dbPerms {
		if p, ok := perms[gid]; ok {
			return p
		}
		if s.st.Perms[gid] == nil || gid == adminsID {
			return s.st.Perms[gid]
		}
		perms[gid] = clonePerms(s.st.Perms[gid])
		return perms[gid]
	}
	sandboxes := maps.Clone(s.st.Sandboxes)
	created, err := s.upsertSandboxes(sandboxes, body.Sandboxes, permsOf)
	if err != nil {
		return 0, nil, err
	}
	if err := s.sandboxedNeedsSandbox(perms, sandboxes); err != nil {
		return 0, nil, err
	}
	maps.Copy(s.st.Perms, perms)
	s.st.Sandboxes = sandboxes
	s.pruneSandboxes()
	s.st.PermRevision++
	var out map[string]any
	if skip {
		out = map[string]any{"revision": s.st.PermRevision}
	} else {
		out = s.graphJSON()
	}
	if len(created) > 0 {
		out["sandboxes"] = created
	}
	return http.StatusOK, out, nil
}

// sandboxedNeedsSandbox settles tables a PUT left "sandboxed" without a sandbox row. Metabase stores the
// API value sandboxed as unrestricted (graph.clj api-val->db-val {:sandboxed :unrestricted}); only a sandbox
// row makes it read "sandboxed" again (add-sandboxes-to-permissions-graph). So without a row the tenant sees
// every row: the emulator stores unrestricted, as Metabase does. Options.Strict refuses such a PUT instead.
func (s *Server) sandboxedNeedsSandbox(perms map[int]*dbPerms, sbs map[int]*sandbox) error {
	for gid, p := range perms {
		for _, tid := range tableIDs() {
			if p.ViewData[tid] != "sandboxed" || findSandbox(sbs, gid, tid) != nil {
				continue
			}
			if s.opts.Strict {
				return textErr(http.StatusBadRequest,
					"Table %d is sandboxed for group %d but has no sandbox: send it in \"sandboxes\" (strict mode).", tid, gid)
			}
			p.ViewData[tid] = "unrestricted"
		}
	}
	return nil
}

func (s *Server) getCollectionGraph(c *call) (int, any, error) {
	return http.StatusOK, s.collectionGraphJSON(), nil
}

func (s *Server) collectionGraphJSON() map[string]any {
	groups := map[string]any{}
	for gid, perms := range s.st.CollPerms {
		g := map[string]string{"root": "none"}
		for _, cid := range sortedKeys(s.st.Collections) {
			if s.personalOwner(s.st.Collections[cid]) == 0 {
				g[strconv.Itoa(cid)] = "none"
			}
		}
		if gid == adminsID {
			for k := range g {
				g[k] = "write"
			}
		}
		for k, v := range perms {
			if _, ok := g[k]; ok && gid != adminsID {
				g[k] = v
			}
		}
		groups[strconv.Itoa(gid)] = g
	}
	return map[string]any{"revision": s.st.CollRevision, "groups": groups}
}

func (s *Server) putCollectionGraph(c *call) (int, any, error) {
	force, skip, err := graphQuery(c)
	if err != nil {
		return 0, nil, err
	}
	var body map[string]json.RawMessage
	if err := decodeBody(c.r, &body); err != nil {
		return 0, nil, err
	}
	// contract §10: the body is closed: namespace, revision, groups.
	for k := range body {
		if k != "namespace" && k != "revision" && k != "groups" {
			return 0, nil, jsonErr(http.StatusBadRequest, "", map[string]any{"errors": map[string]string{k: "disallowed key"}})
		}
	}
	if err := revisionOK(body["revision"], s.st.CollRevision, force); err != nil {
		return 0, nil, err
	}
	var groups map[string]map[string]string
	if err := json.Unmarshal(body["groups"], &groups); err != nil {
		return 0, nil, jsonErr(http.StatusBadRequest, "", map[string]any{"errors": map[string]string{
			"groups": "map from group id to map from collection id or \"root\" to write, read or none"}})
	}
	next := map[int]map[string]string{}
	for gid, colls := range groups {
		id, err := strconv.Atoi(gid)
		if err != nil || s.st.Groups[id] == nil {
			return 0, nil, jsonErr(http.StatusBadRequest, "", map[string]any{"errors": map[string]string{"groups": "unknown group " + gid}})
		}
		m := maps.Clone(s.st.CollPerms[id])
		for cid, v := range colls {
			if v != "write" && v != "read" && v != "none" {
				return 0, nil, jsonErr(http.StatusBadRequest, "", map[string]any{"errors": map[string]string{
					"groups": fmt.Sprintf("%s: value must be write, read or none", cid)}})
			}
			if cid != "root" {
				n, err := strconv.Atoi(cid)
				coll := s.st.Collections[n]
				if err != nil || coll == nil {
					return 0, nil, jsonErr(http.StatusBadRequest, "", map[string]any{"errors": map[string]string{
						"groups": "collection ids must be digit strings of existing collections or \"root\": " + cid}})
				}
				if s.personalOwner(coll) != 0 {
					// models/permissions check-not-personal-collection-or-descendant: a plain Exception, so 500.
					return 0, nil, jsonErr(http.StatusInternalServerError,
						"You cannot edit permissions for a Personal Collection or its descendants.", nil)
				}
			}
			if id == adminsID && v != "write" {
				// Administrators always write everywhere; changing that inserts or deletes a permissions row
				// for the admin group, which models/permissions.clj assert-not-admin-group refuses with
				// {:status-code 400} (several versions read, e.g. ids 3001005452, 603565480): plain text.
				return 0, nil, textErr(http.StatusBadRequest, "You cannot create or revoke permissions for the 'Admin' group.")
			}
			m[cid] = v
		}
		if id != adminsID {
			next[id] = m
		}
	}
	maps.Copy(s.st.CollPerms, next)
	s.st.CollRevision++
	if skip {
		return http.StatusOK, map[string]any{"revision": s.st.CollRevision}, nil
	}
	return http.StatusOK, s.collectionGraphJSON(), nil
}
