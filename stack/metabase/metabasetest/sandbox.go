package metabasetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Sandboxes, a.k.a. GTAPs (contract §9).

type sandboxBody struct {
	ID                  *int                       `json:"id"`
	GroupID             *int                       `json:"group_id"`
	TableID             *int                       `json:"table_id"`
	CardID              *int                       `json:"card_id"`
	AttributeRemappings map[string]json.RawMessage `json:"attribute_remappings"`
}

// withSandboxes refuses every /api/mt/gtap call without the sandboxes feature (contract §3, gtap.clj
// +check-sandboxes-enabled: 403 plain text).
func (s *Server) withSandboxes(fn apiFunc) apiFunc {
	return func(c *call) (int, any, error) {
		if !s.features()["sandboxes"] {
			return 0, nil, textErr(http.StatusForbidden,
				"Error: sandboxing is not enabled for this instance. Please check you have set a valid Enterprise token and try again.")
		}
		return fn(c)
	}
}

// remapField is the field id a remapping targets: the MBQL parameter target ["dimension", ["field", id,
// opts|null]] and ["dimension", ["field", id, opts], {options}] (the third element holds the stage-number
// style options newer frontends send), the very old ["dimension", ["field-id", id]], or a bare field id.
func remapField(raw json.RawMessage) (int, bool) {
	var id int
	if json.Unmarshal(raw, &id) == nil {
		return id, true
	}
	var target []json.RawMessage
	if json.Unmarshal(raw, &target) != nil || len(target) < 2 || len(target) > 3 || string(target[0]) != `"dimension"` {
		return 0, false
	}
	if len(target) == 3 {
		var opts map[string]any
		if json.Unmarshal(target[2], &opts) != nil {
			return 0, false
		}
	}
	var ref []json.RawMessage
	if json.Unmarshal(target[1], &ref) != nil || len(ref) < 2 {
		return 0, false
	}
	var kind string
	json.Unmarshal(ref[0], &kind)
	if kind != "field" && kind != "field-id" {
		return 0, false
	}
	return id, json.Unmarshal(ref[1], &id) == nil
}

// checkSandbox validates a sandbox against the tables and the group's (possibly pending) permissions.
// Metabase itself checks neither the remapping targets nor the table's view-data on insert
// (gtap_test.clj deftest create-gtap-test POSTs attribute_remappings {"foo" 1} for a bare temp table and
// gets it echoed back). Options.Strict adds both checks, so that a wrong step order shows up in tests.
func (s *Server) checkSandbox(groupID, tableID int, remaps map[string]json.RawMessage, perms *dbPerms) error {
	if s.st.Groups[groupID] == nil {
		return fieldErr(http.StatusBadRequest, "group_id", fmt.Sprintf("group %d does not exist", groupID))
	}
	if tableByID(tableID) == nil {
		return fieldErr(http.StatusBadRequest, "table_id", fmt.Sprintf("table %d does not exist", tableID))
	}
	if !s.opts.Strict {
		return nil
	}
	for attr, raw := range remaps {
		fid, ok := remapField(raw)
		t, _, _ := fieldByID(fid)
		if !ok || t == nil || t.ID != tableID {
			return fieldErr(http.StatusBadRequest, "attribute_remappings",
				fmt.Sprintf("%s: must target a field of table %d as [\"dimension\", [\"field\", <id>, null]]", attr, tableID))
		}
	}
	if perms == nil || perms.ViewData[tableID] != "sandboxed" {
		return textErr(http.StatusBadRequest,
			"Table %d is not sandboxed for group %d: set its view-data to \"sandboxed\" in the permissions graph first (strict mode).",
			tableID, groupID)
	}
	return nil
}

// markSandboxed records that a sandbox row exists for the group's table. Metabase keeps the table's stored
// view-data and shows it as "sandboxed" in the graph because a sandbox exists
// (graph.clj add-sandboxes-to-permissions-graph); the emulator stores that as the table's view-data.
func markSandboxed(perms *dbPerms, tableID int) {
	if perms != nil && perms.ViewData[tableID] != "sandboxed" {
		perms.ViewData[tableID] = "sandboxed"
	}
}

// errDuplicateSandbox is the unique-key failure of inserting a second sandbox for a (group, table): the
// insert is not guarded, so Metabase answers the database error as a 500.
func errDuplicateSandbox(groupID, tableID int) error {
	return jsonErr(http.StatusInternalServerError, fmt.Sprintf(
		"Unique index or primary key violation: \"PUBLIC.UNIQUE_GTAP_TABLE_ID_GROUP_ID ON PUBLIC.SANDBOXES(TABLE_ID, GROUP_ID) VALUES (%d, %d)\"",
		tableID, groupID), nil)
}

// upsertSandboxes applies graph-PUT sandboxes onto sbs (a copy): with id updates, without inserts.
func (s *Server) upsertSandboxes(sbs map[int]*sandbox, in []sandboxBody, permsOf func(int) *dbPerms) ([]*sandbox, error) {
	var out []*sandbox
	for _, b := range in {
		if b.ID != nil && sbs[*b.ID] != nil {
			// gtap_test.clj deftest bulk-upsert-sandboxes-test: an update names the sandbox by id alone.
			cur := sbs[*b.ID]
			if b.GroupID == nil {
				b.GroupID = &cur.GroupID
			}
			if b.TableID == nil {
				b.TableID = &cur.TableID
			}
		}
		if b.GroupID == nil || b.TableID == nil {
			return nil, invalidGraph("sandboxes need group_id and table_id")
		}
		if err := s.checkSandbox(*b.GroupID, *b.TableID, b.AttributeRemappings, permsOf(*b.GroupID)); err != nil {
			return nil, err
		}
		markSandboxed(permsOf(*b.GroupID), *b.TableID)
		sb := &sandbox{GroupID: *b.GroupID, TableID: *b.TableID, CardID: b.CardID, AttributeRemappings: b.AttributeRemappings}
		if b.ID != nil {
			if sbs[*b.ID] == nil {
				return nil, errNotFound
			}
			sb.ID = *b.ID
		} else {
			if existing := findSandbox(sbs, sb.GroupID, sb.TableID); existing != nil {
				return nil, errDuplicateSandbox(sb.GroupID, sb.TableID)
			}
			sb.ID = s.st.nextID("sandbox")
		}
		sbs[sb.ID] = sb
		out = append(out, sb)
	}
	return out, nil
}

func findSandbox(sbs map[int]*sandbox, groupID, tableID int) *sandbox {
	for _, sb := range sbs {
		if sb.GroupID == groupID && sb.TableID == tableID {
			return sb
		}
	}
	return nil
}

// pruneSandboxes deletes sandboxes whose table is no longer sandboxed for their group (contract §9,
// delete-gtaps-if-needed-after-permissions-change!).
func (s *Server) pruneSandboxes() {
	for id, sb := range s.st.Sandboxes {
		if p := s.st.Perms[sb.GroupID]; p == nil || p.ViewData[sb.TableID] != "sandboxed" {
			delete(s.st.Sandboxes, id)
		}
	}
}

func (s *Server) listSandboxes(c *call) (int, any, error) {
	q := c.r.URL.Query()
	if q.Get("group_id") != "" && q.Get("table_id") != "" {
		g, err1 := strconv.Atoi(q.Get("group_id"))
		t, err2 := strconv.Atoi(q.Get("table_id"))
		if err1 != nil || err2 != nil || g <= 0 || t <= 0 {
			return 0, nil, fieldErr(http.StatusBadRequest, "group_id", "value must be an integer greater than zero.")
		}
		// contract §9: both ids select one sandbox; none is an empty (204) answer, as Metabase gives for nil.
		if sb := findSandbox(s.st.Sandboxes, g, t); sb != nil {
			return http.StatusOK, sb, nil
		}
		return http.StatusNoContent, nil, nil
	}
	out := []*sandbox{}
	for _, id := range sortedKeys(s.st.Sandboxes) {
		out = append(out, s.st.Sandboxes[id])
	}
	return http.StatusOK, out, nil
}

func (s *Server) sandboxFromPath(c *call) (*sandbox, error) {
	id, err := pathID(c.r, "id")
	if err != nil {
		return nil, err
	}
	sb := s.st.Sandboxes[id]
	if sb == nil {
		return nil, errNotFound
	}
	return sb, nil
}

func (s *Server) getSandbox(c *call) (int, any, error) {
	sb, err := s.sandboxFromPath(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, sb, nil
}

func (s *Server) createSandbox(c *call) (int, any, error) {
	var b sandboxBody
	if err := decodeBody(c.r, &b); err != nil {
		return 0, nil, err
	}
	if b.GroupID == nil || *b.GroupID <= 0 {
		return 0, nil, fieldErr(http.StatusBadRequest, "group_id", "value must be an integer greater than zero.")
	}
	if b.TableID == nil || *b.TableID <= 0 {
		return 0, nil, fieldErr(http.StatusBadRequest, "table_id", "value must be an integer greater than zero.")
	}
	b.ID = nil
	created, err := s.upsertSandboxes(s.st.Sandboxes, []sandboxBody{b}, func(g int) *dbPerms { return s.st.Perms[g] })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, created[0], nil
}

func (s *Server) updateSandbox(c *call) (int, any, error) {
	sb, err := s.sandboxFromPath(c)
	if err != nil {
		return 0, nil, err
	}
	var b map[string]json.RawMessage
	if err := decodeBody(c.r, &b); err != nil {
		return 0, nil, err
	}
	// contract §9: only card_id and attribute_remappings change; present keys replace, so null clears.
	next := *sb
	if raw, ok := b["card_id"]; ok {
		next.CardID = nil
		if string(raw) != "null" && json.Unmarshal(raw, &next.CardID) != nil {
			return 0, nil, fieldErr(http.StatusBadRequest, "card_id", "value must be an integer greater than zero.")
		}
	}
	if raw, ok := b["attribute_remappings"]; ok {
		next.AttributeRemappings = nil
		if json.Unmarshal(raw, &next.AttributeRemappings) != nil {
			return 0, nil, fieldErr(http.StatusBadRequest, "attribute_remappings", "value must be a map.")
		}
		if err := s.checkSandbox(next.GroupID, next.TableID, next.AttributeRemappings, s.st.Perms[next.GroupID]); err != nil {
			return 0, nil, err
		}
	}
	s.st.Sandboxes[sb.ID] = &next
	return http.StatusOK, &next, nil
}

func (s *Server) deleteSandbox(c *call) (int, any, error) {
	sb, err := s.sandboxFromPath(c)
	if err != nil {
		return 0, nil, err
	}
	delete(s.st.Sandboxes, sb.ID)
	// The table's stored view-data is unrestricted (sandboxedNeedsSandbox): without the row the group sees
	// every row, and the graph shows unrestricted.
	if p := s.st.Perms[sb.GroupID]; p != nil && p.ViewData[sb.TableID] == "sandboxed" {
		p.ViewData[sb.TableID] = "unrestricted"
	}
	return http.StatusNoContent, nil, nil
}
