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
	cp := *st // the audit must not change what the state says
	p, err := plan.New(st.Config, &cp, plan.Options{})
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
	var missing []string
	for _, it := range r.Missing() {
		missing = append(missing, fmt.Sprintf("%s (%s)", it.Step.Title, it.Problem))
	}
	return Kind(ErrUnverified, &Failure{Err: fmt.Errorf("not in place in Metabase now: %s", strings.Join(missing, "; ")),
		Hint: Hint{What: "verify", Why: "a tenant could see more than its rows", Do: "run embedwizard up to finish the setup"}})
}

// verifyCheck is Verify as a doctor line.
func verifyCheck(ctx context.Context, st *plan.State) Check {
	c := Check{Name: "verified"}
	switch err := Verify(ctx, st); {
	case err == nil:
		c.OK, c.Detail = true, "every step is in place and each tenant's demo user sees only its account's rows"
	default:
		c.Detail = err.Error()
		var f *Failure
		if errors.As(err, &f) {
			c.Fix = f.Hint.Do
		}
	}
	return c
}
