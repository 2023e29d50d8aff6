package metabase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// ErrChecklistUnavailable: this Metabase has no embedding hub checklist to read: older than 58, the open-source
// edition (404), or a license without the embedding feature (402). The *APIError stays in the chain.
var ErrChecklistUnavailable = errors.New("Metabase's embedding setup checklist is not available")

// EmbeddingChecklist is Metabase's own verdict on the embedding setup, from GET /api/ee/embedding-hub/checklist
// (enterprise/backend/src/metabase_enterprise/embedding_hub/api.clj). Its keys changed over the releases: a
// flat map of booleans first, then {"checklist": {...}, "data-isolation-strategy": ...}; both decode here.
type EmbeddingChecklist struct {
	// Items in the order the admin setup guide shows them; keys this client does not know come last, sorted.
	Items []ChecklistItem
	// DataIsolationStrategy is "row-column-level-security", "connection-impersonation", "database-routing", or
	// "" when none is configured or the version does not say.
	DataIsolationStrategy string
}

// ChecklistItem is one step of Metabase's checklist.
type ChecklistItem struct {
	Name  string // Metabase's key, e.g. "configure-row-column-security"
	Label string // words for a screen, e.g. "Row and column security configured"
	Done  bool
}

// Item returns the step called name and whether this version has it.
func (c EmbeddingChecklist) Item(name string) (ChecklistItem, bool) {
	for _, it := range c.Items {
		if it.Name == name {
			return it, true
		}
	}
	return ChecklistItem{}, false
}

// checklistOrder is the guide's order with labels; the keys are Metabase's, across every shape.
var checklistOrder = []struct{ name, label string }{
	{"add-data", "Data added (a database besides the Sample Database)"},
	{"create-dashboard", "Dashboard created"},
	{"create-models", "Model created"},
	{"configure-row-column-security", "Row and column security configured"},
	{"create-test-embed", "Test embed created"},
	{"embed-production", "Production embed snippet created"},
	{"secure-embeds", "SSO configured"},
	{"sso-configured", "SSO configured"},
	{"sso-auth-manual-tested", "SSO sign-in tested by hand"},
	{"data-permissions-and-enable-tenants", "Data permissions and tenants set up"},
	{"enable-tenants", "Tenants enabled"},
	{"move-dashboard-to-shared", "Dashboard moved to a shared tenant collection"},
	{"create-tenants", "Tenants created"},
	{"setup-data-segregation-strategy", "Data segregation strategy set up"},
}

// EmbeddingChecklist reads Metabase's checklist. Any signed-in user may read it. A Metabase without it gives
// ErrChecklistUnavailable.
func (c *Client) EmbeddingChecklist(ctx context.Context) (EmbeddingChecklist, error) {
	var raw map[string]json.RawMessage
	err := c.do(ctx, http.MethodGet, "/api/ee/embedding-hub/checklist", nil, nil, &raw)
	if err != nil {
		if IsStatus(err, http.StatusNotFound) || IsStatus(err, http.StatusPaymentRequired) {
			return EmbeddingChecklist{}, fmt.Errorf("read embedding checklist: %w: %w", ErrChecklistUnavailable, err)
		}
		return EmbeddingChecklist{}, fmt.Errorf("read embedding checklist: %w", err)
	}
	return parseChecklist(raw)
}

func parseChecklist(raw map[string]json.RawMessage) (EmbeddingChecklist, error) {
	var out EmbeddingChecklist
	steps := raw
	if inner, ok := raw["checklist"]; ok {
		steps = nil
		if err := json.Unmarshal(inner, &steps); err != nil {
			return out, fmt.Errorf("read embedding checklist: \"checklist\" is not an object: %w", err)
		}
		var strategy *string
		if s, ok := raw["data-isolation-strategy"]; ok && json.Unmarshal(s, &strategy) == nil && strategy != nil {
			out.DataIsolationStrategy = *strategy
		}
	}
	seen := map[string]bool{}
	for _, o := range checklistOrder {
		if v, ok := steps[o.name]; ok {
			out.Items = append(out.Items, ChecklistItem{Name: o.name, Label: o.label, Done: isTrue(v)})
			seen[o.name] = true
		}
	}
	var rest []string
	for k := range steps {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		out.Items = append(out.Items, ChecklistItem{Name: k, Label: k, Done: isTrue(steps[k])})
	}
	return out, nil
}

// isTrue: older releases may answer null for a setting-backed step that was never set; that is not done.
func isTrue(v json.RawMessage) bool {
	var b bool
	return json.Unmarshal(v, &b) == nil && b
}
