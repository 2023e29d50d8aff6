package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/stack/metabase"
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

// HintOf is the advice an error carries, if any.
func HintOf(err error) (Hint, bool) {
	var f *Failure
	if errors.As(err, &f) && !f.Hint.Empty() {
		return f.Hint, true
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
	case errors.Is(err, stack.ErrDaemonUnreachable), errors.Is(err, stack.ErrPortInUse):
		return Kind(ErrPrereq, err)
	}
	return err
}

// licenseRefused tells a license Metabase really refused, or one that lacks features (a missing
// prerequisite, exit 3), from a failure to ask (a 500, a dropped connection: exit 1, naming the call).
func licenseRefused(err error) bool {
	var ae *metabase.APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusBadRequest || ae.Status == http.StatusPaymentRequired
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	// What is left is the plan's own verdict: the features are missing after the token was sent (or none
	// was given).
	return true
}

// stepFailure is the error of a failed plan step: its kind, and its hint kept apart from the message.
func stepFailure(ev plan.Event, runErr error) error {
	err := fmt.Errorf("step %q: %w", ev.Step.Title, ev.Err)
	if errors.Is(ev.Err, context.Canceled) {
		return Kind(ErrInterrupted, err)
	}
	f := &Failure{Err: err, Hint: Hint{What: ev.Step.Title + " failed", Why: ev.Err.Error(), Do: ev.Hint}}
	if ev.Step.ID == plan.StepLicense && licenseRefused(ev.Err) {
		return Kind(ErrPrereq, f)
	}
	_ = runErr
	return f
}
