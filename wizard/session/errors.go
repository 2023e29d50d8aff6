package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/embedwizard/embedwizard/hostapp"
	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// Kinds of failure. Every error the session returns matches at most one of these with errors.Is; cmd maps
// them to exit codes in one table (README "Exit codes").
var (
	// ErrUsage: a flag, an argument or a configured value is wrong; nothing was done.
	ErrUsage = errors.New("invalid usage")
	// ErrPrereq: something the run needs is missing (Docker, a free port, a license, a terminal).
	ErrPrereq = errors.New("a prerequisite is missing")
	// ErrInterrupted: Ctrl+C or SIGTERM. What was done is saved; the next run resumes.
	ErrInterrupted = errors.New("interrupted: finished steps are saved, run the same command again to resume")
	// ErrNoState: the state directory holds no state yet.
	ErrNoState = errors.New("no state yet")
	// ErrNotManaged: the command needs a Metabase that embedwizard runs in Docker, and this one runs elsewhere.
	ErrNotManaged = errors.New("Metabase is not run by embedwizard")
	// ErrUnverified: Metabase is not configured as the state says; serving would show more than a tenant's rows.
	ErrUnverified = errors.New("Metabase is not configured as the guide says")
)

// kinded is an error of a kind: errors.Is(err, kind) holds, and the message is the cause's alone.
type kinded struct {
	kind error
	err  error
}

func (k *kinded) Error() string   { return k.err.Error() }
func (k *kinded) Unwrap() []error { return []error{k.err, k.kind} }

// Kind marks err as being of kind (ErrUsage, ErrPrereq, …); nil stays nil.
func Kind(kind, err error) error {
	if err == nil {
		return nil
	}
	return &kinded{kind: kind, err: err}
}

func usage(errs ...error) error { return Kind(ErrUsage, errors.Join(errs...)) }

// Failure is an error with its hint: what failed (Err) and what to do (Hint). Front ends show the two apart,
// so the advice appears once.
type Failure struct {
	Err  error
	Hint Hint
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// HintOf is the advice an error carries, if any: a failed step's or check's (Failure), or the stack's
// (stack.Advice), which keeps its advice out of its message so that it is said once.
func HintOf(err error) (Hint, bool) {
	var f *Failure
	if errors.As(err, &f) && !f.Hint.Empty() {
		return f.Hint, true
	}
	var a *stack.Advice
	if errors.As(err, &a) && a.Fix != "" {
		return Hint{Why: a.Err.Error(), Do: a.Fix}, true
	}
	return Hint{}, false
}

// classify gives an error from the stack or the plan its kind.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return Kind(ErrInterrupted, err)
	case errors.Is(err, stack.ErrDaemonUnreachable), errors.Is(err, stack.ErrPortInUse), errors.Is(err, stack.ErrImageMissing):
		return Kind(ErrPrereq, err)
	case errors.Is(err, hostapp.ErrDemoNotLoopback), plan.IsValidation(err):
		return Kind(ErrUsage, err)
	}
	return err
}

// stepFailure is the error of a failed plan step: its kind, and its hint kept apart from the message.
func stepFailure(ev plan.Event, runErr error) error {
	err := fmt.Errorf("step %q: %w", ev.Step.Title, ev.Err)
	if errors.Is(ev.Err, context.Canceled) {
		return Kind(ErrInterrupted, err)
	}
	f := &Failure{Err: err, Hint: Hint{What: ev.Step.Title + " failed", Why: ev.Err.Error(), Do: ev.Hint}}
	var le *plan.LicenseError
	switch {
	case errors.As(ev.Err, &le): // refused or lacking features; a 500 or a dropped connection is not one
		return Kind(ErrPrereq, f)
	case plan.IsValidation(ev.Err):
		return Kind(ErrUsage, f)
	}
	_ = runErr
	return f
}
