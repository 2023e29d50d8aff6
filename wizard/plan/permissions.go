package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

// The guide's "Set permissions" and "Set row-level permissions with data sandboxing". Both graphs are read
// right before each PUT and sent back with their revision (409 otherwise), and only the groups that change
// are sent (partial graphs, contract §8 and §10).

// AccountAttribute is the user attribute the Invoices sandbox filters on: the JWT's account_id claim.
const AccountAttribute = "account_id"

// permissionsWork is what the permissions step still has to write.
type permissionsWork struct {
	allUsers    string
	data        *metabase.PermissionsGraph // nil when All Users is already blocked
	collections *metabase.CollectionGraph  // nil when All Users may already view the dashboards
}

func (p *Plan) permissionsWork(ctx context.Context) (permissionsWork, error) {
	dia, err := p.dialect(ctx)
	if err != nil {
		return permissionsWork{}, err
	}
	if p.st.XrayCollectionID == 0 {
		return permissionsWork{}, notYet("the X-ray dashboard's collection is not known yet",
			"The dashboard step saves it; embedwizard up runs every step in order.")
	}
	s, err := p.sample(ctx)
	if err != nil {
		return permissionsWork{}, err
	}
	all, err := p.allUsers(ctx)
	if err != nil {
		return permissionsWork{}, err
	}
	w := permissionsWork{allUsers: strconv.Itoa(all.ID)}
	db := strconv.Itoa(s.db.ID)

	graph, err := p.mb.PermissionsGraph(ctx)
	if err != nil {
		return permissionsWork{}, err
	}
	if !dia.isBlocked(graph.Groups[w.allUsers][db]) {
		w.data = &metabase.PermissionsGraph{Revision: graph.Revision,
			Groups: map[string]map[string]metabase.DBPermissions{w.allUsers: {db: dia.blockDB()}}}
	}

	cg, err := p.mb.CollectionGraph(ctx)
	if err != nil {
		return permissionsWork{}, err
	}
	// The guide says View, and View it is: not Curate. A new root-level collection copies the Root
	// collection's grants (collections/models/collection.clj copy-parent-permissions!, "For newly created
	// Collections at the root-level, copy the existing permissions for the Root Collection"; 0.50 to master
	// 2025), and All Users may curate Root on a fresh instance, so the X-ray collection starts at "write".
	grant := map[string]string{}
	for _, id := range []int{p.st.XrayCollectionID, p.st.DashboardCollectionID} {
		key := strconv.Itoa(id)
		if v := cg.Groups[w.allUsers][key]; id > 0 && v != "read" {
			grant[key] = "read"
		}
	}
	if len(grant) > 0 {
		w.collections = &metabase.CollectionGraph{Revision: cg.Revision, Groups: map[string]map[string]string{w.allUsers: grant}}
	}
	return w, nil
}

func (p *Plan) checkPermissions(ctx context.Context) (bool, error) {
	w, err := p.permissionsWork(ctx)
	return w.data == nil && w.collections == nil, err
}

func (p *Plan) applyPermissions(ctx context.Context) error {
	w, err := p.permissionsWork(ctx)
	if err != nil {
		return err
	}
	if w.data != nil {
		p.progress("PUT /api/permissions/graph: All Users blocked on the Sample Database")
		if _, err := p.mb.UpdatePermissionsGraph(ctx, *w.data); err != nil {
			return err
		}
	}
	if w.collections != nil {
		p.progress("PUT /api/collection/graph: All Users may view (not curate) %q", metabase.XrayCollectionName)
		if _, err := p.mb.UpdateCollectionGraph(ctx, *w.collections); err != nil {
			return err
		}
	}
	return nil
}

// sandboxTarget is a table a tenant group sees filtered to its account: Invoices on ACCOUNT_ID, and every
// table the dashboard's cards join to through it (Accounts on ID).
type sandboxTarget struct {
	table metabase.Table
	field metabase.Field // the column compared with the account_id attribute
}

// sandboxWork is what the sandbox step still has to write.
type sandboxWork struct {
	graph   *metabase.PermissionsGraph // tenant groups to sandbox, and sandboxes to create with them
	updates []metabase.Sandbox         // existing sandboxes whose remapping is not ours
	targets []sandboxTarget
}

func (w sandboxWork) empty() bool { return w.graph == nil && len(w.updates) == 0 }

// tableNames lists the sandboxed tables for messages: "Invoices and Accounts".
func (w sandboxWork) tableNames() string {
	names := make([]string, len(w.targets))
	for i, t := range w.targets {
		names[i] = displayName(t.table)
	}
	return strings.Join(names, " and ")
}

func displayName(t metabase.Table) string {
	if t.DisplayName != "" {
		return t.DisplayName
	}
	return t.Name
}

func (p *Plan) sandboxWork(ctx context.Context) (sandboxWork, error) {
	dia, err := p.dialect(ctx)
	if err != nil {
		return sandboxWork{}, err
	}
	s, err := p.sample(ctx)
	if err != nil {
		return sandboxWork{}, err
	}
	missing, err := p.findTenantGroups(ctx)
	if err != nil {
		return sandboxWork{}, err
	}
	if len(missing) > 0 {
		t := p.st.Tenants[missing[0]]
		return sandboxWork{}, notYet(fmt.Sprintf("tenant %s has no Metabase group %q yet", t.Name, t.GroupName()),
			"The groups step makes it; embedwizard up runs every step in order.")
	}
	targets, err := p.sandboxTargets(ctx, s)
	if err != nil {
		return sandboxWork{}, err
	}
	graph, err := p.mb.PermissionsGraph(ctx)
	if err != nil {
		return sandboxWork{}, err
	}
	db := strconv.Itoa(s.db.ID)
	tables := make([]metabase.Table, len(targets))
	for i, tg := range targets {
		tables[i] = tg.table
	}
	w := sandboxWork{targets: targets}
	change := metabase.PermissionsGraph{Revision: graph.Revision, Groups: map[string]map[string]metabase.DBPermissions{}}
	for _, t := range p.st.Tenants {
		gid := strconv.Itoa(t.GroupID)
		for _, tg := range targets {
			// Existing sandboxes are not in the graph, and sending one again fails on a duplicate key, so
			// they are looked up on their own (contract §9).
			existing, err := p.mb.Sandboxes(ctx, t.GroupID, tg.table.ID)
			if err != nil {
				return sandboxWork{}, err
			}
			var found *metabase.Sandbox
			for i, sb := range existing {
				if sb.GroupID == t.GroupID && sb.TableID == tg.table.ID {
					found = &existing[i]
					break
				}
			}
			switch {
			case found == nil:
				change.Groups[gid] = map[string]metabase.DBPermissions{db: dia.sandboxDB(s.db, tables...)}
				change.Sandboxes = append(change.Sandboxes, metabase.Sandbox{GroupID: t.GroupID, TableID: tg.table.ID,
					AttributeRemappings: map[string]any{AccountAttribute: metabase.FieldTarget(tg.field.ID)}})
			case !remapsTo(found.AttributeRemappings, tg.field.ID):
				p.progress("warning: the sandbox of %q on %s filters on something else; it will filter %s on %s", t.GroupName(), displayName(tg.table), tg.field.Name, AccountAttribute)
				found.AttributeRemappings = map[string]any{AccountAttribute: metabase.FieldTarget(tg.field.ID)}
				w.updates = append(w.updates, *found)
			}
		}
		if !dia.isSandboxed(graph.Groups[gid][db], s.db, tables...) {
			change.Groups[gid] = map[string]metabase.DBPermissions{db: dia.sandboxDB(s.db, tables...)}
		}
	}
	if len(change.Groups) > 0 {
		w.graph = &change
	}
	return w, nil
}

// sandboxTargets is Invoices on ACCOUNT_ID, plus each table that the dashboard's cards reach through a
// foreign key of Invoices' ACCOUNT_ID (the Sample Database's INVOICES.ACCOUNT_ID → ACCOUNTS.ID): an X-ray
// follows foreign keys, and a card that joins a blocked table fails for a tenant. Such a table is sandboxed
// on the key's target column (ACCOUNTS.ID = account_id), never unblocked.
func (p *Plan) sandboxTargets(ctx context.Context, s sampleDB) ([]sandboxTarget, error) {
	targets := []sandboxTarget{{table: s.invoices, field: s.account}}
	if s.account.FKTargetFieldID == nil || p.st.DashboardID == 0 {
		return targets, nil
	}
	table, field, ok := s.db.FieldByID(*s.account.FKTargetFieldID)
	if !ok || table.ID == s.invoices.ID {
		return targets, nil
	}
	d, err := p.dashboard(ctx)
	if err != nil {
		return nil, err
	}
	for _, dc := range d.QueryCards() {
		if cardUses(dc.Card, table) {
			return append(targets, sandboxTarget{table: table, field: field}), nil
		}
	}
	return targets, nil
}

// cardUses reports whether a card's query reads a table: as its source table or through a field of it
// (a join or an implicit join along a foreign key, in any MBQL form: ["field", id, opts] or ["field", opts, id]).
func cardUses(c metabase.Card, t metabase.Table) bool {
	if c.TableID != nil && *c.TableID == t.ID {
		return true
	}
	if len(c.DatasetQuery) == 0 {
		return false
	}
	var q any
	if json.Unmarshal(c.DatasetQuery, &q) != nil {
		return false
	}
	fields := map[float64]bool{}
	for _, f := range t.Fields {
		fields[float64(f.ID)] = true
	}
	var walk func(v any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case map[string]any:
			for k, y := range x {
				if (k == "source-table" || k == "source_table") && y == float64(t.ID) {
					return true
				}
				if walk(y) {
					return true
				}
			}
		case []any:
			if len(x) >= 2 && x[0] == "field" {
				for _, y := range x[1:] {
					if n, ok := y.(float64); ok && fields[n] {
						return true
					}
				}
			}
			for _, y := range x {
				if walk(y) {
					return true
				}
			}
		}
		return false
	}
	return walk(q)
}

// remapsTo reports whether a sandbox filters the field on the account_id attribute.
func remapsTo(remappings map[string]any, fieldID int) bool {
	id, ok := metabase.TargetFieldID(remappings[AccountAttribute])
	return ok && id == fieldID
}

func (p *Plan) checkSandbox(ctx context.Context) (bool, error) {
	w, err := p.sandboxWork(ctx)
	return w.empty(), err
}

func (p *Plan) applySandbox(ctx context.Context) error {
	w, err := p.sandboxWork(ctx)
	if err != nil {
		return err
	}
	if w.graph != nil {
		p.progress("PUT /api/permissions/graph: %s sandboxed for %d group(s), %d sandbox(es) made", w.tableNames(), len(w.graph.Groups), len(w.graph.Sandboxes))
		if _, err := p.mb.UpdatePermissionsGraph(ctx, *w.graph); err != nil {
			return err
		}
	}
	for _, sb := range w.updates {
		p.progress("PUT /api/mt/gtap/%d", sb.ID)
		if _, err := p.mb.UpdateSandbox(ctx, sb); err != nil {
			return err
		}
	}
	return nil
}
