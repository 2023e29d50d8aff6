package plan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

// hinted is an error that knows what the user should do about it.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

// withHint attaches what to do to an error; StepFailed carries it as Hint.
func withHint(err error, hint string) error { return &hinted{err: err, hint: hint} }

// notYetError is a Check that cannot tell because a step before it has not run (the dashboard's collection
// is not known before the dashboard step, a tenant has no group before the groups step): the step is not
// done, which is no failure. Survey reports such a step as pending; Apply, run out of order, fails with it.
type notYetError struct {
	what, hint string
}

func (e *notYetError) Error() string { return e.what }

// notYet says a step's Check depends on an earlier step that has not run.
func notYet(what, hint string) error { return withHint(&notYetError{what: what, hint: hint}, hint) }

// isNotYet reports whether err says an earlier step has not run.
func isNotYet(err error) bool {
	var n *notYetError
	return errors.As(err, &n)
}

// LicenseError is Metabase refusing the license token, or a license that lacks a feature the quick start
// needs: a missing prerequisite (exit code 3), unlike a 500 or a dropped connection at the license step.
type LicenseError struct {
	// Missing lists the features the license lacks, as "sso_jwt (JWT single sign-on)".
	Missing []string
	// Refused is set when Metabase refused the token itself (400 on PUT premium-embedding-token).
	Refused bool
	// NoToken is set when no token was given and Metabase has none.
	NoToken bool
	Err     error
}

func (e *LicenseError) Error() string { return e.Err.Error() }
func (e *LicenseError) Unwrap() error { return e.Err }

const resume = "Run the same command again: the finished steps are kept and the plan resumes here."

// hintFor says what to do about a failure: the step's own hint when it gave one, else one read from the
// kind of error (interrupted, Metabase gone, Metabase's status code).
func hintFor(err error, metabaseURL string) string {
	var h *hinted
	if errors.As(err, &h) {
		return h.hint
	}
	if errors.Is(err, context.Canceled) {
		return "Interrupted. " + resume
	}
	var ae *metabase.APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Status == http.StatusUnauthorized:
			return "Metabase refused the credentials or the session ended: check EMBEDWIZARD_ADMIN_PASSWORD (or the API key), then run again."
		case ae.Status == http.StatusPaymentRequired || ae.Status == http.StatusForbidden:
			return "Metabase says the license or the account does not allow this: check the license has JWT, sandboxing and advanced permissions (embedwizard doctor), then run again."
		case ae.Status == http.StatusConflict:
			return "Someone else changed the same permissions at the same time. " + resume
		case ae.Status == http.StatusServiceUnavailable:
			return "Metabase is still starting or is overloaded: wait until " + metabaseURL + "/api/health says ok. " + resume
		case ae.Status >= 500:
			return fmt.Sprintf("Metabase failed on its side (HTTP %d): look at its log (embedwizard logs) for the cause. %s", ae.Status, resume)
		case ae.Status == http.StatusNotFound:
			return "Metabase does not know this object any more (deleted by hand?) or this version lacks the endpoint. " + resume
		default:
			return "Metabase refused the request; its message says why. Fix that in Metabase or in the options, then run again."
		}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return "Metabase at " + metabaseURL + " did not answer in time: check it is running and not overloaded (embedwizard status). " + resume
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, new(*net.OpError)) {
		return "Metabase at " + metabaseURL + " stopped answering: check it is running (embedwizard status, embedwizard logs). " + resume
	}
	return resume
}
