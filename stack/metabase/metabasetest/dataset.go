package metabasetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
)

// Queries over the Sample Database with data permissions and sandboxes applied (contract §13).

// errNoQueryPerms is the 403 for a query the user may not run (contract §13).
var errNoQueryPerms = textErr(http.StatusForbidden, "You do not have permissions to run this query.")

// maxResults is Metabase's default row cap for ad-hoc queries.
const maxResults = 2000

// queryFailed is a query error Metabase streams as a 2xx body with "status": "failed" (contract §13).
type queryFailed struct{ msg string }

func (e *queryFailed) Error() string { return e.msg }

// tableAccess is what a user may do with one table: the most permissive grant over their groups
// (unrestricted > sandboxed > blocked), plus the sandboxes that apply when sandboxed.
type tableAccess struct {
	viewData      string
	createQueries string
	sandboxes     []*sandbox
}

func (s *Server) accessOf(u *user, tableID int) tableAccess {
	if u.Superuser {
		return tableAccess{viewData: "unrestricted", createQueries: "query-builder-and-native"}
	}
	acc := tableAccess{viewData: "blocked", createQueries: "no"}
	for _, g := range u.groupIDs() {
		p := s.st.Perms[g]
		if p == nil {
			continue
		}
		vd := p.ViewData[tableID]
		if vd == "impersonated" || vd == "legacy-no-self-service" {
			vd = "unrestricted"
		}
		if rank("view-data", vd) > rank("view-data", acc.viewData) {
			acc.viewData = vd
		}
		if rank("create-queries", p.CreateQueries[tableID]) > rank("create-queries", acc.createQueries) {
			acc.createQueries = p.CreateQueries[tableID]
		}
		if vd == "sandboxed" {
			if sb := findSandbox(s.st.Sandboxes, g, tableID); sb != nil {
				acc.sandboxes = append(acc.sandboxes, sb)
			}
		}
	}
	return acc
}

// visibleRows are t's rows u may see. Saved dashboards need only view-data; ad-hoc queries also need
// create-queries (contract §8 quick-start mapping).
func (s *Server) visibleRows(u *user, t *table, adHoc bool) ([][]any, error) {
	acc := s.accessOf(u, t.ID)
	if acc.viewData == "blocked" || adHoc && acc.createQueries == "no" {
		return nil, errNoQueryPerms
	}
	if acc.viewData != "sandboxed" {
		return t.Rows, nil
	}
	if len(acc.sandboxes) == 0 {
		// Sandboxed without a sandbox row has no policy to apply; the emulator shows nothing.
		return nil, errNoQueryPerms
	}
	// Resolve each sandbox to (column, wanted value) pairs once, not per row.
	type cond struct {
		col  int
		want string
	}
	var policies [][]cond
	for _, sb := range acc.sandboxes {
		var conds []cond
		for attr, raw := range sb.AttributeRemappings {
			want, ok := u.JWTAttrs[attr]
			if !ok {
				want, ok = u.LoginAttrs[attr]
			}
			if !ok {
				return nil, &queryFailed{fmt.Sprintf("Query requires user attribute `%s`", attr)}
			}
			fid, _ := remapField(raw)
			_, _, col := fieldByID(fid)
			conds = append(conds, cond{col, want})
		}
		policies = append(policies, conds)
	}
	var out [][]any
	for _, row := range t.Rows {
		for _, conds := range policies {
			ok := true
			for _, c := range conds {
				ok = ok && c.col >= 0 && fmt.Sprint(row[c.col]) == c.want
			}
			if ok {
				out = append(out, row)
				break
			}
		}
	}
	return out, nil
}

type datasetBody struct {
	Database *int            `json:"database"`
	Type     string          `json:"type"`
	Query    json.RawMessage `json:"query"`
}

type mbql struct {
	SourceTable *int    `json:"source-table"`
	Limit       *int    `json:"limit"`
	Filter      []any   `json:"filter"`
	Breakout    [][]any `json:"breakout"`
	Aggregation [][]any `json:"aggregation"`
}

func (s *Server) dataset(c *call) (int, any, error) {
	var b datasetBody
	if err := decodeBody(c.r, &b); err != nil {
		return 0, nil, err
	}
	if b.Database == nil || *b.Database != sampleDBID {
		return 0, nil, fieldErr(http.StatusBadRequest, "database", "value must be the id of an existing database.")
	}
	res, err := s.runQuery(c.u, b)
	if qf, ok := err.(*queryFailed); ok {
		// contract §13: query errors are streamed with a 2xx and "status": "failed".
		return http.StatusAccepted, map[string]any{"status": "failed", "error": qf.msg, "row_count": 0,
			"data": map[string]any{"rows": []any{}, "cols": []any{}}, "database_id": sampleDBID}, nil
	}
	if err != nil {
		return 0, nil, err
	}
	// contract §13: every streaming response is 202.
	c.w.Header().Set("Connection", "close")
	return http.StatusAccepted, res, nil
}

func (s *Server) runQuery(u *user, b datasetBody) (map[string]any, error) {
	if b.Type == "native" {
		for _, id := range tableIDs() {
			if s.accessOf(u, id).createQueries != "query-builder-and-native" {
				return nil, errNoQueryPerms
			}
		}
		return nil, &queryFailed{"native queries are not supported by the Metabase emulator"}
	}
	var q mbql
	d := json.NewDecoder(bytes.NewReader(b.Query))
	d.UseNumber()
	if b.Type != "query" || d.Decode(&q) != nil || q.SourceTable == nil {
		return nil, fieldErr(http.StatusBadRequest, "query", "value must be an MBQL query with a source-table.")
	}
	t := tableByID(*q.SourceTable)
	if t == nil {
		return nil, &queryFailed{fmt.Sprintf("Table %d does not exist", *q.SourceTable)}
	}
	rows, err := s.visibleRows(u, t, true)
	if err != nil {
		return nil, err
	}
	if q.Filter != nil {
		var kept [][]any
		for _, row := range rows {
			ok, err := matches(t, q.Filter, row)
			if err != nil {
				return nil, err
			}
			if ok {
				kept = append(kept, row)
			}
		}
		rows = kept
	}
	cols := make([]map[string]any, 0, len(t.Fields))
	for _, f := range t.Fields {
		cols = append(cols, colJSON(f))
	}
	if len(q.Breakout) > 0 || len(q.Aggregation) > 0 {
		rows, cols, err = aggregate(t, q, rows)
		if err != nil {
			return nil, err
		}
	}
	limit := maxResults
	if q.Limit != nil && *q.Limit < limit {
		limit = *q.Limit
	}
	if len(rows) > limit {
		rows = rows[:limit]
	}
	if rows == nil {
		rows = [][]any{}
	}
	return map[string]any{"status": "completed", "row_count": len(rows), "database_id": sampleDBID,
		"context": "ad-hoc", "running_time": 1, "json_query": b,
		"data": map[string]any{"rows": rows, "cols": cols, "native_form": nil, "rows_truncated": nil}}, nil
}

func colJSON(f field) map[string]any {
	return map[string]any{"id": f.ID, "name": f.Name, "display_name": f.DisplayName, "base_type": f.BaseType,
		"semantic_type": f.SemanticType, "table_id": f.TableID, "field_ref": []any{"field", f.ID, nil}, "source": "fields"}
}

// fieldRef resolves ["field", id, opts] to a column of t.
func fieldRef(t *table, ref any) (int, error) {
	arr, ok := ref.([]any)
	if ok && len(arr) >= 2 && arr[0] == "field" {
		if n, ok := arr[1].(json.Number); ok {
			id, _ := strconv.Atoi(n.String())
			if ft, _, col := fieldByID(id); ft == t {
				return col, nil
			}
		}
	}
	return 0, &queryFailed{fmt.Sprintf("unsupported field reference %v: use [\"field\", <id of a %s column>, null]", ref, t.Name)}
}

// matches evaluates the MBQL filter subset the emulator knows: =, !=, and, or.
func matches(t *table, f []any, row []any) (bool, error) {
	if len(f) == 0 {
		return true, nil
	}
	op, _ := f[0].(string)
	switch op {
	case "and", "or":
		for _, sub := range f[1:] {
			clause, _ := sub.([]any)
			ok, err := matches(t, clause, row)
			if err != nil {
				return false, err
			}
			if ok == (op == "or") {
				return ok, nil
			}
		}
		return op == "and", nil
	case "=", "!=":
		if len(f) < 3 {
			break
		}
		col, err := fieldRef(t, f[1])
		if err != nil {
			return false, err
		}
		hit := false
		for _, v := range f[2:] {
			hit = hit || sameValue(row[col], v)
		}
		return hit == (op == "="), nil
	}
	return false, &queryFailed{fmt.Sprintf("unsupported filter %v: the emulator knows =, !=, and, or", f)}
}

func sameValue(cell, v any) bool {
	if n, ok := v.(json.Number); ok {
		want, err := n.Float64()
		switch c := cell.(type) {
		case int64:
			return err == nil && float64(c) == want
		case float64:
			return err == nil && c == want
		}
		return false
	}
	return fmt.Sprint(cell) == fmt.Sprint(v)
}

// aggregate supports count, optionally broken out by one field (what the guide's CLI samples tenants with).
func aggregate(t *table, q mbql, rows [][]any) ([][]any, []map[string]any, error) {
	for _, a := range q.Aggregation {
		if len(a) != 1 || a[0] != "count" {
			return nil, nil, &queryFailed{fmt.Sprintf("unsupported aggregation %v: the emulator knows [\"count\"]", a)}
		}
	}
	countCol := map[string]any{"name": "count", "display_name": "Count", "base_type": "type/BigInteger", "source": "aggregation"}
	if len(q.Breakout) == 0 {
		return [][]any{{int64(len(rows))}}, []map[string]any{countCol}, nil
	}
	if len(q.Breakout) != 1 {
		return nil, nil, &queryFailed{"the emulator breaks out by one field only"}
	}
	col, err := fieldRef(t, any(q.Breakout[0]))
	if err != nil {
		return nil, nil, err
	}
	counts := map[string]int64{}
	values := map[string]any{}
	for _, row := range rows {
		k := fmt.Sprint(row[col])
		counts[k]++
		values[k] = row[col]
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return less(values[keys[i]], values[keys[j]]) })
	out := make([][]any, 0, len(keys))
	for _, k := range keys {
		if len(q.Aggregation) == 0 {
			out = append(out, []any{values[k]})
		} else {
			out = append(out, []any{values[k], counts[k]})
		}
	}
	cols := []map[string]any{colJSON(t.Fields[col])}
	if len(q.Aggregation) > 0 {
		cols = append(cols, countCol)
	}
	return out, cols, nil
}

func less(a, b any) bool {
	switch a := a.(type) {
	case int64:
		return a < b.(int64)
	case float64:
		return a < b.(float64)
	}
	return fmt.Sprint(a) < fmt.Sprint(b)
}
