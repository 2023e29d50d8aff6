// Package session is one whole run of embedwizard, whatever front end shows it: the resolved choices
// (Config), the preflight, the Docker stack, the quick start's plan, the snapshot for `reset`, and the host
// app. It reports through one typed Event stream that the TUI, the `--yes` lines and the accessible mode
// render alike (package wizard). It reads no flags: cmd/embedwizard resolves them with Resolve.
//
// The order of a run lives here, once: Preflight (reads only, every check), then the state is saved (so an
// interrupted boot leaves no orphan: down, status and logs find the container by its label), the stack, the
// plan, the snapshot, and the host app.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// SnapshotFile is where the configured stack's app database is kept for `embedwizard reset`.
const SnapshotFile = "snapshot.tar.gz"

// HostAppLog is where the host app logs while a full-screen front end owns the terminal.
const HostAppLog = "hostapp.log"

// Options are how a session runs, as opposed to what it sets up (Config).
type Options struct {
	// Interactive: a form follows the preflight, so a missing license is asked for rather than a failure.
	Interactive bool
	// HostLog receives the host app's log; nil means HostAppLog in the state directory.
	HostLog io.Writer
	// Browser opens a URL; nil means the desktop's browser with a scrubbed environment (OpenBrowser).
	Browser func(url string) error
	// PlanOptions are passed to the plan (tests shorten its waits); StateDir is always the session's.
	PlanOptions plan.Options
	// NewStack opens the Docker stack; nil means stack.New. Tests replace it.
	NewStack func(stack.Config) (*stack.Stack, error)
}

// Session is one run. It is not safe for concurrent use: one front end drives it, one call at a time.
type Session struct {
	cfg  Config
	opts Options
	stk  *stack.Stack
	plan *plan.Plan
	// rehearsal is the in-process emulator of a rehearsal, closed with the session.
	rehearsal io.Closer
	// banners are the warnings every screen shows (Banners); repulled: the image was pulled again once for
	// the security floor.
	banners  []string
	repulled bool
	// staleNote says why the preflight forced a pull (a stale copy of a moving tag), for the start to tell.
	staleNote string
}

// New prepares a session for cfg; it makes no call and writes nothing.
func New(cfg Config, opts Options) *Session {
	if cfg.State == nil {
		cfg.State = &plan.State{}
	}
	if opts.NewStack == nil {
		opts.NewStack = stack.New
	}
	if opts.Browser == nil {
		opts.Browser = OpenBrowser
	}
	return &Session{cfg: cfg, opts: opts}
}

// Config is the session's configuration, the form's answers applied.
func (s *Session) Config() Config { return s.cfg }

// State is what exists: the plan updates it and it is saved after every step.
func (s *Session) State() *plan.State { return s.cfg.State }

// Apply folds the form's answers into the session (Resolve's precedence: the form comes first).
func (s *Session) Apply(c Choices) { s.cfg.Apply(c) }

// Close releases the Docker client and a rehearsal's emulator.
func (s *Session) Close() {
	if s.stk != nil {
		s.stk.Close()
		s.stk = nil
	}
	if s.rehearsal != nil {
		s.rehearsal.Close()
		s.rehearsal = nil
	}
}

// Managed reports whether this session runs Metabase in Docker.
func (s *Session) Managed() bool { return !s.cfg.External() }

// stack opens the Docker client for the current configuration.
func (s *Session) stack() (*stack.Stack, error) {
	if s.stk != nil {
		s.stk.Close()
		s.stk = nil
	}
	stk, err := s.opts.NewStack(s.cfg.Stack)
	if err != nil {
		return nil, Kind(ErrPrereq, &Failure{Err: fmt.Errorf("open the Docker client: %w", err),
			Hint: Hint{What: "docker", Why: err.Error(), Do: "check DOCKER_HOST, DOCKER_CONTEXT and that Docker runs"}})
	}
	s.stk = stk
	return stk, nil
}

// StartStack starts Metabase in Docker and waits until it is healthy. The state is saved before the
// container is created, so that a Ctrl+C during Metabase's boot leaves a state that down, status and logs
// use. It returns Metabase's URL.
func (s *Session) StartStack(ctx context.Context, emit func(Event)) (string, error) {
	emit = orNop(emit)
	if err := s.refuseBeforeStart(ctx, emit); err != nil {
		return "", err
	}
	for {
		info, err := s.startStack(ctx, emit)
		if err != nil {
			return "", err
		}
		retry, err := s.checkRunning(ctx, s.stk, info, emit)
		if err != nil {
			return "", err
		}
		if retry {
			continue
		}
		if err := s.save(); err != nil {
			return "", err
		}
		run := Running{Version: info.MetabaseVersion, Image: info.Image, ImageID: info.ImageID, Digest: info.ImageDigest}
		run.Warnings = FloorWarnings(run.Version)
		emit(Event{Kind: StackReady, URL: info.URL, Running: run, Message: fmt.Sprintf("%s is running at %s (container %s)", run, info.URL, info.Name)})
		return info.URL, nil
	}
}

// startStack is one start of the stack, the state saved before the container is created.
func (s *Session) startStack(ctx context.Context, emit func(Event)) (stack.Info, error) {
	stk, err := s.stack()
	if err != nil {
		return stack.Info{}, err
	}
	st := s.cfg.State
	st.Stack.Port, st.Stack.Image = s.cfg.Stack.Port, s.cfg.Stack.Image
	st.Config.AdminEmail, st.Config.AdminPassword = s.cfg.Config.AdminEmail, s.cfg.Config.AdminPassword
	if err := s.save(); err != nil {
		return stack.Info{}, err
	}
	info, err := stk.Up(ctx, func(ev stack.Event) {
		switch ev.Kind {
		case stack.Created: // the container exists: say so in the state before it boots
			st.Stack.ContainerID = ev.ContainerID
			if err := s.save(); err != nil {
				emit(Event{Kind: Warning, Message: err.Error()})
			}
		case stack.Warning:
			emit(Event{Kind: Warning, Message: ev.Message})
			return
		}
		emit(Event{Kind: StackProgress, Stack: ev})
	})
	if err != nil {
		return stack.Info{}, classify(fmt.Errorf("start Metabase in Docker: %w", err))
	}
	recordStack(st, info)
	return info, s.save()
}

// recordStack notes in the state what the stack runs, for status, logs, down and reset.
func recordStack(st *plan.State, info stack.Info) {
	ss := &st.Stack
	ss.ContainerID, ss.Image, ss.Port, ss.Volume = info.ContainerID, info.Image, info.Port, info.Volume
}

// save writes the state (0600 in a 0700 directory).
func (s *Session) save() error {
	if s.cfg.StateDir == "" {
		return nil
	}
	if err := s.cfg.State.Save(s.cfg.StateDir); err != nil {
		return fmt.Errorf("save the state: %w", err)
	}
	return nil
}

// Plan builds the quick start's plan against the Metabase at metabaseURL, resuming the saved state.
func (s *Session) Plan(metabaseURL string) (*plan.Plan, error) {
	opts := s.opts.PlanOptions
	opts.StateDir = s.cfg.StateDir
	p, err := plan.New(s.cfg.planConfig(metabaseURL), s.cfg.State, opts)
	if err != nil {
		return nil, Kind(ErrUsage, err)
	}
	s.plan = p
	return p, nil
}

// RunPlan runs every step of p, turning its events into the session's. A failed step comes back as a
// *Failure with its hint (and ErrPrereq for a license really refused).
func (s *Session) RunPlan(ctx context.Context, p *plan.Plan, emit func(Event)) error {
	return s.drive(ctx, emit, func(fn func(plan.Event)) error { return p.Run(ctx, fn) })
}

// RunStep runs one step of p (the wizard's Enter).
func (s *Session) RunStep(ctx context.Context, p *plan.Plan, id string, emit func(Event)) error {
	return s.drive(ctx, emit, func(fn func(plan.Event)) error { return p.RunStep(ctx, id, fn) })
}

// Survey reads which steps are already in place (the wizard's first look).
func (s *Session) Survey(ctx context.Context, p *plan.Plan, emit func(Event)) error {
	return s.drive(ctx, emit, func(fn func(plan.Event)) error { return p.Survey(ctx, fn) })
}

func (s *Session) drive(ctx context.Context, emit func(Event), run func(func(plan.Event)) error) error {
	emit = orNop(emit)
	var failed *plan.Event
	err := run(func(ev plan.Event) {
		if ev.Kind == plan.StepFailed {
			e := ev
			failed = &e
		}
		emit(planEvent(ev))
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return Kind(ErrInterrupted, err)
	case failed != nil:
		return stepFailure(*failed, err)
	}
	return err
}

// Snapshot keeps the freshly configured app database once, so `embedwizard reset` returns to it in seconds.
// Saving restarts Metabase (the copy is taken from a stopped container). Nothing to do for an external
// Metabase.
func (s *Session) Snapshot(ctx context.Context, emit func(Event)) error {
	if s.stk == nil {
		return nil
	}
	emit = orNop(emit)
	st := s.cfg.State
	path := filepath.Join(s.cfg.StateDir, SnapshotFile)
	if st.Stack.Snapshot == path {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
	}
	emit(Event{Kind: Info, Message: "saving a snapshot of the configured Metabase for reset (Metabase restarts once)"})
	if err := s.stk.SaveSnapshot(ctx, path); err != nil {
		return classify(fmt.Errorf("save the snapshot for reset: %w", err))
	}
	st.Stack.Snapshot = path
	if err := s.save(); err != nil {
		return err
	}
	emit(Event{Kind: Info, Message: "snapshot saved: " + path})
	return nil
}

// Run is a whole run without questions (`up --yes`, `rehearse`): preflight, stack, plan, snapshot, and,
// unless ConfigureOnly, the host app until ctx ends or it stops. confirm, when set, is asked once the
// preflight passed and before anything is written.
func (s *Session) Run(ctx context.Context, emit func(Event), confirm func(steps []plan.StepInfo) bool) error {
	emit = orNop(emit)
	start := time.Now()
	if err := s.CheckAll(ctx, emit); err != nil {
		return err
	}
	if confirm != nil {
		p, err := s.Plan(s.probeURL())
		if err != nil {
			return err
		}
		if !confirm(p.Steps()) {
			return Kind(ErrUsage, errors.New("not confirmed: nothing was changed"))
		}
	}
	url := s.cfg.Config.MetabaseURL
	if s.Managed() {
		var err error
		if url, err = s.StartStack(ctx, emit); err != nil {
			return err
		}
	}
	p, err := s.Plan(url)
	if err != nil {
		return err
	}
	emit(Event{Kind: Info, Message: fmt.Sprintf("Configuring Metabase at %s as %s (password: %s). State: %s",
		p.Config().MetabaseURL, p.Config().AdminEmail, s.passwordNote(), filepath.Join(s.cfg.StateDir, plan.StateFile))})
	if err := s.RunPlan(ctx, p, emit); err != nil {
		return err
	}
	calls, writes := p.APICalls()
	emit(Event{Kind: Info, Message: fmt.Sprintf("All %d steps passed and every checkpoint was verified: %d API calls (%d writes) in %s.",
		len(p.Steps()), calls, writes, time.Since(start).Round(time.Millisecond))})
	if err := s.Snapshot(ctx, emit); err != nil {
		if ctx.Err() != nil {
			return Kind(ErrInterrupted, err)
		}
		emit(Event{Kind: Warning, Message: err.Error()})
	}
	if s.cfg.FastReset && s.Managed() { // after the volume snapshot, whose restart would lose it
		if err := s.fastSnapshot(ctx, url, emit); err != nil {
			emit(Event{Kind: Warning, Message: err.Error() + ": reset will restore the volume snapshot"})
		}
	}
	s.showBanners(emit) // once more on the last screen, beside the host app's address
	if s.cfg.ConfigureOnly {
		return nil
	}
	return s.ServeUntilDone(ctx, emit)
}

// ServeUntilDone serves the host app, opens /analytics unless NoBrowser, and returns when ctx ends (nil) or
// the host app stops by itself (why).
func (s *Session) ServeUntilDone(ctx context.Context, emit func(Event)) error {
	emit = orNop(emit)
	host, err := s.Serve(ctx, emit)
	if err != nil {
		return err
	}
	if !s.cfg.NoBrowser {
		if err := s.opts.Browser(host.Analytics()); err != nil {
			emit(Event{Kind: Warning, Message: fmt.Sprintf("could not open a browser (%v): open %s yourself", err, host.Analytics())})
		}
	}
	select {
	case err := <-host.Done:
		return err
	case <-ctx.Done():
		<-host.Done
		return nil
	}
}

// probeURL is where Metabase will answer, before the stack ran: the plan is built against it so that a bad
// configuration fails before Docker starts.
func (s *Session) probeURL() string {
	if u := s.cfg.Config.MetabaseURL; u != "" {
		return u
	}
	return s.cfg.Stack.SiteURL
}

// passwordNote says where the admin password came from, never what it is.
func (s *Session) passwordNote() string {
	switch s.cfg.AdminPasswordFrom {
	case "":
		return "none, an API key from " + EnvAPIKey
	case "generated":
		return "generated, kept in the state file"
	}
	return "from " + s.cfg.AdminPasswordFrom
}

// Open opens url in the browser the session was given (a scrubbed desktop browser by default).
func (s *Session) Open(url string) error { return s.opts.Browser(url) }
