package wizard

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// runAccessible is the wizard for screen readers: the same checks, form, stack, plan and host app, as plain
// prompts and one line per event, nothing redrawn.
func runAccessible(s *session) error {
	o, w := s.opts, s.opts.Output
	eng := o.Engine
	fmt.Fprintln(w, "embedwizard: Metabase interactive embedding, set up in one go.")
	fmt.Fprintln(w, "Checking prerequisites.")
	for _, c := range append(eng.Preflight(s.ctx, o.Choices), licenseCheck(o)) {
		fmt.Fprintln(w, checkSentence(c))
	}

	f, a := newForm(o.Choices, true)
	if err := f.WithAccessible(true).WithInput(o.Input).WithOutput(w).RunWithContext(s.ctx); err != nil {
		return fmt.Errorf("form: %w", err)
	}
	c, err := a.choices(o.Choices)
	if err != nil {
		return err
	}
	if s.ctx.Err() != nil {
		return ErrInterrupted
	}

	url := c.Config.MetabaseURL
	if !c.external() {
		fmt.Fprintf(w, "Starting Metabase (%s) on port %d.\n", c.Image, c.MetabasePort)
		var said progressLine
		url, err = eng.Stack(s.ctx, c, func(ev stack.Event) { said.stack(w, ev) })
		if err != nil {
			return interrupted(s, fmt.Errorf("start Metabase: %w", err))
		}
	}
	fmt.Fprintf(w, "Metabase answers at %s.\n", url)

	p, err := eng.Plan(s.ctx, c, url)
	if err != nil {
		return interrupted(s, fmt.Errorf("prepare the plan: %w", err))
	}
	var checks []string
	var failure *StepError
	err = p.Run(s.ctx, func(ev plan.Event) {
		fmt.Fprintln(w, eventSentence(ev))
		checks = append(checks, ev.Checks...)
		if ev.Kind == plan.StepFailed {
			failure = &StepError{Step: ev.Step, Err: ev.Err, Hint: ev.Hint}
		}
	})
	if err != nil {
		if failure != nil && s.ctx.Err() == nil {
			return failure
		}
		return interrupted(s, err)
	}

	host, err := eng.Serve(s.ctx, p.State())
	if err != nil {
		return interrupted(s, fmt.Errorf("start the host app: %w", err))
	}
	analytics := strings.TrimRight(host, "/") + "/analytics"
	fmt.Fprintf(w, "Done. The dashboard is embedded at %s\n", analytics)
	if !o.NoBrowser {
		if err := eng.Open(analytics); err != nil {
			fmt.Fprintln(w, "Could not open a browser: open the address yourself.")
		}
	}
	for _, t := range p.State().Tenants {
		fmt.Fprintf(w, "Sign in as %s for %s (account %d); the password is in the state file.\n", t.DemoUser.Email, t.Name, t.AccountID)
	}
	fmt.Fprintln(w, "Next: embedwizard status, embedwizard reset, embedwizard down.")
	fmt.Fprintln(w, "Press Enter to stop the host app. Metabase keeps running.")
	waitLine(s, o.Input)
	return nil
}

// interrupted prefers ErrInterrupted over the error the cancellation caused.
func interrupted(s *session, err error) error {
	if s.ctx.Err() != nil {
		return ErrInterrupted
	}
	return err
}

// waitLine returns after a line on r or when the session ends.
func waitLine(s *session, r io.Reader) {
	done := make(chan struct{})
	go func() {
		bufio.NewReader(r).ReadString('\n')
		close(done)
	}()
	select {
	case <-done:
	case <-s.ctx.Done():
	}
}

func checkSentence(c Check) string {
	if c.OK {
		return fmt.Sprintf("OK: %s: %s.", c.Name, c.Detail)
	}
	return fmt.Sprintf("Problem: %s: %s. Fix: %s", c.Name, c.Detail, c.Fix)
}

// eventSentence says one plan event as a sentence.
func eventSentence(ev plan.Event) string {
	t := ev.Step.Title
	switch ev.Kind {
	case plan.StepStarted:
		return fmt.Sprintf("Step: %s. %s Calls: %s.", t, ev.Step.Why, strings.Join(ev.Step.Calls, ", "))
	case plan.StepProgress:
		return "  " + ev.Message
	case plan.StepAlreadyDone:
		return "Already done: " + t + "."
	case plan.StepDone:
		return "Done: " + t + "."
	case plan.StepVerified:
		return fmt.Sprintf("Verified: %s: %s.", t, strings.Join(ev.Checks, "; "))
	case plan.StepFailed:
		return fmt.Sprintf("Failed: %s: %v. Fix: %s", t, ev.Err, ev.Hint)
	}
	return t
}

// progressLine says stack events, the pull and boot percentages only every tenth, so that a screen reader
// is not flooded.
type progressLine struct{ pull, boot int }

func (p *progressLine) stack(w io.Writer, ev stack.Event) {
	switch ev.Kind {
	case stack.LogLine:
	case stack.PullProgress:
		if step := int(ev.Percent) / 10; step > p.pull {
			p.pull = step
			fmt.Fprintf(w, "Pulling the image: %d%%.\n", step*10)
		}
	case stack.Booting:
		if step := int(ev.Boot * 10); step > p.boot {
			p.boot = step
			fmt.Fprintf(w, "Metabase is starting: %d%%.\n", step*10)
		}
	default:
		if ev.Message != "" {
			fmt.Fprintln(w, ev.Message+".")
		}
	}
}
