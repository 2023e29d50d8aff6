package plan

import (
	"context"
	"errors"
	"fmt"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

// Metabase 58+ keeps its own checklist of the embedding setup (GET /api/ee/embedding-hub/checklist, see
// stack/metabase/checklist.go). This file sets it beside what Audit verified, so that the final screen,
// `status` and `doctor` can show Metabase's verdict next to ours and say where the two disagree.

// ChecklistRow is one item of Metabase's checklist beside embedwizard's verdict on the same thing.
type ChecklistRow struct {
	// Item is Metabase's verdict: its key, a label for a screen, and whether it counts the item done.
	Item metabase.ChecklistItem
	// Ours names the steps and checkpoints that verify the same thing ("Set up JWT single sign-on"); "" when the
	// quick start does not cover the item.
	Ours string
	// Checked is true when Audit gave a verdict on Ours; OursOK is that verdict.
	Checked bool
	OursOK  bool
	// Disagree is true when both gave a verdict and they differ.
	Disagree bool
	// Note says why the two may differ, or why there is nothing to compare.
	Note string
}

// ChecklistComparison is CompareChecklist's rows, or, when this Metabase has no checklist, a Note saying so.
type ChecklistComparison struct {
	Rows []ChecklistRow
	// Note is set when there are no rows: the version has no checklist, or the license does not open it.
	Note string
}

// Disagreements lists the rows where Metabase and embedwizard differ.
func (c ChecklistComparison) Disagreements() []ChecklistRow {
	var out []ChecklistRow
	for _, r := range c.Rows {
		if r.Disagree {
			out = append(out, r)
		}
	}
	return out
}

// checklistMatch is which of our steps answer one of Metabase's items, and what to say when the two differ.
type checklistMatch struct {
	steps []string
	// metabaseOnly explains Metabase saying done while we do not; oursOnly the reverse.
	metabaseOnly, oursOnly string
	// note explains an item we do not compare.
	note string
}

var (
	sandboxMatch = checklistMatch{steps: []string{StepSandbox, StepCheckpointSandbox},
		metabaseOnly: "Metabase counts any sandbox; ours failed: a tenant group is not sandboxed on Invoices, or a demo user sees other accounts' rows.",
		oursOnly:     "Metabase counts no sandbox although each tenant's is in place: the license may lack the sandboxes feature."}
	ssoMatch = checklistMatch{steps: []string{StepJWT},
		metabaseOnly: "JWT sign-in is on, but not as the quick start needs it: the identity provider URI, the key, group sync or the group mappings differ.",
		oursOnly:     "Metabase does not count JWT as configured: check that jwt-enabled is on and that the license has the sso-jwt feature."}
	notOurs = checklistMatch{note: "Not part of the quick start."}
)

// checklistMatches maps Metabase's keys (every shape, stack/metabase/checklist.go) to our steps.
var checklistMatches = map[string]checklistMatch{
	"create-dashboard": {steps: []string{StepDashboard},
		metabaseOnly: "Metabase counts any dashboard someone made; ours is the X-ray of Invoices, and it is missing.",
		oursOnly:     "Metabase counts no dashboard although the X-ray of Invoices is saved: it skips its example dashboard and archived ones."},
	"configure-row-column-security":   sandboxMatch,
	"setup-data-segregation-strategy": sandboxMatch,
	"secure-embeds":                   ssoMatch,
	"sso-configured":                  ssoMatch,
	"sso-auth-manual-tested": {note: "Metabase counts only a test run from its own setup guide; embedwizard's sign-in checkpoint signs each demo user " +
		"in through JWT instead."},
	"add-data": {note: "The quick start uses the Sample Database, which Metabase does not count as data added."},
}

// CompareChecklist sets Metabase's checklist beside the audit, item by item in Metabase's order. A row
// disagrees when Metabase and the audit both have a verdict and they differ; items the quick start does
// not cover are kept, with a note, and never disagree. With the nested shape (Metabase 60+), the data
// isolation strategy comes last as its own row.
func CompareChecklist(c metabase.EmbeddingChecklist, a AuditReport) []ChecklistRow {
	verdicts := map[string]AuditItem{}
	for _, it := range a.Items {
		verdicts[it.Step.ID] = it
	}
	_, nested := c.Item("sso-configured")
	var rows []ChecklistRow
	for _, it := range c.Items {
		m, ok := checklistMatches[it.Name]
		if !ok {
			m = notOurs
		}
		if it.Name == "setup-data-segregation-strategy" && !nested {
			// The flat ten-key shape answers a constant false (stack/metabase/metabasetest/checklist.go).
			m = checklistMatch{note: "This version of Metabase always reports it as not done."}
		}
		rows = append(rows, compareItem(it, m, verdicts))
	}
	if nested {
		strategy := c.DataIsolationStrategy
		label := "Data isolation strategy: none"
		if strategy != "" {
			label = "Data isolation strategy: " + strategy
		}
		it := metabase.ChecklistItem{Name: "data-isolation-strategy", Label: label, Done: strategy == "row-column-level-security"}
		m := sandboxMatch
		if strategy != "" && strategy != "row-column-level-security" {
			m.metabaseOnly = ""
			m.oursOnly = "Metabase isolates tenants by " + strategy + ", not by the row and column security the quick start sets up."
		}
		rows = append(rows, compareItem(it, m, verdicts))
	}
	return rows
}

func compareItem(it metabase.ChecklistItem, m checklistMatch, verdicts map[string]AuditItem) ChecklistRow {
	r := ChecklistRow{Item: it, Note: m.note}
	if len(m.steps) == 0 {
		return r
	}
	r.Checked, r.OursOK = true, true
	for i, id := range m.steps {
		v, ok := verdicts[id]
		if !ok {
			r.Checked = false // the audit did not get that far
			continue
		}
		if i == 0 {
			r.Ours = v.Step.Title
		} else {
			r.Ours += "; " + v.Step.Title
		}
		r.OursOK = r.OursOK && v.OK
	}
	if !r.Checked {
		r.OursOK = false
		if r.Note == "" {
			r.Note = "embedwizard could not check it: the audit stopped before."
		}
		return r
	}
	r.Disagree = it.Done != r.OursOK
	switch {
	case r.Disagree && it.Done:
		r.Note = m.metabaseOnly
	case r.Disagree:
		r.Note = m.oursOnly
	}
	return r
}

// ChecklistBeside is CompareChecklist for what EmbeddingChecklist answered: a Metabase without the
// checklist (metabase.ErrChecklistUnavailable) gives no rows and a note; any other error is returned.
func ChecklistBeside(c metabase.EmbeddingChecklist, err error, a AuditReport) (ChecklistComparison, error) {
	if errors.Is(err, metabase.ErrChecklistUnavailable) {
		return ChecklistComparison{Note: "This Metabase has no embedding setup checklist to compare with (it comes with " +
			"Metabase 58 and the embedding feature of the license): only embedwizard's checks are shown."}, nil
	}
	if err != nil {
		return ChecklistComparison{}, err
	}
	return ChecklistComparison{Rows: CompareChecklist(c, a)}, nil
}

// Checklist reads Metabase's checklist and sets it beside a, the report of Audit. It only reads.
func (p *Plan) Checklist(ctx context.Context, a AuditReport) (ChecklistComparison, error) {
	if err := p.session(ctx); err != nil {
		return ChecklistComparison{}, fmt.Errorf("checklist: %w", err)
	}
	c, err := p.mb.EmbeddingChecklist(ctx)
	return ChecklistBeside(c, err, a)
}
