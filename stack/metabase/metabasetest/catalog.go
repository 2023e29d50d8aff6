package metabasetest

import "net/http"

// The Sample Database's metadata endpoints (contract §6).

func (s *Server) listDatabases(c *call) (int, any, error) {
	db := sampleDatabaseJSON()
	if c.r.URL.Query().Get("include") == "tables" {
		var tables []map[string]any
		for _, t := range sampleTables {
			tables = append(tables, t.json(false))
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
	return http.StatusOK, sampleDatabaseJSON(), nil
}

func (s *Server) databaseMetadata(c *call) (int, any, error) {
	if err := s.sampleDB(c); err != nil {
		return 0, nil, err
	}
	db := sampleDatabaseJSON()
	var tables []map[string]any
	for _, t := range sampleTables {
		m := t.json(false)
		m["fields"] = t.Fields
		tables = append(tables, m)
	}
	db["tables"] = tables
	return http.StatusOK, db, nil
}

func (s *Server) listTables(c *call) (int, any, error) {
	var out []map[string]any
	for _, t := range sampleTables {
		out = append(out, t.json(false))
	}
	return http.StatusOK, out, nil
}

func (s *Server) tableFromPath(c *call) (*table, error) {
	id, err := pathID(c.r, "id")
	if err != nil {
		return nil, err
	}
	t := tableByID(id)
	if t == nil {
		return nil, errNotFound
	}
	return t, nil
}

func (s *Server) getTable(c *call) (int, any, error) {
	t, err := s.tableFromPath(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, t.json(false), nil
}

func (s *Server) tableMetadata(c *call) (int, any, error) {
	t, err := s.tableFromPath(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, t.json(true), nil
}
