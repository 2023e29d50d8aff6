package wizard

import (
	"context"
	"sync"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/plan"
	sess "github.com/embedwizard/embedwizard/wizard/session"
)

// Engine is the work behind the screens: a session (NewEngine). Tests may replace the stack; the plan is
// always the real one. Every method honours ctx.
type Engine interface {
	// Preflight checks, reading only, what the run needs for the given choices.
	Preflight(ctx context.Context, c Choices) []Check
	// Stack starts Metabase in Docker and waits until it is healthy, reporting progress through emit
	// (from one goroutine). It returns the Metabase URL. Not called for an external Metabase.
	Stack(ctx context.Context, c Choices, emit func(stack.Event)) (metabaseURL string, err error)
	// Plan builds the quick start's plan against the Metabase at metabaseURL, resuming the saved state.
	Plan(ctx context.Context, c Choices, metabaseURL string) (Plan, error)
	// Serve saves the snapshot for reset (a Docker stack, once), then starts the host app for st and returns
	// once it listens; it serves until ctx ends, and its Done says when it stops.
	Serve(ctx context.Context, st *plan.State, emit func(sess.Event)) (sess.HostApp, error)
	// Open opens url in the user's browser.
	Open(url string) error
	// Checklist verifies Metabase now and reads its own embedding checklist beside our checkpoints; it only
	// reads, and says in the report when Metabase has none or could not be asked.
	Checklist(ctx context.Context, st *plan.State) *sess.ChecklistReport
	// Banners are the warnings every later screen keeps showing (a version floor overridden). Safe to call
	// from the screens while work runs.
	Banners() []string
}

// Plan is a plan bound to its session: its events arrive as the session's.
type Plan interface {
	Steps() []plan.StepInfo
	// Survey runs only the steps' checks and reports those in place as already done.
	Survey(ctx context.Context, emit func(sess.Event)) error
	RunStep(ctx context.Context, id string, emit func(sess.Event)) error
	Run(ctx context.Context, emit func(sess.Event)) error
	State() *plan.State
}

// NewEngine is the Engine of a session: the same preflight, stack, plan and host app as `up --yes`.
func NewEngine(s *sess.Session) Engine { return &sessionEngine{s: s} }

// sessionEngine runs the session on the screens' jobs, one at a time. The session is not safe for concurrent
// use, so its banners are copied here after each call, for the screens to read while the next one runs.
type sessionEngine struct {
	s       *sess.Session
	mu      sync.Mutex
	banners []string
}

// keepBanners copies the session's banners; called on the job's goroutine, after its session call.
func (e *sessionEngine) keepBanners() {
	b := e.s.Banners()
	e.mu.Lock()
	e.banners = b
	e.mu.Unlock()
}

func (e *sessionEngine) Banners() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.banners...)
}

func (e *sessionEngine) Preflight(ctx context.Context, c Choices) []Check {
	defer e.keepBanners()
	e.s.Apply(c)
	return e.s.Preflight(ctx)
}

func (e *sessionEngine) Stack(ctx context.Context, c Choices, emit func(stack.Event)) (string, error) {
	defer e.keepBanners()
	e.s.Apply(c)
	return e.s.StartStack(ctx, func(ev sess.Event) {
		switch ev.Kind {
		case sess.StackProgress:
			emit(ev.Stack)
		case sess.Warning: // the stack screen lists warnings (a newer image, a version floor overridden)
			if ev.Banner {
				e.keepBanners()
			}
			emit(stack.Event{Kind: stack.Warning, Message: ev.Message})
		}
	})
}

func (e *sessionEngine) Plan(ctx context.Context, c Choices, metabaseURL string) (Plan, error) {
	e.s.Apply(c)
	p, err := e.s.Plan(metabaseURL)
	if err != nil {
		return nil, err
	}
	return sessionPlan{e.s, p}, nil
}

func (e *sessionEngine) Serve(ctx context.Context, st *plan.State, emit func(sess.Event)) (sess.HostApp, error) {
	defer e.keepBanners()
	if err := e.s.Snapshot(ctx, emit); err != nil && ctx.Err() == nil {
		return sess.HostApp{}, err
	}
	return e.s.Serve(ctx, emit)
}

func (e *sessionEngine) Open(url string) error { return e.s.Open(url) }

func (e *sessionEngine) Checklist(ctx context.Context, st *plan.State) *sess.ChecklistReport {
	return sess.ReadChecklist(ctx, st)
}

type sessionPlan struct {
	s *sess.Session
	p *plan.Plan
}

func (p sessionPlan) Steps() []plan.StepInfo { return p.p.Steps() }
func (p sessionPlan) State() *plan.State     { return p.p.State() }
func (p sessionPlan) Survey(ctx context.Context, emit func(sess.Event)) error {
	return p.s.Survey(ctx, p.p, emit)
}
func (p sessionPlan) RunStep(ctx context.Context, id string, emit func(sess.Event)) error {
	return p.s.RunStep(ctx, p.p, id, emit)
}
func (p sessionPlan) Run(ctx context.Context, emit func(sess.Event)) error {
	return p.s.RunPlan(ctx, p.p, emit)
}
