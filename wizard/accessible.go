package wizard

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/plan"
	sess "github.com/embedwizard/embedwizard/wizard/session"
)

// runAccessible is the wizard for screen readers: the same checks, form, stack, plan and host app, as plain
// prompts and one sentence per session event, nothing redrawn.
func runAccessible(s *session) error {
	o, w := s.opts, s.opts.Output
	eng := o.Engine
	say := Sentences(w)
	fmt.Fprintln(w, "embedwizard: Metabase interactive embedding, set up in one go.")
	if o.Rehearsal {
		fmt.Fprintln(w, sess.RehearsalBanner+".")
	}
	fmt.Fprintln(w, "Checking prerequisites.")
	checks := eng.Preflight(s.ctx, o.Choices)
	for _, c := range checks {
		say(sess.Event{Kind: sess.CheckDone, Check: c})
	}
	if !formFixes(checks) { // nothing the form asks would help: stop before any write
		return preflightFailed(w, checks)
	}

	f, a := newForm(o.Choices, true)
	if err := f.WithAccessible(true).WithInput(o.Input).WithOutput(w).RunWithContext(s.ctx); err != nil {
		return interrupted(s, fmt.Errorf("form: %w", err))
	}
	c, err := a.choices(o.Choices)
	if err != nil {
		return err
	}
	if s.ctx.Err() != nil {
		return ErrInterrupted
	}
	// The answers are checked before anything is written (a port typed may be taken); only what fails is said.
	if checks = eng.Preflight(s.ctx, c); len(sess.Failed(checks)) > 0 {
		fmt.Fprintln(w, "Checked the prerequisites again with your answers.")
		for _, ch := range sess.Failed(checks) {
			say(sess.Event{Kind: sess.CheckDone, Check: ch})
		}
		return preflightFailed(w, checks)
	}

	url := c.Config.MetabaseURL
	if !c.External() {
		fmt.Fprintf(w, "Starting Metabase (%s) on port %d.\n", c.Image, c.MetabasePort)
		url, err = eng.Stack(s.ctx, c, func(ev stack.Event) { say(sess.Event{Kind: sess.StackProgress, Stack: ev}) })
		if err != nil {
			return interrupted(s, fmt.Errorf("start Metabase: %w", err))
		}
	}
	fmt.Fprintf(w, "Metabase answers at %s.\n", url)

	p, err := eng.Plan(s.ctx, c, url)
	if err != nil {
		return interrupted(s, fmt.Errorf("prepare the plan: %w", err))
	}
	if err := p.Run(s.ctx, say); err != nil {
		return interrupted(s, err)
	}

	host, err := eng.Serve(s.ctx, p.State(), say)
	if err != nil {
		return interrupted(s, fmt.Errorf("start the host app: %w", err))
	}
	analytics := host.Analytics()
	fmt.Fprintf(w, "Done. The dashboard is embedded at %s\n", analytics)
	if o.Rehearsal {
		fmt.Fprintln(w, sess.RehearsalBanner+".")
	}
	if !o.NoBrowser {
		if err := eng.Open(analytics); err != nil {
			fmt.Fprintln(w, "Could not open a browser: open the address yourself.")
		}
	}
	for _, t := range p.State().Tenants {
		fmt.Fprintf(w, "Sign in as %s for %s (account %d); the password is in the state file.\n", t.DemoUser.Email, t.Name, t.AccountID)
	}
	if o.StateFile != "" {
		fmt.Fprintf(w, "The passwords are kept in %s, mode 0600; embedwizard status --show-secrets shows them.\n", o.StateFile)
	}
	if c.External() {
		fmt.Fprintln(w, "Next: embedwizard status, embedwizard host, embedwizard doctor.")
	} else {
		fmt.Fprintln(w, "Next: embedwizard status, embedwizard reset, embedwizard down.")
	}
	fmt.Fprintln(w, "Press Enter to stop the host app. Metabase keeps running.")
	waitLine(s, o.Input, host.Done)
	return nil
}

// interrupted prefers ErrInterrupted over the error the cancellation caused.
func interrupted(s *session, err error) error {
	if s.ctx.Err() != nil {
		return ErrInterrupted
	}
	return err
}

// waitLine returns after a line on r, when the host app stops, or when the session ends.
func waitLine(s *session, r io.Reader, hostDone <-chan error) {
	done := make(chan struct{})
	go func() {
		bufio.NewReader(r).ReadString('\n')
		close(done)
	}()
	select {
	case <-done:
	case <-hostDone:
	case <-s.ctx.Done():
	}
}

// Sentences is the accessible view of a session's events: one plain sentence each, progress said only every
// tenth so that a screen reader is not flooded.
func Sentences(w io.Writer) func(sess.Event) {
	var pull, boot int
	return func(ev sess.Event) {
		switch ev.Kind {
		case sess.CheckDone:
			c := ev.Check
			if c.OK {
				fmt.Fprintf(w, "OK: %s: %s.\n", c.Name, c.Detail)
			} else {
				fmt.Fprintf(w, "Problem: %s: %s. Fix: %s\n", c.Name, c.Detail, c.Fix)
			}
		case sess.StackProgress:
			se := ev.Stack
			switch se.Kind {
			case stack.LogLine:
			case stack.PullProgress:
				if step := int(se.Percent) / 10; step > pull {
					pull = step
					fmt.Fprintf(w, "Pulling the image: %d%%.\n", step*10)
				}
			case stack.Booting:
				if step := int(se.Boot * 10); step > boot {
					boot = step
					fmt.Fprintf(w, "Metabase is starting: %d%%.\n", step*10)
				}
			default:
				if se.Message != "" {
					fmt.Fprintln(w, se.Message+".")
				}
			}
		case sess.StepProgress:
			fmt.Fprintln(w, stepSentence(ev.Step))
		case sess.Warning:
			fmt.Fprintf(w, "Warning: %s.\n", strings.TrimSuffix(ev.Message, "."))
		case sess.Info, sess.StackReady:
			fmt.Fprintln(w, ev.Message+".")
		case sess.HostDown:
			if ev.Err != nil {
				fmt.Fprintf(w, "The host app stopped: %v.\n", ev.Err)
			}
		}
	}
}

// stepSentence says one plan event as a sentence.
func stepSentence(ev plan.Event) string {
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

// preflightFailed is nil when every check passed (warnings aside), else the error that ends the run before
// any write, after saying so.
func preflightFailed(w io.Writer, checks []Check) error {
	failed := sess.Failed(checks)
	if len(failed) == 0 {
		return nil
	}
	names := make([]string, len(failed))
	for i, c := range failed {
		names[i] = c.Name
	}
	fmt.Fprintf(w, "Stopped before any change: %s failed. Fix what is said above and run embedwizard again.\n", strings.Join(names, ", "))
	return sess.Kind(sess.ErrPrereq, fmt.Errorf("preflight: %s failed; nothing was changed", strings.Join(names, ", ")))
}
