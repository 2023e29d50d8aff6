package metabasetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Collections, X-ray and saved dashboards (contract §7, §10).

// containerName is the collection X-ray saves go to (contract §7: capital G and D).
const containerName = "Automatically Generated Dashboards"

func (s *Server) addCollection(name string, description *string, location string) *collection {
	c := &collection{ID: s.st.nextID("collection"), Name: name, Description: description, Location: location,
		EntityID: randomHex(10)}
	s.st.Collections[c.ID] = c
	return c
}

// inheritPerms gives a new collection its parent's grants (contract §10: sub-collections copy the parent).
func (s *Server) inheritPerms(c *collection) {
	parent := "root"
	if ids := strings.Split(strings.Trim(c.Location, "/"), "/"); ids[0] != "" {
		parent = ids[len(ids)-1]
	}
	for _, perms := range s.st.CollPerms {
		if v, ok := perms[parent]; ok && v != "none" {
			perms[strconv.Itoa(c.ID)] = v
		}
	}
}

// personalOwner is the owner of the personal collection c is (or is inside), or 0.
func (s *Server) personalOwner(c *collection) int {
	if c.OwnerID != nil {
		return *c.OwnerID
	}
	for _, id := range strings.Split(strings.Trim(c.Location, "/"), "/") {
		n, _ := strconv.Atoi(id)
		if p := s.st.Collections[n]; p != nil && p.OwnerID != nil {
			return *p.OwnerID
		}
	}
	return 0
}

// collectionPerm is u's best grant on a collection (nil = root): write, read or none.
func (s *Server) collectionPerm(u *user, c *collection) string {
	if u.Superuser {
		return "write"
	}
	key := "root"
	if c != nil {
		if owner := s.personalOwner(c); owner != 0 {
			if owner == u.ID {
				return "write"
			}
			return "none"
		}
		key = strconv.Itoa(c.ID)
	}
	best := "none"
	for _, g := range u.groupIDs() {
		switch s.st.CollPerms[g][key] {
		case "write":
			return "write"
		case "read":
			best = "read"
		}
	}
	return best
}

func (s *Server) collectionJSON(u *user, c *collection) map[string]any {
	return map[string]any{"id": c.ID, "name": c.Name, "description": c.Description, "location": c.Location,
		"archived": c.Archived, "personal_owner_id": c.OwnerID, "entity_id": c.EntityID, "slug": slug(c.Name),
		"namespace": nil, "type": nil, "is_personal": s.personalOwner(c) != 0,
		"can_write": s.collectionPerm(u, c) == "write"}
}

func rootCollectionJSON(canWrite bool) map[string]any {
	return map[string]any{"id": "root", "name": "Our analytics", "location": nil, "archived": false,
		"is_personal": false, "can_write": canWrite, "namespace": nil}
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

func slug(name string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(name), "_"), "_")
}

func (s *Server) listCollections(c *call) (int, any, error) {
	archived := c.r.URL.Query().Get("archived") == "true"
	out := []map[string]any{}
	if !archived {
		out = append(out, rootCollectionJSON(s.collectionPerm(c.u, nil) == "write"))
	}
	for _, id := range sortedKeys(s.st.Collections) {
		coll := s.st.Collections[id]
		if coll.Archived != archived || s.collectionPerm(c.u, coll) == "none" {
			continue
		}
		out = append(out, s.collectionJSON(c.u, coll))
	}
	return http.StatusOK, out, nil
}

// collectionFromPath resolves :id, which may be "root" (nil).
func (s *Server) collectionFromPath(c *call) (*collection, error) {
	if c.r.PathValue("id") == "root" {
		return nil, nil
	}
	id, err := pathID(c.r, "id")
	if err != nil {
		return nil, err
	}
	coll := s.st.Collections[id]
	if coll == nil {
		return nil, errNotFound
	}
	if s.collectionPerm(c.u, coll) == "none" {
		return nil, errForbidden
	}
	return coll, nil
}

func (s *Server) getCollection(c *call) (int, any, error) {
	coll, err := s.collectionFromPath(c)
	if err != nil {
		return 0, nil, err
	}
	if coll == nil {
		return http.StatusOK, rootCollectionJSON(s.collectionPerm(c.u, nil) == "write"), nil
	}
	return http.StatusOK, s.collectionJSON(c.u, coll), nil
}

func (s *Server) collectionItems(c *call) (int, any, error) {
	coll, err := s.collectionFromPath(c)
	if err != nil {
		return 0, nil, err
	}
	models := c.r.URL.Query()["models"]
	want := func(m string) bool { return len(models) == 0 || slices.Contains(models, m) }
	location, collID := "/", (*int)(nil)
	if coll != nil {
		location, collID = fmt.Sprintf("%s%d/", coll.Location, coll.ID), &coll.ID
	}
	items := []map[string]any{}
	if want("collection") {
		for _, id := range sortedKeys(s.st.Collections) {
			sub := s.st.Collections[id]
			if sub.Location == location && !sub.Archived && s.collectionPerm(c.u, sub) != "none" {
				items = append(items, map[string]any{"id": sub.ID, "name": sub.Name, "model": "collection",
					"description": sub.Description, "location": sub.Location})
			}
		}
	}
	if want("dashboard") {
		for _, id := range sortedKeys(s.st.Dashboards) {
			d := s.st.Dashboards[id]
			if (d.CollectionID == nil) == (collID == nil) && (collID == nil || *d.CollectionID == *collID) {
				items = append(items, map[string]any{"id": d.ID, "name": d.Name, "model": "dashboard",
					"description": d.Description, "collection_id": d.CollectionID})
			}
		}
	}
	return http.StatusOK, map[string]any{"data": items, "total": len(items), "models": models}, nil
}

func (s *Server) xrayTable(c *call) (int, any, error) {
	t, err := s.tableFromPath(c)
	if err != nil {
		return 0, nil, err
	}
	card := func(i int, name, display string, query map[string]any, x, y, w, h int) map[string]any {
		query["source-table"] = t.ID
		return map[string]any{
			"id": -(i + 1), "row": y, "col": x, "size_x": w, "size_y": h, "parameter_mappings": []any{},
			"visualization_settings": map[string]any{},
			"card": map[string]any{"name": name, "display": display, "visualization_settings": map[string]any{},
				"dataset_query": map[string]any{"database": sampleDBID, "type": "query", "query": query}},
		}
	}
	count := []any{[]any{"count"}}
	dashcards := []any{
		card(0, "Total "+t.DisplayName, "scalar", map[string]any{"aggregation": count}, 0, 0, 6, 3),
		card(1, t.DisplayName+" per day", "line", map[string]any{"aggregation": count,
			"breakout": []any{[]any{"field", t.Fields[len(t.Fields)-1].ID, map[string]any{"temporal-unit": "day"}}}}, 6, 0, 12, 6),
	}
	for i, f := range t.Fields[1:] {
		if f.BaseType == "type/Float" || f.BaseType == "type/Date" {
			continue
		}
		dashcards = append(dashcards, card(len(dashcards), t.DisplayName+" per "+f.DisplayName, "bar",
			map[string]any{"aggregation": count, "breakout": []any{[]any{"field", f.ID, nil}}}, (i%3)*6, 6+(i/3)*6, 6, 6))
	}
	// contract §7: a transient dashboard, not persisted.
	return http.StatusOK, map[string]any{
		"name": "A look at " + t.DisplayName, "description": "Some metrics we found about your " + strings.ToLower(t.DisplayName) + ".",
		"transient_name": t.DisplayName, "transient_filters": nil, "param_fields": nil, "auto_apply_filters": true,
		"dashcards": dashcards, "tabs": []any{}, "parameters": []any{}, "width": "fixed",
		"related": map[string]any{}, "more": nil,
	}, nil
}

func (s *Server) saveDashboard(c *call) (int, any, error) {
	var body struct {
		Name        *string           `json:"name"`
		Description *string           `json:"description"`
		Dashcards   []json.RawMessage `json:"dashcards"`
		Ordered     []json.RawMessage `json:"ordered_cards"`
		Parameters  json.RawMessage   `json:"parameters"`
	}
	if err := decodeBody(c.r, &body); err != nil {
		return 0, nil, err
	}
	if body.Name == nil || strings.TrimSpace(*body.Name) == "" {
		return 0, nil, fieldErr(http.StatusBadRequest, "dashboard", "value must be a dashboard with a non-blank name.")
	}
	// contract §7: the container is at "/" for admins, inside the personal collection for others; made on
	// first save and reused after.
	location := "/"
	if !c.u.Superuser {
		location = fmt.Sprintf("/%d/", c.u.PersonalCollID)
	}
	var container *collection
	for _, id := range sortedKeys(s.st.Collections) {
		if coll := s.st.Collections[id]; coll.Name == containerName && coll.Location == location && !coll.Archived {
			container = coll
			break
		}
	}
	if container == nil {
		container = s.addCollection(containerName, nil, location)
		s.inheritPerms(container)
	}
	cards := body.Dashcards
	if cards == nil {
		cards = body.Ordered
	}
	d := &dashboard{ID: s.st.nextID("dashboard"), Name: *body.Name, Description: body.Description,
		CollectionID: &container.ID, Parameters: body.Parameters, CreatorID: c.u.ID, CreatedAt: s.opts.Now().UTC(),
		EntityID: randomHex(10)}
	if d.Parameters == nil {
		d.Parameters = json.RawMessage("[]")
	}
	for _, raw := range cards {
		var dc map[string]any
		if err := json.Unmarshal(raw, &dc); err != nil {
			return 0, nil, textErr(http.StatusBadRequest, "dashcards: each must be an object: %v", err)
		}
		dc["id"] = s.st.nextID("dashcard")
		dc["dashboard_id"] = d.ID
		if card, ok := dc["card"].(map[string]any); ok {
			// contract §7 (newest): cards become dashboard questions in the same collection.
			card["id"] = s.st.nextID("card")
			card["dashboard_id"] = d.ID
			card["collection_id"] = container.ID
			dc["card_id"] = card["id"]
		}
		d.Dashcards = append(d.Dashcards, mustJSON(dc))
	}
	s.st.Dashboards[d.ID] = d
	return http.StatusOK, s.dashboardJSON(c.u, d), nil
}

func (s *Server) dashboardJSON(u *user, d *dashboard) map[string]any {
	coll := s.st.Collections[*d.CollectionID]
	cards := d.Dashcards
	if cards == nil {
		cards = []json.RawMessage{}
	}
	return map[string]any{"id": d.ID, "name": d.Name, "description": d.Description, "collection_id": d.CollectionID,
		"collection": s.collectionJSON(u, coll), "dashcards": cards, "parameters": d.Parameters, "tabs": []any{},
		"creator_id": d.CreatorID, "archived": false, "created_at": d.CreatedAt, "updated_at": d.CreatedAt,
		"entity_id": d.EntityID, "can_write": s.collectionPerm(u, coll) == "write"}
}

// dashboardFor returns dashboard id if u may read its collection.
func (s *Server) dashboardFor(u *user, id int) (*dashboard, error) {
	d := s.st.Dashboards[id]
	if d == nil {
		return nil, errNotFound
	}
	if s.collectionPerm(u, s.st.Collections[*d.CollectionID]) == "none" {
		return nil, errForbidden
	}
	return d, nil
}

func (s *Server) getDashboard(c *call) (int, any, error) {
	id, err := pathID(c.r, "id")
	if err != nil {
		return 0, nil, err
	}
	d, err := s.dashboardFor(c.u, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.dashboardJSON(c.u, d), nil
}
