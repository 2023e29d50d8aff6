package plan

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
)

func auditOf(ok map[string]bool) AuditReport {
	var a AuditReport
	for _, id := range []string{StepDashboard, StepJWT, StepSandbox, StepCheckpointSandbox} {
		if v, in := ok[id]; in {
			a.Items = append(a.Items, AuditItem{Step: StepInfo{ID: id, Title: "title of " + id}, OK: v})
		}
	}
	return a
}

func items(done map[string]bool, order ...string) []metabase.ChecklistItem {
	var out []metabase.ChecklistItem
	for _, n := range order {
		out = append(out, metabase.ChecklistItem{Name: n, Label: n, Done: done[n]})
	}
	return out
}

// rowsSummary is "name=metabase/ours/!" per row: ours is "-" when not compared, "!" marks a disagreement.
func rowsSummary(rows []ChecklistRow) string {
	var parts []string
	for _, r := range rows {
		ours := "-"
		if r.Checked {
			ours = fmt.Sprint(r.OursOK)
		}
		s := fmt.Sprintf("%s=%v/%s", r.Item.Name, r.Item.Done, ours)
		if r.Disagree {
			s += "!"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestCompareChecklist(t *testing.T) {
	allOK := map[string]bool{StepDashboard: true, StepJWT: true, StepSandbox: true, StepCheckpointSandbox: true}
	flat6 := []string{"add-data", "create-dashboard", "configure-row-column-security", "create-test-embed", "embed-production", "secure-embeds"}
	nested := []string{"add-data", "create-dashboard", "configure-row-column-security", "setup-data-segregation-strategy", "sso-configured", "sso-auth-manual-tested"}
	tests := []struct {
		name    string
		list    metabase.EmbeddingChecklist
		audit   AuditReport
		want    string
		noteHas map[string]string // item name → words its note must hold
	}{
		{name: "flat: both agree everything is in place",
			list:  metabase.EmbeddingChecklist{Items: items(map[string]bool{"create-dashboard": true, "configure-row-column-security": true, "secure-embeds": true}, flat6...)},
			audit: auditOf(allOK),
			want:  "add-data=false/- create-dashboard=true/true configure-row-column-security=true/true create-test-embed=false/- embed-production=false/- secure-embeds=true/true"},
		{name: "Metabase says SSO configured, our JWT step failed",
			list:    metabase.EmbeddingChecklist{Items: items(map[string]bool{"create-dashboard": true, "configure-row-column-security": true, "secure-embeds": true}, flat6...)},
			audit:   auditOf(map[string]bool{StepDashboard: true, StepJWT: false, StepSandbox: true, StepCheckpointSandbox: true}),
			want:    "add-data=false/- create-dashboard=true/true configure-row-column-security=true/true create-test-embed=false/- embed-production=false/- secure-embeds=true/false!",
			noteHas: map[string]string{"secure-embeds": "identity provider URI"}},
		{name: "our sandbox checkpoint passed, Metabase counts no sandbox",
			list:    metabase.EmbeddingChecklist{Items: items(map[string]bool{"create-dashboard": true, "secure-embeds": true}, flat6...)},
			audit:   auditOf(allOK),
			want:    "add-data=false/- create-dashboard=true/true configure-row-column-security=false/true! create-test-embed=false/- embed-production=false/- secure-embeds=true/true",
			noteHas: map[string]string{"configure-row-column-security": "sandboxes feature", "add-data": "Sample Database"}},
		{name: "a sandbox in Metabase, but our checkpoint saw other accounts",
			list:  metabase.EmbeddingChecklist{Items: items(map[string]bool{"configure-row-column-security": true}, "configure-row-column-security")},
			audit: auditOf(map[string]bool{StepSandbox: true, StepCheckpointSandbox: false}),
			want:  "configure-row-column-security=true/false!"},
		{name: "both say not done: no disagreement",
			list:  metabase.EmbeddingChecklist{Items: items(nil, "create-dashboard", "secure-embeds")},
			audit: auditOf(map[string]bool{StepDashboard: false, StepJWT: false}),
			want:  "create-dashboard=false/false secure-embeds=false/false"},
		{name: "the audit stopped early: nothing to compare",
			list:    metabase.EmbeddingChecklist{Items: items(map[string]bool{"secure-embeds": true}, "secure-embeds")},
			audit:   AuditReport{},
			want:    "secure-embeds=true/-",
			noteHas: map[string]string{"secure-embeds": "could not check"}},
		{name: "flat ten keys: the segregation strategy is a constant",
			list:    metabase.EmbeddingChecklist{Items: items(nil, "secure-embeds", "setup-data-segregation-strategy")},
			audit:   auditOf(map[string]bool{StepJWT: false, StepSandbox: true, StepCheckpointSandbox: true}),
			want:    "secure-embeds=false/false setup-data-segregation-strategy=false/-",
			noteHas: map[string]string{"setup-data-segregation-strategy": "always"}},
		{name: "nested: the data isolation strategy is a row of its own",
			list: metabase.EmbeddingChecklist{DataIsolationStrategy: "row-column-level-security",
				Items: items(map[string]bool{"create-dashboard": true, "configure-row-column-security": true, "setup-data-segregation-strategy": true, "sso-configured": true}, nested...)},
			audit: auditOf(allOK),
			want: "add-data=false/- create-dashboard=true/true configure-row-column-security=true/true setup-data-segregation-strategy=true/true " +
				"sso-configured=true/true sso-auth-manual-tested=false/- data-isolation-strategy=true/true"},
		{name: "nested: another isolation strategy than ours",
			list:    metabase.EmbeddingChecklist{DataIsolationStrategy: "database-routing", Items: items(map[string]bool{"sso-configured": true}, "sso-configured")},
			audit:   auditOf(allOK),
			want:    "sso-configured=true/true data-isolation-strategy=false/true!",
			noteHas: map[string]string{"data-isolation-strategy": "database-routing"}},
		{name: "an item this version of embedwizard does not know",
			list:    metabase.EmbeddingChecklist{Items: items(map[string]bool{"brand-new-step": true}, "brand-new-step")},
			audit:   auditOf(allOK),
			want:    "brand-new-step=true/-",
			noteHas: map[string]string{"brand-new-step": "Not part of the quick start"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := CompareChecklist(tt.list, tt.audit)
			if got := rowsSummary(rows); got != tt.want {
				t.Errorf("rows:\n got %s\nwant %s", got, tt.want)
			}
			for _, r := range rows {
				if r.Disagree && r.Note == "" {
					t.Errorf("%s disagrees without saying why", r.Item.Name)
				}
				if w, ok := tt.noteHas[r.Item.Name]; ok && !strings.Contains(r.Note, w) {
					t.Errorf("%s: note %q does not say %q", r.Item.Name, r.Note, w)
				}
			}
		})
	}
}

func TestChecklistBesideWithoutTheEndpoint(t *testing.T) {
	unavailable := fmt.Errorf("read embedding checklist: %w: 404", metabase.ErrChecklistUnavailable)
	got, err := ChecklistBeside(metabase.EmbeddingChecklist{}, unavailable, AuditReport{})
	if err != nil || len(got.Rows) != 0 || !strings.Contains(got.Note, "no embedding setup checklist") {
		t.Errorf("unavailable: %+v, %v; want no rows and a note", got, err)
	}
	boom := errors.New("connection refused")
	if _, err := ChecklistBeside(metabase.EmbeddingChecklist{}, boom, AuditReport{}); !errors.Is(err, boom) {
		t.Errorf("other errors: got %v, want %v", err, boom)
	}
}

// TestChecklistAgainstTheEmulator runs the quick start on versions with each checklist shape and none, then
// breaks group sync by hand: Metabase still counts SSO as configured, our JWT step does not.
func TestChecklistAgainstTheEmulator(t *testing.T) {
	tests := []struct {
		version, ssoKey string // ssoKey "" means the version has no checklist
	}{
		{"v1.57.6", ""},
		{"v1.58.2", "secure-embeds"},
		{"v1.59.1", "secure-embeds"},
		{"v1.60.3", "sso-configured"},
		{"v1.64.1", "sso-configured"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			f := newFixture(t, metabasetest.Options{Version: tt.version})
			p, _ := f.mustRun()
			ctx := context.Background()
			a, err := p.Audit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Checklist(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if tt.ssoKey == "" {
				if len(got.Rows) != 0 || got.Note == "" {
					t.Fatalf("no checklist: %+v, want no rows and a note", got)
				}
				return
			}
			if d := got.Disagreements(); len(d) > 0 {
				t.Errorf("after a full run Metabase and embedwizard disagree: %s", rowsSummary(d))
			}
			for _, name := range []string{"create-dashboard", "configure-row-column-security", tt.ssoKey} {
				if !rowFor(t, got, name).Item.Done {
					t.Errorf("Metabase does not count %s done after a full run: %s", name, rowsSummary(got.Rows))
				}
			}

			must(t, f.admin().SetSetting(ctx, metabase.SettingJWTGroupSync, false))
			a, err = p.Audit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, err = p.Checklist(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if r := rowFor(t, got, tt.ssoKey); !r.Disagree || !r.Item.Done || r.OursOK {
				t.Errorf("group sync off: %s row = %+v, want Metabase done, ours failed, a disagreement", tt.ssoKey, r)
			}
		})
	}
}

func rowFor(t *testing.T, c ChecklistComparison, name string) ChecklistRow {
	t.Helper()
	for _, r := range c.Rows {
		if r.Item.Name == name {
			return r
		}
	}
	t.Fatalf("no row %s in %s", name, rowsSummary(c.Rows))
	return ChecklistRow{}
}
