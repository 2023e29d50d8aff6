package metabase

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Database is one entry of GET /api/database.
type Database struct {
	ID       int     `json:"id"`
	Name     string  `json:"name"`
	Engine   string  `json:"engine"`
	IsSample bool    `json:"is_sample"`
	Tables   []Table `json:"tables,omitempty"`
}

// Table is a table of a database, with its fields when read through metadata calls.
type Table struct {
	ID   int    `json:"id"`
	DBID int    `json:"db_id"`
	Name string `json:"name"` // "INVOICES"
	// Schema is the table's schema as Metabase records it: "PUBLIC" for the H2 Sample Database, nil (read
	// as "") for the SQLite one of 0.64+. It is also the table's key in the permissions graph, where
	// Metabase writes a nil schema as "" (permissions_rest/data_permissions/graph.clj
	// data-permissions-graph: (or schema ""), master 2025). Never assume PUBLIC.
	Schema      string  `json:"schema"`
	DisplayName string  `json:"display_name"`
	Fields      []Field `json:"fields,omitempty"`
}

// Field is a column.
type Field struct {
	ID          int    `json:"id"`
	Name        string `json:"name"` // "ACCOUNT_ID"
	DisplayName string `json:"display_name"`
	BaseType    string `json:"base_type"`
	TableID     int    `json:"table_id"`
	// FKTargetFieldID is the field a foreign key points at (INVOICES.ACCOUNT_ID → ACCOUNTS.ID).
	FKTargetFieldID *int `json:"fk_target_field_id,omitempty"`
}

// Databases lists databases. The answer is {"data": […], "total": n}, not a bare array (contract §6).
func (c *Client) Databases(ctx context.Context) ([]Database, error) {
	var r struct {
		Data  []Database `json:"data"`
		Total int        `json:"total"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/database", nil, nil, &r); err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	return r.Data, nil
}

// DatabaseMetadata reads a database with its tables and their fields (GET /api/database/:id/metadata).
func (c *Client) DatabaseMetadata(ctx context.Context, id int) (Database, error) {
	var d Database
	if err := c.do(ctx, http.MethodGet, "/api/database/"+strconv.Itoa(id)+"/metadata", nil, nil, &d); err != nil {
		return Database{}, fmt.Errorf("read metadata of database %d: %w", id, err)
	}
	return d, nil
}

// Tables lists every table Metabase knows (GET /api/table).
func (c *Client) Tables(ctx context.Context) ([]Table, error) {
	var t []Table
	if err := c.do(ctx, http.MethodGet, "/api/table", nil, nil, &t); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return t, nil
}

// TableMetadata reads a table with its fields (GET /api/table/:id/query_metadata).
func (c *Client) TableMetadata(ctx context.Context, id int) (Table, error) {
	var t Table
	if err := c.do(ctx, http.MethodGet, "/api/table/"+strconv.Itoa(id)+"/query_metadata", nil, nil, &t); err != nil {
		return Table{}, fmt.Errorf("read metadata of table %d: %w", id, err)
	}
	return t, nil
}

// TableNamed finds a table by name, case-insensitively ("invoices" finds INVOICES).
func (d Database) TableNamed(name string) (Table, bool) {
	for _, t := range d.Tables {
		if strings.EqualFold(t.Name, name) || strings.EqualFold(t.DisplayName, name) {
			return t, true
		}
	}
	return Table{}, false
}

// TableByID finds a table of the database by id.
func (d Database) TableByID(id int) (Table, bool) {
	for _, t := range d.Tables {
		if t.ID == id {
			return t, true
		}
	}
	return Table{}, false
}

// FieldByID finds a field of any table of the database by id, with its table.
func (d Database) FieldByID(id int) (Table, Field, bool) {
	for _, t := range d.Tables {
		for _, f := range t.Fields {
			if f.ID == id {
				return t, f, true
			}
		}
	}
	return Table{}, Field{}, false
}

// FieldNamed finds a field by name, case-insensitively ("account_id" finds ACCOUNT_ID).
func (t Table) FieldNamed(name string) (Field, bool) {
	for _, f := range t.Fields {
		if strings.EqualFold(f.Name, name) || strings.EqualFold(f.DisplayName, name) {
			return f, true
		}
	}
	return Field{}, false
}
