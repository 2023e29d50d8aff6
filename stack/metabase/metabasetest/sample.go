package metabasetest

import (
	"encoding/csv"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/embedwizard/embedwizard/assets"
)

// sampleDBID is the Sample Database's id. Real instances usually give it 1 too, but clients must look it up
// (contract §6), which the emulator's odd table ids help to enforce.
const sampleDBID = 1

// field is one column of a sample table, in the shape Metabase's metadata endpoints use.
type field struct {
	ID           int    `json:"id"`
	Name         string `json:"name"`
	DisplayName  string `json:"display_name"`
	BaseType     string `json:"base_type"`
	SemanticType string `json:"semantic_type,omitempty"`
	TableID      int    `json:"table_id"`
}

// table is one table of the Sample Database with its rows, typed as Metabase returns them in a dataset.
type table struct {
	ID          int
	Name        string
	DisplayName string
	Fields      []field
	Rows        [][]any
}

// sampleTables are the tables of the Sample Database (contract §6: upper-case names in schema PUBLIC).
// Their ids are not 1..n on purpose: clients must resolve them.
var sampleTables = mustLoadSample()

// sampleColumns declares the tables, their ids and column types; the rows come from assets/sample/*.csv.
var sampleColumns = []struct {
	id      int
	name    string
	display string
	file    string
	cols    []field
}{
	{3, "PEOPLE", "People", "people.csv", []field{
		{ID: 30, Name: "ID", DisplayName: "ID", BaseType: "type/BigInteger", SemanticType: "type/PK"},
		{ID: 31, Name: "NAME", DisplayName: "Name", BaseType: "type/Text", SemanticType: "type/Name"},
		{ID: 32, Name: "EMAIL", DisplayName: "Email", BaseType: "type/Text", SemanticType: "type/Email"},
		{ID: 33, Name: "STATE", DisplayName: "State", BaseType: "type/Text", SemanticType: "type/State"},
	}},
	{5, "PRODUCTS", "Products", "products.csv", []field{
		{ID: 50, Name: "ID", DisplayName: "ID", BaseType: "type/BigInteger", SemanticType: "type/PK"},
		{ID: 51, Name: "TITLE", DisplayName: "Title", BaseType: "type/Text", SemanticType: "type/Title"},
		{ID: 52, Name: "CATEGORY", DisplayName: "Category", BaseType: "type/Text", SemanticType: "type/Category"},
		{ID: 53, Name: "PRICE", DisplayName: "Price", BaseType: "type/Float"},
	}},
	{8, "INVOICES", "Invoices", "invoices.csv", []field{
		{ID: 80, Name: "ID", DisplayName: "ID", BaseType: "type/BigInteger", SemanticType: "type/PK"},
		{ID: 81, Name: "ACCOUNT_ID", DisplayName: "Account ID", BaseType: "type/BigInteger", SemanticType: "type/FK"},
		{ID: 82, Name: "PAYMENT", DisplayName: "Payment", BaseType: "type/Float"},
		{ID: 83, Name: "EXPECTED_INVOICE", DisplayName: "Expected Invoice", BaseType: "type/Boolean"},
		{ID: 84, Name: "PLAN", DisplayName: "Plan", BaseType: "type/Text", SemanticType: "type/Category"},
		{ID: 85, Name: "DATE_RECEIVED", DisplayName: "Date Received", BaseType: "type/Date"},
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
	var tables []*table
	for _, c := range sampleColumns {
		t := &table{ID: c.id, Name: c.name, DisplayName: c.display}
		for _, f := range c.cols {
			f.TableID = c.id
			t.Fields = append(t.Fields, f)
		}
		b, err := fs.ReadFile(fsys, "sample/"+c.file)
		if err != nil {
			return nil, fmt.Errorf("load sample table %s: %w", c.name, err)
		}
		recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
		if err != nil || len(recs) == 0 {
			return nil, fmt.Errorf("load sample table %s: bad CSV: %v", c.name, err)
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
		}
		tables = append(tables, t)
	}
	return tables, nil
}

func typed(baseType, s string) (any, error) {
	switch baseType {
	case "type/BigInteger":
		return strconv.ParseInt(s, 10, 64)
	case "type/Float":
		return strconv.ParseFloat(s, 64)
	case "type/Boolean":
		return strconv.ParseBool(s)
	case "type/Date":
		// Metabase serialises dates as ISO-8601 timestamps.
		return s + "T00:00:00Z", nil
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

func tableIDs() []int {
	ids := make([]int, len(sampleTables))
	for i, t := range sampleTables {
		ids[i] = t.ID
	}
	return ids
}

// tableJSON is the shape of GET /api/table entries and of the tables inside database metadata (contract §6).
func (t *table) json(withFields bool) map[string]any {
	m := map[string]any{
		"id": t.ID, "db_id": sampleDBID, "name": t.Name, "display_name": t.DisplayName, "schema": "PUBLIC",
		"entity_type": "entity/GenericTable", "active": true, "visibility_type": nil,
	}
	if withFields {
		m["fields"] = t.Fields
		m["db"] = sampleDatabaseJSON()
	}
	return m
}

func sampleDatabaseJSON() map[string]any {
	return map[string]any{
		"id": sampleDBID, "name": "Sample Database", "engine": "h2", "is_sample": true, "is_full_sync": true,
		"is_audit": false, "features": []string{"basic-aggregations", "nested-queries"}, "initial_sync_status": "complete",
	}
}
