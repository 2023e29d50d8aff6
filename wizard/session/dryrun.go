package session

import (
	"context"
	"fmt"

	"github.com/embedwizard/embedwizard/wizard/plan"
)

// DryRun runs every step's Check against the Metabase given (or the one the stack publishes) and no Apply: it
// reports the writes the plan would make, secrets masked, and writes nothing, not even the state file.
func (s *Session) DryRun(ctx context.Context) (plan.DryRunReport, error) {
	url := s.probeURL()
	cp := *s.cfg.State // a dry run leaves the state as it was
	opts := s.opts.PlanOptions
	opts.StateDir = ""
	p, err := plan.New(s.cfg.planConfig(url), &cp, opts)
	if err != nil {
		return plan.DryRunReport{}, Kind(ErrUsage, err)
	}
	r, err := p.DryRun(ctx)
	if err != nil {
		return r, &Failure{Err: fmt.Errorf("dry run against %s: %w", url, err),
			Hint: Hint{What: "dry run", Why: "Metabase did not answer or refused the admin", Do: "start Metabase (embedwizard up) or give the URL of a running one"}}
	}
	return r, nil
}
