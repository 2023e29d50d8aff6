package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

// The guide's "Set up a group in Metabase" and "Synchronize groups between Metabase and your app": one group
// per tenant, found by name case-insensitively or made (never one of Metabase's own groups), and the tenant's
// JWT group claim mapped to it. The groups step only makes the groups; the mapping is written by the jwt step
// (groupsDiff), after the sandbox, so that nobody signs in to a group before it is restricted.

func (p *Plan) checkGroups(ctx context.Context) (bool, error) {
	if _, err := p.dialect(ctx); err != nil {
		return false, err
	}
	missing, err := p.findTenantGroups(ctx)
	return len(missing) == 0, err
}

func (p *Plan) applyGroups(ctx context.Context) error {
	missing, err := p.findTenantGroups(ctx)
	if err != nil {
		return err
	}
	for _, i := range missing {
		t := &p.st.Tenants[i]
		p.progress("POST /api/permissions/group %q", t.GroupName())
		g, err := p.mb.CreateGroup(ctx, t.GroupName())
		if err != nil {
			return err
		}
		p.cache.groups = nil
		t.GroupID = g.ID
	}
	return nil
}

// findTenantGroups records the group id of every tenant whose group exists and returns the indexes of the
// tenants without one.
func (p *Plan) findTenantGroups(ctx context.Context) ([]int, error) {
	var missing []int
	gs, err := p.groups(ctx)
	if err != nil {
		return nil, err
	}
	for i := range p.st.Tenants {
		t := &p.st.Tenants[i]
		if name, ok := reservedGroup(t.GroupName(), gs); ok {
			return nil, &ValidationError{Input: "tenant", Value: printable(t.Name),
				Problem: fmt.Sprintf("its Metabase group %q is this Metabase's own group %q", t.GroupName(), name),
				Fix:     "choose a name of your customer, e.g. Customer-Acme=28"}
		}
		g, ok, err := p.tenantGroup(ctx, t.Tenant)
		if err != nil {
			return nil, err
		}
		if !ok {
			missing = append(missing, i)
			t.GroupID = 0
			continue
		}
		t.GroupID = g.ID
	}
	return missing, nil
}

// groupsDiff wants group sync on and each tenant's claim mapped to its group, keeping every other mapping
// and every other group of the same claim. It adds to changes.
//
// How Metabase syncs (sso/integrations/jwt.clj sync-groups!, 0.50–0.5x; integrations.common
// sync-group-memberships!): only with jwt-group-sync on; a token without the groups claim leaves the user's
// groups as they are; with mappings the mapped groups of the claim are added and the user is removed from
// every other *mapped* group (groups no mapping names are never touched). Without any mapping newer versions
// match the claim to group names. The plan always maps each tenant's claim to its group id, so the outcome
// is the same on every version; the groups checkpoint proves it.
func (p *Plan) groupsDiff(changes map[string]any, set map[string]metabase.Setting) error {
	p.want(changes, set, metabase.SettingJWTGroupSync, true, settingBool(set[metabase.SettingJWTGroupSync]))
	mappings, err := groupMappings(set[metabase.SettingJWTGroupMappings].Value)
	if err != nil {
		return err
	}
	complete := true
	for _, t := range p.st.Tenants {
		if !slices.Contains(mappings[t.Name], t.GroupID) {
			mappings[t.Name] = append(mappings[t.Name], t.GroupID)
			complete = false
		}
	}
	p.want(changes, set, metabase.SettingJWTGroupMappings, mappings, complete)
	return nil
}

// groupMappings reads jwt-group-mappings, {"claim": [group ids]}, as GET /api/setting gives it: a JSON
// object, or on some versions that object as a string.
func groupMappings(v any) (map[string][]int, error) {
	out := map[string][]int{}
	if v == nil {
		return out, nil
	}
	var raw []byte
	if s, ok := v.(string); ok {
		raw = []byte(s)
	} else {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", metabase.SettingJWTGroupMappings, err)
		}
		raw = b
	}
	if len(raw) == 0 || string(raw) == `""` {
		return out, nil
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("read %s: want {\"claim\": [group ids]}: %w", metabase.SettingJWTGroupMappings, err)
	}
	return out, nil
}
