package metabasetest

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/embedwizard/embedwizard/assets"
)

// The Sample Database as Metabase ships it: its eight tables with their columns, base and semantic types and
// foreign keys. Rows are small deterministic synthetic data (assets/sample/*.csv, made by TestSampleData).
//
// Sources:
//   - ORDERS, PEOPLE, PRODUCTS, REVIEWS: names, display names, base types, semantic types, FKs and column order
//     from frontend/src/metabase-types/api/mocks/presets/sample_database.ts (commit 00ac93e0, the frontend's
//     copy of the shipped Sample Database metadata).
//   - ACCOUNTS, ANALYTIC_EVENTS, FEEDBACK, INVOICES: the table list is in the source (docs of
//     resources/sample-database.db.mv.db: "PEOPLE, PRODUCTS, ORDERS, REVIEWS, ACCOUNTS, FEEDBACK, INVOICES,
//     ANALYTIC_EVENTS"); their column lists and semantic types are UNVERIFIED (not found in a source file that
//     the search index holds): taken from Metabase's published sample-data description. The FKs
//     *.ACCOUNT_ID -> ACCOUNTS.ID are what the product relies on.
//   - Gen64 ships the SQLite Sample Database (src/metabase/sample_data/impl.clj, sample-database-engine defaults
//     to :sqlite; the SQLite file keeps H2's upper-case names, see sample_data "h2-type->sqlite"): a table's
//     schema is nil there, so its permissions-graph key is "". Older generations: H2, schema "PUBLIC".

// sampleDBID is the Sample Database's id: CreateSampleContent (src/metabase/app_db/custom_migrations.clj,
// expected-sample-db-id 1) inserts it as 1 on a fresh install. Clients must still look it up by is_sample.
const sampleDBID = 1

// field is one column of a sample table.
type field struct {
	ID           int
	Name         string
	DisplayName  string
	BaseType     string
	SemanticType string // "" = none (null in JSON)
	FKTarget     int    // field id this FK points at, 0 = none
	TableID      int
	Position     int
}

// MarshalJSON writes the keys frontend/src/metabase-types/api/field.ts (ConcreteField) requires, nothing
// invented: a null semantic_type and fk_target_field_id are sent as null, not left out.
func (f field) MarshalJSON() ([]byte, error) {
	var semantic, fk any
	if f.SemanticType != "" {
		semantic = f.SemanticType
	}
	if f.FKTarget != 0 {
		fk = f.FKTarget
	}
	values := "none"
	if f.SemanticType == "type/Category" {
		values = "list"
	}
	return json.Marshal(map[string]any{
		"id": f.ID, "table_id": f.TableID, "name": f.Name, "display_name": f.DisplayName, "description": nil,
		"base_type": f.BaseType, "effective_type": f.BaseType, "semantic_type": semantic,
		"fk_target_field_id": fk, "active": true, "visibility_type": "normal", "preview_display": true,
		"position": f.Position, "database_position": f.Position, "has_field_values": values,
		"nfc_path": nil, "json_unfolding": false, "coercion_strategy": nil, "fingerprint": nil,
		"last_analyzed": sampleSyncedAt, "created_at": sampleSyncedAt, "updated_at": sampleSyncedAt,
	})
}

// sampleSyncedAt is when the emulator's Sample Database was "synced": a fixed instant keeps answers stable.
const sampleSyncedAt = "2024-01-01T00:00:00Z"

// table is one table of the Sample Database with its rows, typed as Metabase returns them in a dataset.
type table struct {
	ID          int
	Name        string
	DisplayName string
	EntityType  string
	Fields      []field
	Rows        [][]any
	byPK        map[int64][]any // ID -> row, for implicit joins
}

// sampleTables are the tables of the Sample Database, in Metabase's alphabetical listing order.
// Their ids are not 1..n on purpose: clients must resolve them by name.
var sampleTables = mustLoadSample()

// col declares a column: name, display name, base type, semantic type, and the "TABLE.FIELD" an FK targets.
type col struct{ name, display, base, semantic, fk string }

// sampleColumns declares the tables, their ids and columns; field ids are fieldBase + position. The rows come
// from assets/sample/<file>. entity types follow src/metabase/sync/analyze/classifiers/name.clj
// entity-types-patterns (prefix-or-postfix "account"/"people" -> UserTable, "event" -> EventTable, "order" ->
// TransactionTable, "product" -> ProductTable, else GenericTable).
var sampleColumns = []struct {
	id, fieldBase int
	name, display string
	entity        string
	cols          []col
}{
	{2, 200, "ACCOUNTS", "Accounts", "entity/UserTable", []col{
		{"ID", "ID", "type/BigInteger", "type/PK", ""},
		{"EMAIL", "Email", "type/Text", "type/Email", ""},
		{"FIRST_NAME", "First Name", "type/Text", "type/Name", ""},
		{"LAST_NAME", "Last Name", "type/Text", "type/Name", ""},
		{"PLAN", "Plan", "type/Text", "type/Category", ""},
		{"SOURCE", "Source", "type/Text", "type/Source", ""},
		{"SEATS", "Seats", "type/Integer", "", ""},
		{"CREATED_AT", "Created At", "type/DateTime", "type/CreationTimestamp", ""},
		{"TRIAL_ENDS_AT", "Trial Ends At", "type/DateTime", "", ""},
		{"CANCELED_AT", "Canceled At", "type/DateTime", "type/CancelationTimestamp", ""},
		{"TRIAL_CONVERTED", "Trial Converted", "type/Boolean", "type/Category", ""},
		{"ACTIVE_SUBSCRIPTION", "Active Subscription", "type/Boolean", "type/Category", ""},
		{"LEGACY_PLAN", "Legacy Plan", "type/Boolean", "type/Category", ""},
		{"LATITUDE", "Latitude", "type/Float", "type/Latitude", ""},
		{"LONGITUDE", "Longitude", "type/Float", "type/Longitude", ""},
		{"COUNTRY", "Country", "type/Text", "type/Country", ""},
	}},
	{4, 400, "ANALYTIC_EVENTS", "Analytic Events", "entity/EventTable", []col{
		{"ID", "ID", "type/BigInteger", "type/PK", ""},
		{"ACCOUNT_ID", "Account ID", "type/BigInteger", "type/FK", "ACCOUNTS.ID"},
		{"EVENT", "Event", "type/Text", "type/Category", ""},
		{"TIMESTAMP", "Timestamp", "type/DateTime", "", ""},
		{"PAGE_URL", "Page URL", "type/Text", "type/URL", ""},
		{"BUTTON_LABEL", "Button Label", "type/Text", "type/Category", ""},
	}},
	{6, 600, "FEEDBACK", "Feedback", "entity/GenericTable", []col{
		{"ID", "ID", "type/BigInteger", "type/PK", ""},
		{"ACCOUNT_ID", "Account ID", "type/BigInteger", "type/FK", "ACCOUNTS.ID"},
		{"EMAIL", "Email", "type/Text", "type/Email", ""},
		{"DATE_RECEIVED", "Date Received", "type/Date", "", ""},
		{"RATING", "Rating", "type/Integer", "type/Score", ""},
		{"RATING_MAPPED", "Rating Mapped", "type/Text", "type/Category", ""},
		{"BODY", "Body", "type/Text", "type/Description", ""},
	}},
	// INVOICES keeps field ids 80..85 (ACCOUNT_ID = 81) from the emulator's first sample.
	{8, 80, "INVOICES", "Invoices", "entity/GenericTable", []col{
		{"ID", "ID", "type/BigInteger", "type/PK", ""},
		{"ACCOUNT_ID", "Account ID", "type/BigInteger", "type/FK", "ACCOUNTS.ID"},
		{"PAYMENT", "Payment", "type/Float", "", ""},
		{"EXPECTED_INVOICE", "Expected Invoice", "type/Boolean", "type/Category", ""},
		{"PLAN", "Plan", "type/Text", "type/Category", ""},
		{"DATE_RECEIVED", "Date Received", "type/Date", "", ""},
	}},
	{9, 900, "ORDERS", "Orders", "entity/TransactionTable", []col{
		{"ID", "ID", "type/BigInteger", "type/PK", ""},
		{"USER_ID", "User ID", "type/Integer", "type/FK", "PEOPLE.ID"},
		{"PRODUCT_ID", "Product ID", "type/Integer", "type/FK", "PRODUCTS.ID"},
		{"SUBTOTAL", "Subtotal", "type/Float", "", ""},
		{"TAX", "Tax", "type/Float", "", ""},
		{"TOTAL", "Total", "type/Float", "", ""},
		{"DISCOUNT", "Discount", "type/Float", "type/Discount", ""},
		{"CREATED_AT", "Created At", "type/DateTime", "type/CreationTimestamp", ""},
		{"QUANTITY", "Quantity", "type/Integer", "type/Quantity", ""},
	}},
	{3, 300, "PEOPLE", "People", "entity/UserTable", []col{
		{"ID", "ID", "type/BigInteger", "type/PK", ""},
		{"ADDRESS", "Address", "type/Text", "", ""},
		{"EMAIL", "Email", "type/Text", "type/Email", ""},
		{"PASSWORD", "Password", "type/Text", "", ""},
		{"NAME", "Name", "type/Text", "type/Name", ""},
		{"CITY", "City", "type/Text", "type/City", ""},
		{"LONGITUDE", "Longitude", "type/Float", "type/Longitude", ""},
		{"STATE", "State", "type/Text", "type/State", ""},
		{"SOURCE", "Source", "type/Text", "type/Source", ""},
		{"BIRTH_DATE", "Birth Date", "type/Date", "", ""},
		{"ZIP", "Zip", "type/Text", "type/ZipCode", ""},
		{"LATITUDE", "Latitude", "type/Float", "type/Latitude", ""},
		{"CREATED_AT", "Created At", "type/DateTime", "type/CreationTimestamp", ""},
	}},
	{5, 500, "PRODUCTS", "Products", "entity/ProductTable", []col{
		{"ID", "ID", "type/BigInteger", "type/PK", ""},
		{"EAN", "Ean", "type/Text", "", ""},
		{"TITLE", "Title", "type/Text", "type/Title", ""},
		{"CATEGORY", "Category", "type/Text", "type/Category", ""},
		{"VENDOR", "Vendor", "type/Text", "type/Company", ""},
		{"PRICE", "Price", "type/Float", "", ""},
		{"RATING", "Rating", "type/Float", "type/Score", ""},
		{"CREATED_AT", "Created At", "type/DateTime", "type/CreationTimestamp", ""},
	}},
	{7, 700, "REVIEWS", "Reviews", "entity/GenericTable", []col{
		{"ID", "ID", "type/BigInteger", "type/PK", ""},
		{"PRODUCT_ID", "Product ID", "type/Integer", "type/FK", "PRODUCTS.ID"},
		{"REVIEWER", "Reviewer", "type/Text", "", ""},
		{"RATING", "Rating", "type/Integer", "type/Score", ""},
		{"BODY", "Body", "type/Text", "type/Description", ""},
		{"CREATED_AT", "Created At", "type/DateTime", "type/CreationTimestamp", ""},
	}},
}

func mustLoadSample() []*table {
	tables, err := loadSample(assets.Sample)
	if err != nil {
		// The CSVs are embedded at build time, so this is a broken build, not bad input.
		panic(err)
	}
	return tables
}

func loadSample(fsys fs.FS) ([]*table, error) {
	fieldID := map[string]int{}
	for _, c := range sampleColumns {
		for i, cl := range c.cols {
			fieldID[c.name+"."+cl.name] = c.fieldBase + i
		}
	}
	var tables []*table
	for _, c := range sampleColumns {
		t := &table{ID: c.id, Name: c.name, DisplayName: c.display, EntityType: c.entity, byPK: map[int64][]any{}}
		for i, cl := range c.cols {
			f := field{ID: c.fieldBase + i, Name: cl.name, DisplayName: cl.display, BaseType: cl.base,
				SemanticType: cl.semantic, TableID: c.id, Position: i}
			if cl.fk != "" {
				if f.FKTarget = fieldID[cl.fk]; f.FKTarget == 0 {
					return nil, fmt.Errorf("load sample table %s: FK %s targets unknown field %s", c.name, cl.name, cl.fk)
				}
			}
			t.Fields = append(t.Fields, f)
		}
		file := strings.ToLower(c.name) + ".csv"
		b, err := fs.ReadFile(fsys, "sample/"+file)
		if err != nil {
			return nil, fmt.Errorf("load sample table %s: %w", c.name, err)
		}
		recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
		if err != nil || len(recs) == 0 {
			return nil, fmt.Errorf("load sample table %s: bad CSV: %v", c.name, err)
		}
		if got := strings.Join(recs[0], ","); got != strings.Join(colNames(c.cols), ",") {
			return nil, fmt.Errorf("load sample table %s: CSV header %q does not match the declared columns", c.name, got)
		}
		for i, rec := range recs[1:] {
			row := make([]any, len(t.Fields))
			for j, f := range t.Fields {
				v, err := typed(f.BaseType, rec[j])
				if err != nil {
					return nil, fmt.Errorf("load sample table %s row %d column %s: %w", c.name, i+1, f.Name, err)
				}
				row[j] = v
			}
			t.Rows = append(t.Rows, row)
			if id, ok := row[0].(int64); ok {
				t.byPK[id] = row
			}
		}
		tables = append(tables, t)
	}
	return tables, nil
}

func colNames(cols []col) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.name
	}
	return out
}

// typed parses one CSV cell; an empty cell of a non-text column is SQL NULL.
func typed(baseType, s string) (any, error) {
	if s == "" && baseType != "type/Text" {
		return nil, nil
	}
	switch baseType {
	case "type/BigInteger", "type/Integer":
		return strconv.ParseInt(s, 10, 64)
	case "type/Float":
		return strconv.ParseFloat(s, 64)
	case "type/Boolean":
		return strconv.ParseBool(s)
	case "type/Date":
		// Metabase serialises dates as ISO-8601 timestamps.
		return s + "T00:00:00Z", nil
	case "type/DateTime":
		return s + "Z", nil
	}
	return s, nil
}

func tableByID(id int) *table {
	for _, t := range sampleTables {
		if t.ID == id {
			return t
		}
	}
	return nil
}

func tableByName(name string) *table {
	for _, t := range sampleTables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

func fieldByID(id int) (*table, *field, int) {
	for _, t := range sampleTables {
		for i := range t.Fields {
			if t.Fields[i].ID == id {
				return t, &t.Fields[i], i
			}
		}
	}
	return nil, nil, -1
}

// fieldNamed is t's column called name, or nil.
func (t *table) fieldNamed(name string) *field {
	for i := range t.Fields {
		if t.Fields[i].Name == name {
			return &t.Fields[i]
		}
	}
	return nil
}

func tableIDs() []int {
	ids := make([]int, len(sampleTables))
	for i, t := range sampleTables {
		ids[i] = t.ID
	}
	return ids
}

// sqliteSample reports whether this generation ships the SQLite Sample Database (Gen64, see the top of file).
func (s *Server) sqliteSample() bool { return s.gen() >= Gen64 }

// sampleSchema is a table record's "schema": "PUBLIC" on H2, nil on SQLite.
func (s *Server) sampleSchema() any {
	if s.sqliteSample() {
		return nil
	}
	return "PUBLIC"
}

// sampleSchemaKey is the schema's key in the permissions graph: "PUBLIC" on H2, "" for SQLite's nil schema
// (the graph keys a nil schema as "", src/metabase/permissions/models/data_permissions/graph.clj).
func (s *Server) sampleSchemaKey() string {
	if s.sqliteSample() {
		return ""
	}
	return "PUBLIC"
}

// tableJSON is the shape of GET /api/table entries and of the tables inside database metadata: the keys
// frontend/src/metabase-types/api/table.ts (Table) requires.
func (s *Server) tableJSON(t *table, withFields bool) map[string]any {
	m := map[string]any{
		"id": t.ID, "db_id": sampleDBID, "name": t.Name, "display_name": t.DisplayName, "description": nil,
		"schema": s.sampleSchema(), "entity_type": t.EntityType, "active": true, "visibility_type": nil,
		"field_order": "database", "initial_sync_status": "complete", "is_upload": false,
		"created_at": sampleSyncedAt, "updated_at": sampleSyncedAt,
	}
	if withFields {
		m["fields"] = t.Fields
		m["db"] = s.sampleDatabaseRecord()
	}
	return m
}

// sampleDatabaseRecord is the database record with the keys frontend/src/metabase-types/api/database.ts
// (Database, DatabaseData; commit 00e4458f) requires. native_permissions depends on the caller: see
// (*Server).sampleDatabase.
func (s *Server) sampleDatabaseRecord() map[string]any {
	engine := "h2"
	if s.sqliteSample() {
		engine = "sqlite"
	}
	return map[string]any{
		"id": sampleDBID, "name": "Sample Database", "engine": engine, "is_sample": true, "is_full_sync": true,
		"is_on_demand": false, "is_audit": false, "initial_sync_status": "complete",
		"features":  []string{"basic-aggregations", "binning", "expressions", "foreign-keys", "left-join", "nested-queries"},
		"schedules": map[string]any{}, "auto_run_queries": true, "refingerprint": nil, "cache_ttl": nil,
		"native_permissions": "write", "can_upload": false, "uploads_enabled": false, "uploads_schema_name": nil,
		"uploads_table_prefix": nil, "created_at": sampleSyncedAt, "updated_at": sampleSyncedAt,
	}
}
