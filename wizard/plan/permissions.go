package plan

import (
	"context"
	"errors"
	"fmt"
	"strconv"

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
	s, err := p.sample(ctx)
	if err != nil {
		return permissionsWork{}, err
	}
	if p.st.XrayCollectionID == 0 {
		return permissionsWork{}, withHint(errors.New("the X-ray dashboard's collection is not known yet"),
			"Run the dashboard step first (embedwizard up runs every step in order).")
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
	grant := map[string]string{}
	for _, id := range []int{p.st.XrayCollectionID, p.st.DashboardCollectionID} {
		key := strconv.Itoa(id)
		if v := cg.Groups[w.allUsers][key]; id > 0 && v != "read" && v != "write" {
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
		p.progress("PUT /api/collection/graph: All Users may view %q", metabase.XrayCollectionName)
		if _, err := p.mb.UpdateCollectionGraph(ctx, *w.collections); err != nil {
			return err
		}
	}
	return nil
}

// sandboxWork is what the sandbox step still has to write.
type sandboxWork struct {
	graph   *metabase.PermissionsGraph // tenant groups to sandbox, and sandboxes to create with them
	updates []metabase.Sandbox         // existing sandboxes whose remapping is not ours
}

func (w sandboxWork) empty() bool { return w.graph == nil && len(w.updates) == 0 }

func (p *Plan) sandboxWork(ctx context.Context) (sandboxWork, error) {
	dia, err := p.dialect(ctx)
	if err != nil {
		return sandboxWork{}, err
	}
	s, err := p.sample(ctx)
	if err != nil {
		return sandboxWork{}, err
	}
	if _, err := p.findTenantGroups(ctx); err != nil {
		return sandboxWork{}, err
	}
	graph, err := p.mb.PermissionsGraph(ctx)
	if err != nil {
		return sandboxWork{}, err
	}
	db := strconv.Itoa(s.db.ID)
	target := metabase.FieldTarget(s.account.ID)
	var w sandboxWork
	change := metabase.PermissionsGraph{Revision: graph.Revision, Groups: map[string]map[string]metabase.DBPermissions{}}
	for _, t := range p.st.Tenants {
		if t.GroupID == 0 {
			return sandboxWork{}, withHint(fmt.Errorf("tenant %s has no Metabase group %q yet", t.Name, t.GroupName()),
				"Run the groups step first (embedwizard up runs every step in order).")
		}
		gid := strconv.Itoa(t.GroupID)
		// Existing sandboxes are not in the graph, and sending one again fails on a duplicate key, so
		// they are looked up on their own (contract §9).
		existing, err := p.mb.Sandboxes(ctx, t.GroupID, s.invoices.ID)
		if err != nil {
			return sandboxWork{}, err
		}
		var found *metabase.Sandbox
		for i, sb := range existing {
			if sb.GroupID == t.GroupID && sb.TableID == s.invoices.ID {
				found = &existing[i]
				break
			}
		}
		switch {
		case found == nil:
			change.Groups[gid] = map[string]metabase.DBPermissions{db: dia.sandboxDB(s.db, s.invoices)}
			change.Sandboxes = append(change.Sandboxes, metabase.Sandbox{GroupID: t.GroupID, TableID: s.invoices.ID,
				AttributeRemappings: map[string]any{AccountAttribute: target}})
		case !remapsTo(found.AttributeRemappings, s.account.ID):
			p.progress("warning: the sandbox of %q on Invoices filters on something else; it will filter Account ID on %s", t.GroupName(), AccountAttribute)
			found.AttributeRemappings = map[string]any{AccountAttribute: target}
			w.updates = append(w.updates, *found)
		}
		if !dia.isSandboxed(graph.Groups[gid][db], s.invoices) {
			change.Groups[gid] = map[string]metabase.DBPermissions{db: dia.sandboxDB(s.db, s.invoices)}
		}
	}
	if len(change.Groups) > 0 {
		w.graph = &change
	}
	return w, nil
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
		p.progress("PUT /api/permissions/graph: Invoices sandboxed for %d group(s), %d sandbox(es) made", len(w.graph.Groups), len(w.graph.Sandboxes))
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
