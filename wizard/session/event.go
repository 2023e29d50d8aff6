package session

import (
	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// Hint is advice: what failed, why, and what to do. Stack checks, plan steps and the preflight all turn into
// one; front ends show What and Why, then Do once. Do says what to do in words and environment variables;
// flag names are cmd's business.
type Hint struct {
	What, Why, Do string
}

// Empty reports whether the hint says nothing.
func (h Hint) Empty() bool { return h.What == "" && h.Why == "" && h.Do == "" }

// EventKind says what an Event reports.
type EventKind int

const (
	// CheckDone: one preflight check finished (Check).
	CheckDone EventKind = iota
	// StackProgress: the Docker stack pulled, created, started or booted (Stack).
	StackProgress
	// StackReady: Metabase answers at URL.
	StackReady
	// StepProgress: a plan event other than a warning (Step).
	StepProgress
	// Warning: something works but not as one would expect (Message; Step when a step said it).
	Warning
	// Info: a line worth showing that is not a step (Message): the snapshot being saved, where the state is.
	Info
	// HostUp: the host app serves at URL.
	HostUp
	// HostDown: the host app stopped; Err says why (nil after Ctrl+C).
	HostDown
)

func (k EventKind) String() string {
	return [...]string{"check", "stack", "stack ready", "step", "warning", "info", "host up", "host down"}[k]
}

// Event is one thing a session tells its front ends. Only the fields of its Kind are set.
type Event struct {
	Kind    EventKind
	Check   Check
	Stack   stack.Event
	Step    plan.Event
	Message string
	URL     string
	Err     error
	// Banner marks a Warning that every later screen keeps showing (a version floor overridden:
	// Session.Banners lists them all).
	Banner bool
	// Running is the exact Metabase that runs, with StackReady.
	Running Running
}

// Check is one preflight or doctor line: OK, or what failed with the hint to fix it.
type Check struct {
	Name   string
	OK     bool
	Detail string // what was found
	Fix    string // what to do, when not OK
	// Warn marks a check that passed with a reservation; Detail says which.
	Warn bool
	// quiet: a passed check with nothing worth a line on a screen of 24 (the version of a tag that names none,
	// before it runs).
	quiet bool
}

// Hint is the check's advice, for a failed check.
func (c Check) Hint() Hint { return Hint{What: c.Name, Why: c.Detail, Do: c.Fix} }

func fromStackCheck(c stack.Check) Check {
	return Check{Name: c.Name, OK: c.OK, Detail: c.Detail, Fix: c.Fix, Warn: c.Warn}
}

// planEvent turns a plan event into the session's: a warning becomes a Warning, the rest StepProgress.
func planEvent(ev plan.Event) Event {
	if ev.Kind == plan.StepWarning {
		return Event{Kind: Warning, Step: ev, Message: ev.Message}
	}
	return Event{Kind: StepProgress, Step: ev}
}

// orNop makes a nil emit a no-op.
func orNop(emit func(Event)) func(Event) {
	if emit == nil {
		return func(Event) {}
	}
	return emit
}
