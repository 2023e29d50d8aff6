package session

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/embedwizard/embedwizard/wizard/plan"
)

// Verify checks Metabase now, not the state file: every step's Check, and one sandboxed query of Invoices per
// tenant (plan.Audit). `host` runs it before serving any tenant and `doctor` reports it. It writes nothing to
// the state. The error is ErrUnverified, naming what is not in place, or Metabase being unreachable.
func Verify(ctx context.Context, st *plan.State) error {
	p, err := auditPlan(st)
	if err != nil {
		return Kind(ErrUsage, fmt.Errorf("verify: %w", err))
	}
	r, err := p.Audit(ctx)
	if err != nil {
		return &Failure{Err: fmt.Errorf("verify Metabase at %s: %w", MetabaseURL(st), err),
			Hint: Hint{What: "verify", Why: "Metabase did not answer or refused the admin", Do: "start it (embedwizard up), or check the admin credentials"}}
	}
	if r.OK() {
		return nil
	}
	return Kind(ErrUnverified, &Failure{Err: errors.New(notInPlace(r)),
		Hint: Hint{What: "verify", Why: "a tenant could see more than its rows", Do: "run embedwizard up to finish the setup"}})
}

// auditChecks are doctor's look at Metabase now, with one plan: the verification (plan.Audit), what silently
// defeats the guide (plan.Findings: settings pinned by environment variables, an identity provider elsewhere,
// provisioning off, attributes set by hand), and Metabase's own embedding checklist beside our checkpoints,
// disagreements said (plan.Checklist). All of it reads only.
func auditChecks(ctx context.Context, st *plan.State) []Check {
	c := Check{Name: "verified"}
	p, err := auditPlan(st)
	if err != nil {
		c.Detail, c.Fix = err.Error(), "correct the saved configuration (embedwizard up)"
		return []Check{c}
	}
	a, err := p.Audit(ctx)
	switch {
	case err != nil:
		c.Detail, c.Fix = err.Error(), "start Metabase (embedwizard up), or check the admin credentials"
		return []Check{c}
	case a.OK():
		c.OK, c.Detail = true, "every step is in place and each tenant's demo user sees only its account's rows"
	default:
		c.Detail, c.Fix = notInPlace(a), "run embedwizard up to finish the setup"
	}
	out := []Check{c}
	if fs, err := p.Findings(ctx); err == nil {
		for _, f := range fs {
			out = append(out, Check{Name: "finding", Detail: f.Problem + ": " + f.Why, Fix: f.Fix})
		}
	}
	if cl, err := p.Checklist(ctx, a); err == nil {
		if len(cl.Rows) == 0 && cl.Note != "" {
			out = append(out, Check{Name: "checklist", OK: true, Detail: cl.Note})
		}
		for _, r := range cl.Rows {
			state := "not done"
			if r.Item.Done {
				state = "done"
			}
			line := Check{Name: "checklist", OK: true, Warn: r.Disagree, Detail: fmt.Sprintf("Metabase's %q: %s", r.Item.Label, state)}
			if r.Checked {
				line.Detail += "; ours: " + r.Ours
			}
			if r.Disagree || r.Note != "" {
				line.Detail += " (" + r.Note + ")"
			}
			out = append(out, line)
		}
	}
	return out
}

// auditPlan is a plan over a copy of st, for reading Metabase now: the audit must not change what the state says.
func auditPlan(st *plan.State) (*plan.Plan, error) {
	cp := *st
	return plan.New(st.Config, &cp, plan.Options{})
}

// notInPlace names what the audit found missing, for host's refusal and doctor's line alike.
func notInPlace(r plan.AuditReport) string {
	var missing []string
	for _, it := range r.Missing() {
		missing = append(missing, fmt.Sprintf("%s (%s)", it.Step.Title, it.Problem))
	}
	return "not in place in Metabase now: " + strings.Join(missing, "; ")
}
