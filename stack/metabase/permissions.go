package metabase

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Magic group types (contract §5): find All Users and Administrators by these, never by assumed ids.
// Groups carry magic_group_type from 0.55 on; before that Metabase itself finds its magic groups by name:
// permissions_group.clj (0.50–0.54) defines all-users-group-name "All Users" and admin-group-name
// "Administrators" and looks them up with (magic-group name). FindMagicGroup does the same.
const (
	MagicAllUsers = "all-internal-users"
	MagicAdmin    = "admin"
	// MagicDataAnalyst is the "Data Analysts" group of the newest versions (permissions_group.clj
	// data-analyst-group; the data permissions graph adds its implicit perms, graph.clj
	// add-data-analyst-perms-to-permissions-graph, master 2025); the frontend's isDataAnalystGroup tests
	// magic_group_type === "data-analyst" (master 2025; file path not recorded).
	MagicDataAnalyst = "data-analyst"
	// MagicAllExternalUsers is the tenants feature's "All tenant users" group (permissions_group.clj
	// create-all-external-users! when use-tenants turns on; the admin UI's group list tests
	// magic_group_type === "all-external-users", master 2025). On 0.64 with tenants off it is not listed.
	MagicAllExternalUsers = "all-external-users"
)

// magicNames are the names the magic groups have on versions without magic_group_type.
var magicNames = map[string]string{
	MagicAllUsers:         "All Users",
	MagicAdmin:            "Administrators",
	MagicDataAnalyst:      "Data Analysts",
	MagicAllExternalUsers: "All tenant users",
}

// BuiltInGroupNames are the names of every group Metabase makes itself, on any version: no tenant group
// may take one of them (a tenant "Administrators" would make its demo user a superuser).
func BuiltInGroupNames() []string {
	return []string{"Administrators", "All Users", "All tenant users", "All External Users", "Data Analysts"}
}

// Group is a permissions group.
type Group struct {
	ID             int      `json:"id"`
	Name           string   `json:"name"`
	MemberCount    int      `json:"member_count,omitempty"`
	MagicGroupType *string  `json:"magic_group_type,omitempty"`
	Members        []Member `json:"members,omitempty"`
}

// Magic reports the group's magic type, "" for user-made groups.
func (g Group) Magic() string {
	if g.MagicGroupType == nil {
		return ""
	}
	return *g.MagicGroupType
}

// Member is a user in GET /api/permissions/group/:id.
type Member struct {
	UserID int    `json:"user_id"`
	Email  string `json:"email"`
}

// Groups lists groups (GET /api/permissions/group).
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	var gs []Group
	if err := c.do(ctx, http.MethodGet, "/api/permissions/group", nil, nil, &gs); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return gs, nil
}

// Group reads a group with its members (GET /api/permissions/group/:id).
func (c *Client) Group(ctx context.Context, id int) (Group, error) {
	var g Group
	if err := c.do(ctx, http.MethodGet, "/api/permissions/group/"+strconv.Itoa(id), nil, nil, &g); err != nil {
		return Group{}, fmt.Errorf("read group %d: %w", id, err)
	}
	return g, nil
}

// CreateGroup makes a group (POST /api/permissions/group).
func (c *Client) CreateGroup(ctx context.Context, name string) (Group, error) {
	var g Group
	if err := c.do(ctx, http.MethodPost, "/api/permissions/group", nil, map[string]string{"name": name}, &g); err != nil {
		return Group{}, fmt.Errorf("create group %q: %w", name, err)
	}
	return g, nil
}

// FindGroup returns the group of that name, case-insensitively, or ok false.
func FindGroup(groups []Group, name string) (Group, bool) {
	for _, g := range groups {
		if strings.EqualFold(strings.TrimSpace(g.Name), strings.TrimSpace(name)) {
			return g, true
		}
	}
	return Group{}, false
}

// FindMagicGroup returns the group of a magic type (MagicAllUsers, MagicAdmin): by magic_group_type where
// the version sends it, else by the name Metabase gives it (see magicNames).
func FindMagicGroup(groups []Group, magic string) (Group, bool) {
	typed := false
	for _, g := range groups {
		if g.MagicGroupType != nil {
			typed = true
		}
		if g.Magic() == magic {
			return g, true
		}
	}
	if name, ok := magicNames[magic]; ok && !typed {
		for _, g := range groups {
			if g.Name == name {
				return g, true
			}
		}
	}
	return Group{}, false
}

// DBPermissions is one group's permissions on one database: "view-data", "create-queries", "download", …
// Values are either a string ("blocked") or a granular map {"PUBLIC": {"12": "sandboxed"}} (contract §8).
type DBPermissions map[string]any

// PermissionsGraph is the data permissions graph: group id → database id → permissions (contract §8).
type PermissionsGraph struct {
	Revision  int                                 `json:"revision"`
	Groups    map[string]map[string]DBPermissions `json:"groups"`
	Sandboxes []Sandbox                           `json:"sandboxes,omitempty"`
}

// PermissionsGraph reads the graph (GET /api/permissions/graph).
func (c *Client) PermissionsGraph(ctx context.Context) (PermissionsGraph, error) {
	var g PermissionsGraph
	if err := c.do(ctx, http.MethodGet, "/api/permissions/graph", nil, nil, &g); err != nil {
		return PermissionsGraph{}, fmt.Errorf("read permissions graph: %w", err)
	}
	return g, nil
}

// UpdatePermissionsGraph sends a partial graph (only the groups that change) with the revision read before;
// a stale revision is a 409 (contract §8). It returns the new revision.
func (c *Client) UpdatePermissionsGraph(ctx context.Context, g PermissionsGraph) (int, error) {
	var r struct {
		Revision int `json:"revision"`
	}
	q := url.Values{"skip-graph": {"true"}}
	if err := c.do(ctx, http.MethodPut, "/api/permissions/graph", q, g, &r); err != nil {
		return 0, fmt.Errorf("update permissions graph: %w", err)
	}
	return r.Revision, nil
}

// CollectionGraph is the collection permissions graph: group id → collection id ("root" or digits) →
// "write" | "read" | "none" (contract §10).
type CollectionGraph struct {
	Revision int                          `json:"revision"`
	Groups   map[string]map[string]string `json:"groups"`
}

// CollectionGraph reads it (GET /api/collection/graph).
func (c *Client) CollectionGraph(ctx context.Context) (CollectionGraph, error) {
	var g CollectionGraph
	if err := c.do(ctx, http.MethodGet, "/api/collection/graph", nil, nil, &g); err != nil {
		return CollectionGraph{}, fmt.Errorf("read collection graph: %w", err)
	}
	return g, nil
}

// UpdateCollectionGraph sends a partial graph with the revision read before; stale ⇒ 409 (contract §10).
func (c *Client) UpdateCollectionGraph(ctx context.Context, g CollectionGraph) (int, error) {
	var r struct {
		Revision int `json:"revision"`
	}
	q := url.Values{"skip-graph": {"true"}}
	if err := c.do(ctx, http.MethodPut, "/api/collection/graph", q, g, &r); err != nil {
		return 0, fmt.Errorf("update collection graph: %w", err)
	}
	return r.Revision, nil
}

// Sandbox is a row of /api/mt/gtap: a group's table filtered on a user attribute (contract §9).
type Sandbox struct {
	ID                  int            `json:"id,omitempty"`
	GroupID             int            `json:"group_id"`
	TableID             int            `json:"table_id"`
	CardID              *int           `json:"card_id"`
	AttributeRemappings map[string]any `json:"attribute_remappings"`
}

// FieldTarget is the remapping target of a field: ["dimension", ["field", id, null]] (contract §9).
func FieldTarget(fieldID int) []any { return []any{"dimension", []any{"field", fieldID, nil}} }

// TargetFieldID reads the field id back out of a remapping target, accepting every form of §9 (the
// dimension form, the old field-id form, a bare id). ok is false for anything else.
func TargetFieldID(target any) (int, bool) {
	switch t := target.(type) {
	case float64:
		return int(t), true
	case []any:
		// ["dimension", ["field", id, null]] or, as newer versions read it back, with a third options
		// element: ["dimension", ["field", id, {…}], {"stage-number": 0}]. UNVERIFIED which versions answer
		// the second form; both are accepted so that a second run finds its own sandbox either way.
		if (len(t) == 2 || len(t) == 3) && t[0] == "dimension" {
			return TargetFieldID(t[1])
		}
		if len(t) >= 2 && (t[0] == "field" || t[0] == "field-id") {
			if id, ok := t[1].(float64); ok {
				return int(id), true
			}
			if id, ok := t[1].(int); ok {
				return id, true
			}
		}
	case int:
		return t, true
	}
	return 0, false
}

// Sandboxes lists sandboxes (GET /api/mt/gtap), optionally of one group and table (0 = any).
func (c *Client) Sandboxes(ctx context.Context, groupID, tableID int) ([]Sandbox, error) {
	q := url.Values{}
	if groupID > 0 {
		q.Set("group_id", strconv.Itoa(groupID))
	}
	if tableID > 0 {
		q.Set("table_id", strconv.Itoa(tableID))
	}
	var raw any
	if err := c.do(ctx, http.MethodGet, "/api/mt/gtap", q, nil, &raw); err != nil {
		return nil, fmt.Errorf("list sandboxes: %w", err)
	}
	// With both ids set, newest versions answer the single row (or null) instead of a list.
	var out []Sandbox
	switch v := raw.(type) {
	case nil:
	case []any:
		for _, x := range v {
			if s, ok := toSandbox(x); ok {
				out = append(out, s)
			}
		}
	case map[string]any:
		if s, ok := toSandbox(v); ok {
			out = append(out, s)
		}
	}
	return out, nil
}

func toSandbox(x any) (Sandbox, bool) {
	m, ok := x.(map[string]any)
	if !ok {
		return Sandbox{}, false
	}
	num := func(k string) int { f, _ := m[k].(float64); return int(f) }
	s := Sandbox{ID: num("id"), GroupID: num("group_id"), TableID: num("table_id")}
	if f, ok := m["card_id"].(float64); ok {
		id := int(f)
		s.CardID = &id
	}
	s.AttributeRemappings, _ = m["attribute_remappings"].(map[string]any)
	return s, s.ID != 0
}

// CreateSandbox makes a sandbox (POST /api/mt/gtap).
func (c *Client) CreateSandbox(ctx context.Context, s Sandbox) (Sandbox, error) {
	s.ID = 0
	var out Sandbox
	if err := c.do(ctx, http.MethodPost, "/api/mt/gtap", nil, s, &out); err != nil {
		return Sandbox{}, fmt.Errorf("sandbox table %d for group %d: %w", s.TableID, s.GroupID, err)
	}
	return out, nil
}

// UpdateSandbox changes a sandbox's card and remappings (PUT /api/mt/gtap/:id).
func (c *Client) UpdateSandbox(ctx context.Context, s Sandbox) (Sandbox, error) {
	var out Sandbox
	body := map[string]any{"card_id": s.CardID, "attribute_remappings": s.AttributeRemappings}
	if err := c.do(ctx, http.MethodPut, "/api/mt/gtap/"+strconv.Itoa(s.ID), nil, body, &out); err != nil {
		return Sandbox{}, fmt.Errorf("update sandbox %d: %w", s.ID, err)
	}
	return out, nil
}

// DeleteSandbox removes a sandbox (DELETE /api/mt/gtap/:id).
func (c *Client) DeleteSandbox(ctx context.Context, id int) error {
	if err := c.do(ctx, http.MethodDelete, "/api/mt/gtap/"+strconv.Itoa(id), nil, nil, nil); err != nil {
		return fmt.Errorf("delete sandbox %d: %w", id, err)
	}
	return nil
}
