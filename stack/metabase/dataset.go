package metabase

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Query is an MBQL query for POST /api/dataset (contract §13).
type Query struct {
	Database int    `json:"database"`
	Type     string `json:"type"` // "query"
	Query    MBQL   `json:"query"`
}

// MBQL is the inner query: a source table with an optional limit, filter and breakout.
type MBQL struct {
	SourceTable int   `json:"source-table"`
	Limit       int   `json:"limit,omitempty"`
	Filter      []any `json:"filter,omitempty"`
	Breakout    []any `json:"breakout,omitempty"`
	Aggregation []any `json:"aggregation,omitempty"`
}

// TableQuery selects up to limit rows of a table.
func TableQuery(databaseID, tableID, limit int) Query {
	return Query{Database: databaseID, Type: "query", Query: MBQL{SourceTable: tableID, Limit: limit}}
}

// Column is a result column.
type Column struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	BaseType    string `json:"base_type"`
	FieldID     int    `json:"id,omitempty"`
}

// QueryResult is the answer of POST /api/dataset.
type QueryResult struct {
	Status   string `json:"status"` // "completed" or "failed"
	Error    string `json:"error,omitempty"`
	RowCount int    `json:"row_count"`
	Data     struct {
		Rows [][]any  `json:"rows"`
		Cols []Column `json:"cols"`
	} `json:"data"`
}

// Column returns the index of the column of that name (case-insensitive), or -1.
func (r QueryResult) Column(name string) int {
	for i, c := range r.Data.Cols {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// RunQuery runs a query (POST /api/dataset). Metabase answers 202 for a streamed result and reports query
// errors inside a 2xx body with status "failed" (contract §13): both are handled, a failed query is an error.
func (c *Client) RunQuery(ctx context.Context, q Query) (QueryResult, error) {
	var r QueryResult
	if err := c.do(ctx, http.MethodPost, "/api/dataset", nil, q, &r); err != nil {
		return QueryResult{}, fmt.Errorf("run query on table %d: %w", q.Query.SourceTable, err)
	}
	if r.Status != "" && r.Status != "completed" {
		return r, fmt.Errorf("run query on table %d: %w", q.Query.SourceTable, &QueryError{Status: r.Status, Message: r.Error})
	}
	return r, nil
}
