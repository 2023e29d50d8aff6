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
	// Newest Metabase bumps the collection-graph revision when a collection is made (collection.clj
	// copy-parent-permissions! -> increment-implicit-perms-revision!): Gen64 only, as H1 read it.
	if s.gen() >= Gen64 && s.personalOwner(c) == 0 {
		s.st.CollRevision++
	}
	return c
}

// inheritPerms gives a new collection its parent's grants, the Root collection's for a root-level one
// (src/metabase/collections/models/collection.clj copy-parent-permissions!, contract §10). On a fresh instance
// All Users curate Root, so the X-ray's container starts at "write" for them until the plan sets "read".
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

// saveDashboard is POST /api/dashboard/save: it persists a transient (X-ray) dashboard.
//
// Where it goes (dashboard API POST /save, models/dashboard.clj save-transient-dashboard!): the parent is the
// "Automatically Generated Dashboards" container at "/" for admins, the personal collection for others.
//   - Gen52 (the v0.52 save-transient-dashboard!): a new collection named after the dashboard (made unique with
//     " 2", " 3" ... by ensure-unique-collection-name), description "Automatically generated cards.", inside the
//     container; the dashboard (collection_position 1) and its cards go there.
//   - Gen55 and newer (the newest save-transient-dashboard!: the dashboard's :collection_id is the parent):
//     the dashboard goes straight into the container and its cards become dashboard questions (dashboard_id set)
//     in the same collection.
//
// Text cards (no dataset_query) are not saved as cards (save-card! "Don't save text cards"): their dashcards
// keep card_id null.
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
	// The parent: for admins the container at "/" (made on first save, reused after); for everyone else their
	// personal collection itself (POST /save: "(if api/*is-superuser?* (:id
	// (xrays/get-or-create-root-container-collection)) (t2/select-one-fn :id 'Collection :personal_owner_id
	// api/*current-user-id*))", src/metabase/api/dashboard.clj v0.50-era).
	var container *collection
	if !c.u.Superuser {
		if container = s.st.Collections[c.u.PersonalCollID]; container == nil {
			return 0, nil, errNotFound
		}
	} else {
		for _, id := range sortedKeys(s.st.Collections) {
			if coll := s.st.Collections[id]; coll.Name == containerName && coll.Location == "/" && !coll.Archived {
				container = coll
				break
			}
		}
		if container == nil {
			container = s.addCollection(containerName, nil, "/")
			s.inheritPerms(container)
		}
	}
	home := container
	questions := true // cards are dashboard questions (dashboard_id set)
	if s.gen() < Gen55 {
		questions = false
		home = s.addCollection(s.uniqueCollectionName(*body.Name, container), ptr("Automatically generated cards."),
			fmt.Sprintf("%s%d/", container.Location, container.ID))
		s.inheritPerms(home)
	}
	cards := body.Dashcards
	if cards == nil {
		cards = body.Ordered
	}
	d := &dashboard{ID: s.st.nextID("dashboard"), Name: *body.Name, Description: body.Description,
		CollectionID: &home.ID, Parameters: body.Parameters, CreatorID: c.u.ID, CreatedAt: s.opts.Now().UTC(),
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
		dc["card_id"] = nil
		card, _ := dc["card"].(map[string]any)
		if q, _ := card["dataset_query"].(map[string]any); len(q) == 0 {
			delete(dc, "card") // a text card
		} else {
			card["id"] = s.st.nextID("card")
			card["collection_id"] = home.ID
			card["creator_id"] = c.u.ID
			card["type"] = "question"
			card["archived"] = false
			card["entity_id"] = randomHex(10)
			if questions {
				card["dashboard_id"] = d.ID
			}
			dc["card_id"] = card["id"]
		}
		d.Dashcards = append(d.Dashcards, mustJSON(dc))
	}
	s.st.Dashboards[d.ID] = d
	return http.StatusOK, s.dashboardJSON(c.u, d), nil
}

// uniqueCollectionName follows ensure-unique-collection-name: name, or "name N" where N-1 collections under
// parent already start with name.
func (s *Server) uniqueCollectionName(name string, parent *collection) string {
	location := fmt.Sprintf("%s%d/", parent.Location, parent.ID)
	n := 0
	for _, coll := range s.st.Collections {
		if coll.Location == location && strings.HasPrefix(coll.Name, name) {
			n++
		}
	}
	if n == 0 {
		return name
	}
	return fmt.Sprintf("%s %d", name, n+1)
}

// Example content. A fresh instance holds the Examples collection (id 2; the Trash is id 1) with the
// "E-commerce insights" dashboard (id 1), and All Users may curate the collection:
// src/metabase/app_db/custom_migrations.clj CreateSampleContent (example-dashboard-id 1, example-collection-id 2,
// "Adds curate permissions to the collection for the 'All Users' group"), skipped when MB_LOAD_SAMPLE_CONTENT is
// false (src/metabase/config/core.clj load-sample-content?: "MB_LOAD_SAMPLE_CONTENT defaults to true"). The
// migration exists since 0.50, so every generation here has it. Its cards are a stand-in: the real dashboard
// has more (UNVERIFIED count), over ORDERS, PRODUCTS, PEOPLE and REVIEWS.
const (
	trashCollectionID    = 1
	exampleCollectionID  = 2
	exampleDashboardID   = 1
	exampleDashboardName = "E-commerce insights"
)

// seedExampleContent adds the example content to a fresh state st, unless Options.Env says
// MB_LOAD_SAMPLE_CONTENT=false. It always reserves collection id 1 for the Trash.
func (s *Server) seedExampleContent(st *state) {
	if st.NextID["collection"] < trashCollectionID {
		st.NextID["collection"] = trashCollectionID
	}
	// Skipped too under MB_ENABLE_TEST_ENDPOINTS, as CreateSampleContent does for e2e tests.
	if strings.EqualFold(s.opts.Env["MB_LOAD_SAMPLE_CONTENT"], "false") || strings.EqualFold(s.opts.Env["MB_ENABLE_TEST_ENDPOINTS"], "true") ||
		len(st.Dashboards) > 0 {
		return
	}
	st.NextID["collection"] = exampleCollectionID
	st.Collections[exampleCollectionID] = &collection{ID: exampleCollectionID, Name: "Examples", Location: "/",
		Description: ptr("Example content to get you started."), EntityID: "HyB3nRtqb7pBPhFG26evI"}
	for g, perms := range st.CollPerms {
		if g == allUsersID || g == adminsID {
			perms[fmt.Sprint(exampleCollectionID)] = "write"
		}
	}
	st.NextID["dashboard"] = exampleDashboardID
	d := &dashboard{ID: exampleDashboardID, Name: exampleDashboardName, CollectionID: ptr(exampleCollectionID),
		Description: ptr("Example dashboard over the Sample Database."), Parameters: json.RawMessage("[]"),
		CreatorID: internalUserID, CreatedAt: s.opts.Now().UTC(), EntityID: randomHex(10)}
	examples := []struct {
		name, display, table string
		query                map[string]any
	}{
		{"Revenue", "scalar", "ORDERS", map[string]any{"aggregation": []any{[]any{"sum", []any{"field", tableByName("ORDERS").fieldNamed("TOTAL").ID, nil}}}}},
		{"Orders by product category", "bar", "ORDERS", map[string]any{"aggregation": []any{[]any{"count"}},
			"breakout": []any{[]any{"field", tableByName("PRODUCTS").fieldNamed("CATEGORY").ID,
				map[string]any{"source-field": tableByName("ORDERS").fieldNamed("PRODUCT_ID").ID}}}}},
		{"Customers per state", "map", "PEOPLE", map[string]any{"aggregation": []any{[]any{"count"}},
			"breakout": []any{[]any{"field", tableByName("PEOPLE").fieldNamed("STATE").ID, nil}}}},
		{"Average review rating", "scalar", "REVIEWS", map[string]any{"aggregation": []any{[]any{"avg",
			[]any{"field", tableByName("REVIEWS").fieldNamed("RATING").ID, nil}}}}},
	}
	for i, ex := range examples {
		t := tableByName(ex.table)
		ex.query["source-table"] = t.ID
		cardID, dcID := st.nextID("card"), st.nextID("dashcard")
		d.Dashcards = append(d.Dashcards, mustJSON(map[string]any{
			"id": dcID, "dashboard_id": d.ID, "card_id": cardID, "row": (i / 2) * 6, "col": (i % 2) * 12,
			"size_x": 12, "size_y": 6, "parameter_mappings": []any{}, "series": []any{}, "visualization_settings": map[string]any{},
			"card": map[string]any{"id": cardID, "name": ex.name, "display": ex.display, "collection_id": exampleCollectionID,
				"table_id": t.ID, "database_id": sampleDBID, "query_type": "query", "type": "question", "archived": false,
				"creator_id": internalUserID, "visualization_settings": map[string]any{}, "description": nil,
				"entity_id":     randomHex(10),
				"dataset_query": map[string]any{"database": sampleDBID, "type": "query", "query": ex.query}},
		}))
	}
	st.Dashboards[d.ID] = d
}

// internalUserID is Metabase's internal user, the creator of the example content
// (src/metabase/config/core.clj internal-mb-user-id).
const internalUserID = 13371338

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
