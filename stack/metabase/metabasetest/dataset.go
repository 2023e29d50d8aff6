package metabasetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// Queries over the Sample Database with data permissions and sandboxes applied (contract §13). The same engine
// runs ad-hoc queries (POST /api/dataset) and saved cards (cards.go): an MBQL subset big enough for the X-ray's
// cards — filters, count/distinct/sum/avg/min/max, breakouts with temporal units and binning, order-by, limit,
// and implicit joins through a foreign key (["field", id, {"source-field": fk}]).

// errNoQueryPerms is the 403 for a query the user may not run (contract §13).
var errNoQueryPerms = textErr(http.StatusForbidden, "You do not have permissions to run this query.")

// maxBreakouts is how many breakouts one query may have in the emulator (the X-ray uses two at most).
const maxBreakouts = 4

// maxResults is Metabase's default row cap for ad-hoc queries.
const maxResults = 2000

// queryFailed is a query error Metabase streams as a 2xx body with "status": "failed" (contract §13).
// errorType is the body's error_type ("" = none).
type queryFailed struct{ msg, errorType string }

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

// visibleRows are t's rows u may see. Saved cards and dashboards need only view-data; ad-hoc queries also
// need create-queries (contract §8 quick-start mapping). A sandbox keeps the rows whose remapped column equals
// the user's attribute; several sandboxes (one per group) are OR-ed.
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
		want any // the attribute as the column's Go type (int64, float64, bool or string)
	}
	var policies [][]cond
	for _, sb := range acc.sandboxes {
		var conds []cond
		for attr, raw := range sb.AttributeRemappings {
			// An admin's hand-set login attribute wins over the JWT's (userattrs.go, user.clj add-attributes).
			want, ok := userAttribute(u, attr)
			if !ok {
				return nil, &queryFailed{msg: fmt.Sprintf("Query requires user attribute `%s`", attr)}
			}
			fid, _ := remapField(raw)
			_, f, col := fieldByID(fid)
			conds = append(conds, cond{col, attrAs(f, want)})
		}
		policies = append(policies, conds)
	}
	var out [][]any
	for _, row := range t.Rows {
		for _, conds := range policies {
			ok := true
			for _, c := range conds {
				ok = ok && c.col >= 0 && row[c.col] == c.want
			}
			if ok {
				out = append(out, row)
				break
			}
		}
	}
	return out, nil
}

// attrAs converts a user attribute (always a string) to f's cell type, so that a sandbox compares values, not
// their printed forms, and a non-number attribute on a number column matches nothing.
func attrAs(f *field, attr string) any {
	if f == nil {
		return attr
	}
	v, err := typed(f.BaseType, attr)
	if err != nil {
		return struct{}{} // matches no cell
	}
	return v
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
	Breakout    []any   `json:"breakout"`
	Aggregation [][]any `json:"aggregation"`
	OrderBy     [][]any `json:"order-by"`
}

func (s *Server) dataset(c *call) (int, any, error) {
	var b datasetBody
	if err := decodeBody(c.r, &b); err != nil {
		return 0, nil, err
	}
	if b.Database == nil || *b.Database != sampleDBID {
		return 0, nil, fieldErr(http.StatusBadRequest, "database", "value must be the id of an existing database.")
	}
	res, err := s.runQuery(c.u, b, true)
	if qf, ok := err.(*queryFailed); ok {
		return http.StatusAccepted, failedResult(qf), nil
	}
	if err != nil {
		return 0, nil, err
	}
	// contract §13: every streaming response is 202.
	c.w.Header().Set("Connection", "close")
	return http.StatusAccepted, res, nil
}

// failedResult is the streamed body of a query that failed: contract §13, 2xx with "status": "failed".
// error_type is a DatasetErrorType of frontend/src/metabase-types/api/dataset.ts.
func failedResult(qf *queryFailed) map[string]any {
	m := map[string]any{"status": "failed", "error": qf.msg, "row_count": 0,
		"data": map[string]any{"rows": []any{}, "cols": []any{}}, "database_id": sampleDBID}
	if qf.errorType != "" {
		m["error_type"] = qf.errorType
	}
	return m
}

// runQuery runs b as u. adHoc is true for POST /api/dataset (create-queries needed on every table the query
// touches) and false for saved cards (view-data only).
func (s *Server) runQuery(u *user, b datasetBody, adHoc bool) (map[string]any, error) {
	if b.Type == "native" {
		for _, id := range tableIDs() {
			if s.accessOf(u, id).createQueries != "query-builder-and-native" {
				return nil, errNoQueryPerms
			}
		}
		return nil, &queryFailed{msg: "native queries are not supported by the Metabase emulator"}
	}
	var q mbql
	d := json.NewDecoder(bytes.NewReader(b.Query))
	d.UseNumber()
	if b.Type != "query" || d.Decode(&q) != nil || q.SourceTable == nil {
		return nil, fieldErr(http.StatusBadRequest, "query", "value must be an MBQL query with a source-table.")
	}
	t := tableByID(*q.SourceTable)
	if t == nil {
		return nil, &queryFailed{msg: fmt.Sprintf("Table %d does not exist", *q.SourceTable)}
	}
	ex, err := s.newExecution(u, t, q, adHoc)
	if err != nil {
		return nil, err
	}
	rows, cols, err := ex.run(q)
	if err != nil {
		return nil, err
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

// execution is one query being run: the source table's visible rows and, for every table reached through a
// foreign key, its visible rows by primary key.
type execution struct {
	s      *Server
	t      *table
	rows   [][]any
	joined map[int]map[int64][]any
	now    time.Time
}

// newExecution checks u's permissions on every table q touches — a card that follows an FK to a blocked table
// fails as a whole (src/metabase/query_processor/middleware/permissions.clj: the query's required permissions
// cover every source table, joined ones included) — and loads the rows u may see, sandboxes applied.
func (s *Server) newExecution(u *user, t *table, q mbql, adHoc bool) (*execution, error) {
	ex := &execution{s: s, t: t, joined: map[int]map[int64][]any{}, now: s.opts.Now().UTC()}
	rows, err := s.visibleRows(u, t, adHoc)
	if err != nil {
		return nil, err
	}
	ex.rows = rows
	for _, tt := range joinedTables(t, q) {
		rows, err := s.visibleRows(u, tt, adHoc)
		if err != nil {
			return nil, err
		}
		byPK := map[int64][]any{}
		for _, row := range rows {
			if id, ok := row[0].(int64); ok {
				byPK[id] = row
			}
		}
		ex.joined[tt.ID] = byPK
	}
	return ex, nil
}

// joinedTables are the tables q reaches from t through "source-field" (implicit joins), each once.
func joinedTables(t *table, q mbql) []*table {
	seen := map[int]bool{t.ID: true}
	var out []*table
	var walk func(v any)
	walk = func(v any) {
		arr, ok := v.([]any)
		if !ok {
			return
		}
		if len(arr) == 3 && arr[0] == "field" {
			if opts, ok := arr[2].(map[string]any); ok && opts["source-field"] != nil {
				if tt, _, _ := fieldByID(intOf(arr[1])); tt != nil && !seen[tt.ID] {
					seen[tt.ID] = true
					out = append(out, tt)
				}
			}
		}
		for _, e := range arr {
			walk(e)
		}
	}
	walk(q.Filter)
	walk(q.Breakout)
	for _, a := range q.Aggregation {
		walk(a)
	}
	for _, o := range q.OrderBy {
		walk(o)
	}
	return out
}

func intOf(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, _ := strconv.Atoi(n.String())
		return i
	case float64:
		return int(n)
	case int:
		return n
	}
	return 0
}

// expr reads one value from a source-table row.
type expr struct {
	f   *field // the column, for result metadata
	ref any    // the MBQL reference, echoed as field_ref
	get func(row []any) any
}

// ref compiles ["field", id, opts]: a column of the source table, or of a table joined through
// opts["source-field"], optionally bucketed by "temporal-unit" or "binning".
func (ex *execution) ref(raw any) (expr, error) {
	arr, ok := raw.([]any)
	bad := &queryFailed{msg: fmt.Sprintf("unsupported field reference %v: use [\"field\", <field id>, null or options]", raw)}
	if !ok || len(arr) < 2 || arr[0] != "field" {
		return expr{}, bad
	}
	ft, f, col := fieldByID(intOf(arr[1]))
	if ft == nil {
		return expr{}, bad
	}
	var opts map[string]any // nil when the reference has no options (["field", id] or ["field", id, null])
	if len(arr) > 2 {
		opts, _ = arr[2].(map[string]any)
	}
	var get func(row []any) any
	switch {
	case ft == ex.t:
		get = func(row []any) any { return row[col] }
	case opts["source-field"] != nil:
		fkT, fk, fkCol := fieldByID(intOf(opts["source-field"]))
		if fkT != ex.t || fk.FKTarget == 0 {
			return expr{}, &queryFailed{msg: fmt.Sprintf("source-field %v is not a foreign key of %s", opts["source-field"], ex.t.Name)}
		}
		if tt, _, _ := fieldByID(fk.FKTarget); tt != ft {
			return expr{}, &queryFailed{msg: fmt.Sprintf("field %d is not in the table %s points at", f.ID, fk.Name)}
		}
		byPK := ex.joined[ft.ID]
		get = func(row []any) any {
			key, _ := row[fkCol].(int64)
			if target := byPK[key]; target != nil {
				return target[col]
			}
			return nil // a LEFT JOIN: no visible row on the other side
		}
	default:
		return expr{}, &queryFailed{msg: fmt.Sprintf("field %d is not in table %s; follow a foreign key with {\"source-field\": <fk id>}", f.ID, ex.t.Name)}
	}
	if unit, _ := opts["temporal-unit"].(string); unit != "" && unit != "default" {
		inner := get
		memo := map[any]any{} // timestamps repeat; parsing each is the costly part
		get = func(row []any) any {
			v := inner(row)
			b, ok := memo[v]
			if !ok {
				b = bucket(v, unit)
				memo[v] = b
			}
			return b
		}
	}
	if binning, ok := opts["binning"].(map[string]any); ok {
		width := binWidth(ex, get, binning)
		inner := get
		get = func(row []any) any {
			if v, ok := number(inner(row)); ok {
				return math.Floor(v/width) * width
			}
			return nil
		}
	}
	return expr{f: f, ref: raw, get: get}, nil
}

// bucket truncates or extracts a temporal value as Metabase's temporal units do (extractions are numbers;
// day-of-week counts from Sunday = 1, Metabase's default start-of-week).
func bucket(v any, unit string) any {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil
	}
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	iso := func(t time.Time) any { return t.Format(time.RFC3339) }
	switch unit {
	case "minute":
		return iso(t.Truncate(time.Minute))
	case "hour":
		return iso(t.Truncate(time.Hour))
	case "day":
		return iso(day)
	case "week":
		return iso(day.AddDate(0, 0, -int(day.Weekday())))
	case "month":
		return iso(day.AddDate(0, 0, 1-day.Day()))
	case "quarter":
		return iso(time.Date(t.Year(), time.Month((int(t.Month())-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC))
	case "year":
		return iso(time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC))
	case "hour-of-day":
		return int64(t.Hour())
	case "day-of-week":
		return int64(t.Weekday()) + 1
	case "day-of-month":
		return int64(t.Day())
	case "month-of-year":
		return int64(t.Month())
	case "quarter-of-year":
		return int64((int(t.Month())-1)/3 + 1)
	}
	return v
}

// binWidth is the bin width: given ("bin-width"), or for "default"/"num-bins" a round width that splits the
// column's range into about num-bins (default 8) bins.
func binWidth(ex *execution, get func([]any) any, binning map[string]any) float64 {
	if w, ok := number(binning["bin-width"]); ok && w > 0 {
		return w
	}
	bins := 8.0
	if n, ok := number(binning["num-bins"]); ok && n > 0 {
		bins = n
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range ex.rows {
		if v, ok := number(get(row)); ok {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if hi <= lo {
		return 1
	}
	return math.Pow(10, math.Ceil(math.Log10((hi-lo)/bins)))
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case int:
		return float64(n), true
	}
	return 0, false
}

func (ex *execution) run(q mbql) ([][]any, []map[string]any, error) {
	rows := ex.rows
	if len(q.Filter) > 0 {
		pred, err := ex.filter(q.Filter)
		if err != nil {
			return nil, nil, err
		}
		var kept [][]any
		for _, row := range rows {
			if pred(row) {
				kept = append(kept, row)
			}
		}
		rows = kept
	}
	if len(q.Breakout) == 0 && len(q.Aggregation) == 0 {
		cols := make([]map[string]any, 0, len(ex.t.Fields))
		for _, f := range ex.t.Fields {
			cols = append(cols, colJSON(f, []any{"field", f.ID, nil}, "fields"))
		}
		return rows, cols, nil
	}
	return ex.aggregate(q, rows)
}

// filter compiles the MBQL filter subset: and, or, not, =, !=, <, <=, >, >=, between, is-null, not-null,
// time-interval.
func (ex *execution) filter(f []any) (func([]any) bool, error) {
	op, _ := f[0].(string)
	switch op {
	case "and", "or", "not":
		var subs []func([]any) bool
		for _, raw := range f[1:] {
			clause, _ := raw.([]any)
			if len(clause) == 0 {
				return nil, &queryFailed{msg: fmt.Sprintf("bad %s clause %v", op, f)}
			}
			p, err := ex.filter(clause)
			if err != nil {
				return nil, err
			}
			subs = append(subs, p)
		}
		return func(row []any) bool {
			switch op {
			case "not":
				return !subs[0](row)
			case "or":
				for _, p := range subs {
					if p(row) {
						return true
					}
				}
				return false
			}
			for _, p := range subs {
				if !p(row) {
					return false
				}
			}
			return true
		}, nil
	case "=", "!=", "<", "<=", ">", ">=", "between", "is-null", "not-null", "time-interval":
		if len(f) < 2 {
			break
		}
		e, err := ex.ref(f[1])
		if err != nil {
			return nil, err
		}
		args := f[2:]
		switch op {
		case "=", "!=":
			return func(row []any) bool {
				hit := false
				for _, v := range args {
					hit = hit || sameValue(e.get(row), v)
				}
				return hit == (op == "=")
			}, nil
		case "is-null", "not-null":
			return func(row []any) bool { return (e.get(row) == nil) == (op == "is-null") }, nil
		case "time-interval":
			lo, hi, err := interval(ex.now, args)
			if err != nil {
				return nil, err
			}
			return func(row []any) bool {
				s, _ := e.get(row).(string)
				t, err := time.Parse(time.RFC3339, s)
				return err == nil && !t.Before(lo) && t.Before(hi)
			}, nil
		}
		return func(row []any) bool { return compare(op, e.get(row), args) }, nil
	}
	return nil, &queryFailed{msg: fmt.Sprintf("unsupported filter %v: the emulator knows and, or, not, =, !=, <, <=, >, >=, between, is-null, not-null, time-interval", f)}
}

// interval is ["time-interval", field, n, unit]: n < 0 is the n whole units before the current one, n > 0 the
// n after it, "current" (or 0) the current one.
func interval(now time.Time, args []any) (time.Time, time.Time, error) {
	if len(args) < 2 {
		return time.Time{}, time.Time{}, &queryFailed{msg: "time-interval needs an amount and a unit"}
	}
	unit, _ := args[1].(string)
	start, err := time.Parse(time.RFC3339, fmt.Sprint(bucket(now.Format(time.RFC3339), unit)))
	if err != nil {
		return time.Time{}, time.Time{}, &queryFailed{msg: fmt.Sprintf("time-interval: unsupported unit %q", unit)}
	}
	add := func(t time.Time, n int) time.Time {
		switch unit {
		case "week":
			return t.AddDate(0, 0, 7*n)
		case "month":
			return t.AddDate(0, n, 0)
		case "quarter":
			return t.AddDate(0, 3*n, 0)
		case "year":
			return t.AddDate(n, 0, 0)
		}
		return t.AddDate(0, 0, n)
	}
	n := 0
	if args[0] != "current" {
		f, ok := number(args[0])
		if !ok {
			return time.Time{}, time.Time{}, &queryFailed{msg: fmt.Sprintf("time-interval: bad amount %v", args[0])}
		}
		n = int(f)
	}
	switch {
	case n < 0:
		return add(start, n), start, nil
	case n > 0:
		return add(start, 1), add(start, n+1), nil
	}
	return start, add(start, 1), nil
}

func compare(op string, cell any, args []any) bool {
	if cell == nil || len(args) == 0 {
		return false
	}
	c := func(v any) int { return compareCells(cell, v) } // cell is not nil here; v nil orders below it
	switch op {
	case "<":
		return c(args[0]) < 0
	case "<=":
		return c(args[0]) <= 0
	case ">":
		return c(args[0]) > 0
	case ">=":
		return c(args[0]) >= 0
	case "between":
		return len(args) == 2 && c(args[0]) >= 0 && c(args[1]) <= 0
	}
	return false
}

func colJSON(f field, ref any, source string) map[string]any {
	var semantic any
	if f.SemanticType != "" {
		semantic = f.SemanticType
	}
	return map[string]any{"id": f.ID, "name": f.Name, "display_name": f.DisplayName, "base_type": f.BaseType,
		"effective_type": f.BaseType, "semantic_type": semantic, "table_id": f.TableID, "field_ref": ref, "source": source}
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

// aggregator folds the rows of one group into one value.
type aggregator struct {
	name, display, base string
	of                  func(rows [][]any) any
}

func (ex *execution) aggregator(a []any) (aggregator, error) {
	op, _ := a[0].(string)
	if op == "count" && len(a) == 1 {
		return aggregator{"count", "Count", "type/BigInteger", func(rows [][]any) any { return int64(len(rows)) }}, nil
	}
	if len(a) != 2 {
		return aggregator{}, &queryFailed{msg: fmt.Sprintf("unsupported aggregation %v: the emulator knows count, distinct, sum, avg, min, max", a)}
	}
	e, err := ex.ref(a[1])
	if err != nil {
		return aggregator{}, err
	}
	nums := func(rows [][]any) []float64 {
		var out []float64
		for _, row := range rows {
			if v, ok := number(e.get(row)); ok {
				out = append(out, v)
			}
		}
		return out
	}
	switch op {
	case "distinct":
		return aggregator{"count", "Distinct values of " + e.f.DisplayName, "type/BigInteger", func(rows [][]any) any {
			seen := map[string]bool{}
			for _, row := range rows {
				if v := e.get(row); v != nil {
					seen[fmt.Sprint(v)] = true
				}
			}
			return int64(len(seen))
		}}, nil
	case "sum", "avg", "min", "max":
		return aggregator{op, map[string]string{"sum": "Sum of ", "avg": "Average of ", "min": "Min of ", "max": "Max of "}[op] + e.f.DisplayName,
			"type/Float", func(rows [][]any) any {
				vs := nums(rows)
				if len(vs) == 0 {
					return nil
				}
				acc := vs[0]
				sum := 0.0
				for _, v := range vs {
					sum += v
					switch op {
					case "min":
						acc = math.Min(acc, v)
					case "max":
						acc = math.Max(acc, v)
					}
				}
				switch op {
				case "sum":
					return sum
				case "avg":
					return sum / float64(len(vs))
				}
				return acc
			}}, nil
	}
	return aggregator{}, &queryFailed{msg: fmt.Sprintf("unsupported aggregation %v: the emulator knows count, distinct, sum, avg, min, max", a)}
}

// aggregate groups rows by the breakouts (sorted ascending, as Metabase orders breakouts by default) and folds
// each group with the aggregations; order-by then re-sorts.
func (ex *execution) aggregate(q mbql, rows [][]any) ([][]any, []map[string]any, error) {
	var dims []expr
	var cols []map[string]any
	for _, b := range q.Breakout {
		e, err := ex.ref(b)
		if err != nil {
			return nil, nil, err
		}
		dims = append(dims, e)
		cols = append(cols, colJSON(*e.f, b, "breakout"))
	}
	var aggs []aggregator
	for _, a := range q.Aggregation {
		if len(a) == 0 {
			return nil, nil, &queryFailed{msg: "empty aggregation"}
		}
		ag, err := ex.aggregator(a)
		if err != nil {
			return nil, nil, err
		}
		aggs = append(aggs, ag)
		cols = append(cols, map[string]any{"name": ag.name, "display_name": ag.display, "base_type": ag.base,
			"effective_type": ag.base, "semantic_type": nil, "field_ref": []any{"aggregation", len(aggs) - 1}, "source": "aggregation"})
	}
	if len(dims) > maxBreakouts {
		return nil, nil, &queryFailed{msg: fmt.Sprintf("the emulator breaks out by at most %d fields", maxBreakouts)}
	}
	type groupKey [maxBreakouts]any // cells are int64, float64, string, bool or nil: comparable
	groups := map[groupKey][][]any{}
	var order []groupKey
	for _, row := range rows {
		var k groupKey
		for i, d := range dims {
			k[i] = d.get(row)
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], row)
	}
	if len(dims) == 0 && len(order) == 0 {
		// No breakout: one row even over no rows (count 0).
		order = []groupKey{{}}
	}
	out := make([][]any, 0, len(order))
	for _, k := range order {
		r := append([]any{}, k[:len(dims)]...)
		for _, ag := range aggs {
			r = append(r, ag.of(groups[k]))
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool {
		for c := range dims {
			if cmp := compareCells(out[i][c], out[j][c]); cmp != 0 {
				return cmp < 0
			}
		}
		return false
	})
	for i := len(q.OrderBy) - 1; i >= 0; i-- {
		o := q.OrderBy[i]
		if len(o) != 2 {
			return nil, nil, &queryFailed{msg: fmt.Sprintf("bad order-by %v", o)}
		}
		colIdx := -1
		if ref, ok := o[1].([]any); ok && len(ref) == 2 && ref[0] == "aggregation" {
			colIdx = len(dims) + intOf(ref[1])
		} else {
			for c, d := range dims {
				if fmt.Sprint(d.ref) == fmt.Sprint(o[1]) {
					colIdx = c
				}
			}
		}
		if colIdx < 0 || colIdx >= len(cols) {
			return nil, nil, &queryFailed{msg: fmt.Sprintf("order-by %v names no breakout or aggregation", o)}
		}
		desc := o[0] == "desc"
		sort.SliceStable(out, func(a, b int) bool {
			cmp := compareCells(out[a][colIdx], out[b][colIdx])
			if desc {
				return cmp > 0
			}
			return cmp < 0
		})
	}
	return out, cols, nil
}

// compareCells orders nil first, then numbers, then strings.
func compareCells(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	x, xok := number(a)
	y, yok := number(b)
	if xok && yok {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	as, bs := fmt.Sprint(a), fmt.Sprint(b)
	switch {
	case as < bs:
		return -1
	case as > bs:
		return 1
	}
	return 0
}
