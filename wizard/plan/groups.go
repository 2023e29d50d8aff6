package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

// The guide's "Set up a group in Metabase" and "Synchronize groups between Metabase and your app": one group
// per tenant, found by name case-insensitively or made, and the tenant's JWT group claim mapped to it.

func (p *Plan) checkGroups(ctx context.Context) (bool, error) {
	set, err := p.readSettings(ctx)
	if err != nil {
		return false, err
	}
	missing, err := p.findTenantGroups(ctx)
	if err != nil {
		return false, err
	}
	if len(missing) > 0 {
		return false, nil
	}
	changes, err := p.groupsDiff(set)
	return len(changes) == 0, err
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
	set, err := p.readSettings(ctx)
	if err != nil {
		return err
	}
	changes, err := p.groupsDiff(set)
	if err != nil {
		return err
	}
	return p.writeSettings(ctx, changes)
}

// findTenantGroups records the group id of every tenant whose group exists and returns the indexes of the
// tenants without one.
func (p *Plan) findTenantGroups(ctx context.Context) ([]int, error) {
	var missing []int
	for i := range p.st.Tenants {
		t := &p.st.Tenants[i]
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
// and every other group of the same claim.
func (p *Plan) groupsDiff(set map[string]metabase.Setting) (map[string]any, error) {
	changes := map[string]any{}
	p.want(changes, set, metabase.SettingJWTGroupSync, true, settingBool(set[metabase.SettingJWTGroupSync]))
	mappings, err := groupMappings(set[metabase.SettingJWTGroupMappings].Value)
	if err != nil {
		return nil, err
	}
	complete := true
	for _, t := range p.st.Tenants {
		if !slices.Contains(mappings[t.Name], t.GroupID) {
			mappings[t.Name] = append(mappings[t.Name], t.GroupID)
			complete = false
		}
	}
	p.want(changes, set, metabase.SettingJWTGroupMappings, mappings, complete)
	return changes, nil
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
