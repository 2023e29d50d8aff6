package metabasetest

import "net/http"

// The Sample Database's metadata endpoints (contract §6). Until its first sync is over (Options.SyncDuration)
// the database is listed with no tables, and its tables are not found.

// sampleDatabase is the database as listed now for u: native_permissions is "write" only when u may write
// native queries on every table.
func (s *Server) sampleDatabase(u *user) map[string]any {
	db := s.sampleDatabaseRecord()
	for _, id := range tableIDs() {
		if u != nil && s.accessOf(u, id).createQueries != "query-builder-and-native" {
			db["native_permissions"] = "none"
		}
	}
	if !s.synced() {
		db["initial_sync_status"] = "incomplete"
	}
	return db
}

// tables are the tables synced so far.
func (s *Server) tables() []*table {
	if !s.synced() {
		return nil
	}
	return sampleTables
}

func (s *Server) listDatabases(c *call) (int, any, error) {
	db := s.sampleDatabase(c.u)
	if c.r.URL.Query().Get("include") == "tables" {
		tables := []map[string]any{}
		for _, t := range s.tables() {
			tables = append(tables, s.tableJSON(t, false))
		}
		db["tables"] = tables
	}
	// contract §6: {"data": [...], "total": n}, not a bare array.
	return http.StatusOK, map[string]any{"data": []any{db}, "total": 1}, nil
}

func (s *Server) sampleDB(c *call) error {
	id, err := pathID(c.r, "id")
	if err != nil {
		return err
	}
	if id != sampleDBID {
		return errNotFound
	}
	return nil
}

func (s *Server) getDatabase(c *call) (int, any, error) {
	if err := s.sampleDB(c); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.sampleDatabase(c.u), nil
}

func (s *Server) databaseMetadata(c *call) (int, any, error) {
	if err := s.sampleDB(c); err != nil {
		return 0, nil, err
	}
	db := s.sampleDatabase(c.u)
	tables := []map[string]any{}
	for _, t := range s.tables() {
		m := s.tableJSON(t, false)
		m["fields"] = t.Fields
		tables = append(tables, m)
	}
	db["tables"] = tables
	return http.StatusOK, db, nil
}

func (s *Server) listTables(c *call) (int, any, error) {
	out := []map[string]any{}
	for _, t := range s.tables() {
		out = append(out, s.tableJSON(t, false))
	}
	return http.StatusOK, out, nil
}

func (s *Server) tableFromPath(c *call) (*table, error) {
	id, err := pathID(c.r, "id")
	if err != nil {
		return nil, err
	}
	t := tableByID(id)
	if t == nil || !s.synced() {
		return nil, errNotFound
	}
	return t, nil
}

func (s *Server) getTable(c *call) (int, any, error) {
	t, err := s.tableFromPath(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.tableJSON(t, false), nil
}

func (s *Server) tableMetadata(c *call) (int, any, error) {
	t, err := s.tableFromPath(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.tableJSON(t, true), nil
}
