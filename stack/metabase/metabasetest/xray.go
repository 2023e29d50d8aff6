package metabasetest

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// The X-ray of a table (GET /api/automagic-dashboards/table/:id), made the way Metabase's automagic dashboards
// make it, for the template every non-special table gets:
//
//   - Template choice: src/metabase/xrays/automagic_dashboards/core.clj matching-dashboard-templates picks the
//     most specific template whose applies_to the table's entity_type isa. INVOICES matches no pattern of
//     src/metabase/sync/analyze/classifiers/name.clj entity-types-patterns, so it is entity/GenericTable and
//     gets resources/automagic_dashboards/table/GenericTable.yaml (commit 106241aa).
//   - Candidate fields: the table's own fields and those of every table reached through an FK
//     (core.clj linked-tables: "all tables accessible from a given table with the paths to get there"), so
//     Invoices' cards can use Accounts' columns through ACCOUNT_ID, as implicit joins
//     ["field", <accounts field>, {"source-field": <ACCOUNT_ID>}].
//   - Dimensions: each field binds to its best-scoring dimension of GenericTable.yaml; a dimension bound to
//     several fields makes one card per field. Categories are sized by their distinct values (Small <= 5,
//     Medium <= 10, Large).
//   - Cards: GenericTable.yaml's cards whose dimensions and filters are bound, best score first, capped at
//     xrayMaxCards (max-cards 15), laid out in the template's group order with a text
//     card heading each group.
//
// For Invoices that yields 15 cards, most of them through Accounts (Country, coordinates, Created At, Seats):
// the case where a tenant's card needs ACCOUNTS sandboxed too. The exact card list Metabase shows is
// UNVERIFIED (it depends on fingerprints the emulator does not compute); the kinds of cards are the template's.

// xrayMaxCards caps the cards of one X-ray: "(def ^:private ^Long max-cards 15)" in the automagic dashboards
// source (read in an older version; that the newest populate.clj keeps 15 is UNVERIFIED).
const xrayMaxCards = 15

// xrayGroups are GenericTable.yaml's groups in template order, with their titles.
var xrayGroups = []struct{ id, title string }{
	{"Overview", "Summary"},
	{"Singletons", "These are the same for all your %s"},
	{"ByTime", "%s across time"},
	{"Geographical", "Where your %s are"},
	{"General", "How %s are distributed"},
}

// candidate is a field the X-ray may use: of the table itself, or of a table reached through fk.
type candidate struct {
	f       *field
	fk      *field // nil for the table's own fields
	display string
	ref     []any
}

func (c candidate) with(opts map[string]any) []any {
	m := map[string]any{}
	if c.fk != nil {
		m["source-field"] = c.fk.ID
	}
	for k, v := range opts {
		m[k] = v
	}
	if len(m) == 0 {
		return []any{"field", c.f.ID, nil}
	}
	return []any{"field", c.f.ID, m}
}

// xrayCandidates lists t's fields and, through each FK, the target table's (PKs and FKs of linked tables
// left out: they only repeat the join).
func xrayCandidates(t *table) []candidate {
	var out []candidate
	for i := range t.Fields {
		f := &t.Fields[i]
		if f.SemanticType == "type/PK" {
			continue
		}
		c := candidate{f: f, display: f.DisplayName}
		c.ref = c.with(nil)
		out = append(out, c)
	}
	for i := range t.Fields {
		fk := &t.Fields[i]
		if fk.FKTarget == 0 {
			continue
		}
		tt, _, _ := fieldByID(fk.FKTarget)
		prefix := strings.TrimSuffix(fk.DisplayName, " ID")
		for j := range tt.Fields {
			f := &tt.Fields[j]
			if f.SemanticType == "type/PK" || f.SemanticType == "type/FK" {
				continue
			}
			c := candidate{f: f, fk: fk, display: prefix + " → " + f.DisplayName}
			c.ref = c.with(nil)
			out = append(out, c)
		}
	}
	return out
}

// bindDimension is the GenericTable.yaml dimension a field binds to (its best-scoring match), or "".
func bindDimension(f *field) string {
	numeric := f.BaseType == "type/Integer" || f.BaseType == "type/BigInteger" || f.BaseType == "type/Float"
	switch {
	case f.SemanticType == "type/FK":
		return "FK"
	case f.SemanticType == "type/Country":
		return "Country"
	case f.SemanticType == "type/State":
		return "State"
	case f.SemanticType == "type/Source":
		return "Source"
	case f.SemanticType == "type/Latitude":
		return "Lat"
	case f.SemanticType == "type/Longitude":
		return "Long"
	case f.SemanticType == "type/ZipCode", f.SemanticType == "type/Birthdate":
		return "" // "# ignore" in the template
	case f.SemanticType == "type/Category":
		switch n := cardinality(f); {
		case n <= 1:
			return "Singleton"
		case n <= 5:
			return "GenericCategorySmall"
		case n <= 10:
			return "GenericCategoryMedium"
		}
		return "GenericCategoryLarge"
	case f.SemanticType == "type/CreationTimestamp":
		return "CreateTimestamp"
	case f.BaseType == "type/DateTime":
		return "Timestamp"
	case f.BaseType == "type/Date":
		return "Date"
	case numeric && f.SemanticType == "":
		return "GenericNumber"
	}
	return ""
}

func cardinality(f *field) int {
	t, _, col := fieldByID(f.ID)
	seen := map[any]bool{}
	for _, row := range t.Rows {
		seen[row[col]] = true
	}
	return len(seen)
}

// xrayCard is one card the template makes, before layout.
type xrayCard struct {
	name, display, group string
	score                int
	query                map[string]any
}

// xrayCards instantiates GenericTable.yaml's cards for t.
func xrayCards(t *table) []xrayCard {
	dims := map[string][]candidate{}
	for _, c := range xrayCandidates(t) {
		if d := bindDimension(c.f); d != "" {
			dims[d] = append(dims[d], c)
		}
	}
	short := t.DisplayName
	count := []any{"count"}
	var cards []xrayCard
	add := func(name, display, group string, score int, q map[string]any) {
		q["source-table"] = t.ID
		cards = append(cards, xrayCard{name, display, group, score, q})
	}
	month := map[string]any{"temporal-unit": "month"}
	binned := map[string]any{"binning": map[string]any{"strategy": "default"}}

	// Overview
	add("The number of "+short, "scalar", "Overview", 100, map[string]any{"aggregation": []any{count}})
	// Last30Days: the best-scoring filter whose dimension is bound (CreateTimestamp 100 ... Date 79).
	for _, d := range []string{"CreateTimestamp", "Timestamp", "Date"} {
		if len(dims[d]) > 0 {
			add(short+" added in the last 30 days", "scalar", "Overview", 100, map[string]any{
				"aggregation": []any{count}, "filter": []any{"time-interval", dims[d][0].ref, -30, "day"}})
			break
		}
	}
	for _, fk := range dims["FK"] {
		add("Distinct "+fk.display, "scalar", "Overview", 100, map[string]any{"aggregation": []any{[]any{"distinct", fk.ref}}})
	}
	// General
	for _, n := range dims["GenericNumber"] {
		add(fmt.Sprintf("How %s are distributed across %s", short, n.display), "bar", "General", 90, map[string]any{
			"aggregation": []any{count}, "breakout": []any{n.with(binned)}})
	}
	for _, d := range []struct {
		dim, display string
		score        int
	}{{"GenericCategoryMedium", "row", 80}, {"GenericCategoryLarge", "table", 70}} {
		for _, c := range dims[d.dim] {
			add(fmt.Sprintf("%s per %s", short, c.display), d.display, "General", d.score, map[string]any{
				"aggregation": []any{count}, "breakout": []any{c.ref}, "order-by": []any{[]any{"desc", []any{"aggregation", 0}}}})
		}
	}
	// Geographical
	for _, c := range dims["Country"] {
		add(short+" per country", "map", "Geographical", 90, map[string]any{"aggregation": []any{count}, "breakout": []any{c.ref}})
	}
	for _, c := range dims["State"] {
		add(short+" per state", "map", "Geographical", 90, map[string]any{"aggregation": []any{count}, "breakout": []any{c.ref}})
	}
	if len(dims["Long"]) > 0 && len(dims["Lat"]) > 0 {
		add(short+" by coordinates", "map", "Geographical", 80, map[string]any{"aggregation": []any{count},
			"breakout": []any{dims["Long"][0].with(binned), dims["Lat"][0].with(binned)}})
	}
	// By time
	for _, c := range dims["CreateTimestamp"] {
		add("New "+short+" over time", "line", "ByTime", 90, map[string]any{"aggregation": []any{count}, "breakout": []any{c.with(month)}})
		for _, n := range dims["GenericNumber"] {
			add(n.display+" over time", "line", "ByTime", 90, map[string]any{
				"aggregation": []any{[]any{"sum", n.ref}, []any{"avg", n.ref}}, "breakout": []any{c.with(month)}})
		}
		add("Weekdays when "+short+" were added", "bar", "ByTime", 60, map[string]any{
			"aggregation": []any{count}, "breakout": []any{c.with(map[string]any{"temporal-unit": "day-of-week"})}})
	}
	for _, d := range []string{"Timestamp", "Date"} {
		for _, c := range dims[d] {
			for _, n := range dims["GenericNumber"] {
				add(n.display+" over time", "line", "ByTime", 70, map[string]any{
					"aggregation": []any{[]any{"sum", n.ref}, []any{"avg", n.ref}}, "breakout": []any{c.with(month)}})
			}
			add(c.display+" by day of the week", "bar", "ByTime", 60, map[string]any{
				"aggregation": []any{count}, "breakout": []any{c.with(map[string]any{"temporal-unit": "day-of-week"})}})
			add(short+" by "+c.display, "line", "ByTime", 20, map[string]any{"aggregation": []any{count}, "breakout": []any{c.with(month)}})
		}
	}
	for _, c := range dims["Singleton"] {
		add(c.display, "scalar", "Singletons", 30, map[string]any{"aggregation": []any{count}, "breakout": []any{c.ref}})
	}
	sort.SliceStable(cards, func(i, j int) bool { return cards[i].score > cards[j].score })
	if len(cards) > xrayMaxCards {
		cards = cards[:xrayMaxCards]
	}
	return cards
}

func (s *Server) xrayTable(c *call) (int, any, error) {
	t, err := s.tableFromPath(c)
	if err != nil {
		return 0, nil, err
	}
	cards := xrayCards(t)
	var dashcards []any
	id, y := 0, 0
	next := func() int { id--; return id } // transient dashcards carry negative ids
	for _, g := range xrayGroups {
		var in []xrayCard
		for _, cd := range cards {
			if cd.group == g.id {
				in = append(in, cd)
			}
		}
		if len(in) == 0 {
			continue
		}
		title := g.title
		if strings.Contains(title, "%s") {
			title = fmt.Sprintf(title, t.DisplayName)
		}
		// A text card heads each group; it has no card (card_id null), only a virtual card.
		dashcards = append(dashcards, map[string]any{"id": next(), "card_id": nil, "row": y, "col": 0, "size_x": 24,
			"size_y": 1, "parameter_mappings": []any{}, "series": []any{}, "visualization_settings": map[string]any{
				"text": "# " + title, "virtual_card": map[string]any{"name": nil, "display": "text", "dataset_query": map[string]any{},
					"visualization_settings": map[string]any{}, "archived": false}}})
		y++
		x := 0
		for _, cd := range in {
			w, h := 12, 6
			if cd.display == "scalar" {
				w, h = 6, 3
			}
			if x+w > 24 {
				x, y = 0, y+6
			}
			dashcards = append(dashcards, map[string]any{
				"id": next(), "row": y, "col": x, "size_x": w, "size_y": h, "parameter_mappings": []any{},
				"series": []any{}, "visualization_settings": map[string]any{},
				"card": map[string]any{"name": cd.name, "display": cd.display, "visualization_settings": map[string]any{},
					"description": nil, "table_id": t.ID, "database_id": sampleDBID, "query_type": "query",
					"dataset_query": map[string]any{"database": sampleDBID, "type": "query", "query": cd.query}},
			})
			x += w
		}
		y += 6
	}
	// contract §7: a transient dashboard, not persisted. Title and description: GenericTable.yaml
	// transient_title / description.
	return http.StatusOK, map[string]any{
		"name":           "A look at " + t.DisplayName,
		"description":    fmt.Sprintf("An overview of your %s and how it's distributed across time, place, and categories.", t.DisplayName),
		"transient_name": "Here's a quick look at your " + t.DisplayName, "transient_filters": nil, "param_fields": nil,
		"auto_apply_filters": true, "dashcards": dashcards, "tabs": []any{}, "parameters": []any{}, "width": "fixed",
		"related": map[string]any{}, "more": nil,
	}, nil
}

// xrayTablesOf are the tables a card's query touches (source table first), for reporting.
func xrayTablesOf(q map[string]any) []string {
	t := tableByID(intOf(q["source-table"]))
	if t == nil {
		return nil
	}
	names := []string{t.Name}
	m := mbql{}
	if f, ok := q["filter"].([]any); ok {
		m.Filter = f
	}
	if b, ok := q["breakout"].([]any); ok {
		m.Breakout = b
	}
	if a, ok := q["aggregation"].([]any); ok {
		for _, x := range a {
			if arr, ok := x.([]any); ok {
				m.Aggregation = append(m.Aggregation, arr)
			}
		}
	}
	for _, tt := range joinedTables(t, m) {
		names = append(names, tt.Name)
	}
	return names
}
