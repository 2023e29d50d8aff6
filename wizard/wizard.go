// Package wizard holds embedwizard's front ends, all views of one session's events (package session): the
// interactive TUI, the accessible mode and the plain lines of `up --yes`. The TUI is: a Bubble Tea program with one model per screen
// (welcome and checks, the huh form, the stack's pull and boot, the walk-through of the plan's steps, the
// final screen). It runs the same stack and plan code as `embedwizard up --yes`: the work happens in
// tea.Cmds on its own goroutines and arrives in Update as messages, so the screen never freezes.
//
// The wizard reads no flags and no environment: cmd/embedwizard resolves them into a session.Config, and the
// Engine is that session (NewEngine).
package wizard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/term"

	sess "github.com/embedwizard/embedwizard/wizard/session"
)

// Errors Run returns besides a failed step's own.
var (
	// ErrNoTerminal: Input or Output is not a terminal; `embedwizard up --yes` is the way without one.
	ErrNoTerminal = errors.New("the wizard needs a terminal: run `embedwizard up --yes` instead")
	// ErrInterrupted: Ctrl+C. What was done is saved; the next run resumes.
	ErrInterrupted = errors.New("interrupted: finished steps are saved, run embedwizard again to resume")
	// ErrQuit: the user quit before the end.
	ErrQuit = errors.New("stopped before the end: run embedwizard again to resume where you left off")
)

// Choices are what the form asks for; cmd fills in the defaults from flags, environment and saved state.
type Choices = sess.Choices

// Check is one prerequisite as the welcome screen lists it: a line that is green or says what to do.
type Check = sess.Check

// Options configure Run.
type Options struct {
	// Input and Output are the terminal (os.Stdin, os.Stdout); both must be terminals.
	Input  io.Reader
	Output io.Writer
	// Accessible replaces redrawing screens with plain prompts and lines, for screen readers
	// (--accessible, ACCESSIBLE=1).
	Accessible bool
	// Choices prefill the form.
	Choices Choices
	// LicenseFrom names where Choices.Config.LicenseToken came from ("MB_PREMIUM_EMBEDDING_TOKEN"); when
	// set, the form does not ask for the license.
	LicenseFrom string
	// NoBrowser leaves the browser closed; the URL is printed either way.
	NoBrowser bool
	// Rehearsal: Metabase is the built-in emulator; every screen says so (sess.RehearsalBanner).
	Rehearsal bool
	// StateFile is where the passwords are kept; the final screen says so. HostLog is the host app's log.
	StateFile, HostLog string
	Engine             Engine
	// StopTimeout bounds how long Run waits, after the screens end, for in-flight work to notice the
	// cancellation and save its state. Zero means 10 s.
	StopTimeout time.Duration
}

// Run runs the wizard until the user quits. It returns nil after the final screen, ErrInterrupted after
// Ctrl+C, ErrQuit when the user quit early, a failed step's error when they quit after it, and
// ErrNoTerminal without a terminal.
func Run(ctx context.Context, opts Options) error {
	if opts.Engine == nil {
		return errors.New("wizard: Options.Engine is nil")
	}
	if !isTerminal(opts.Input) || !isTerminal(opts.Output) {
		return ErrNoTerminal
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := newSession(ctx, opts)
	defer s.stop(cancel)
	if opts.Accessible {
		return runAccessible(s)
	}
	m := newModel(s, cancel)
	final, err := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(opts.Input), tea.WithOutput(opts.Output)).Run()
	if fm, ok := final.(*model); ok && fm.err != nil {
		return fm.err
	}
	if errors.Is(err, tea.ErrProgramKilled) || errors.Is(err, tea.ErrInterrupted) || ctx.Err() != nil {
		return ErrInterrupted
	}
	if err != nil {
		return fmt.Errorf("wizard: %w", err)
	}
	return nil
}

// isTerminal reports whether v is a terminal device.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// session is what every screen shares: the work context, the options, and the jobs in flight.
type session struct {
	ctx  context.Context
	opts Options
	jobs sync.WaitGroup
}

func newSession(ctx context.Context, opts Options) *session {
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 10 * time.Second
	}
	opts.Choices = opts.Choices.WithDefaults()
	return &session{ctx: ctx, opts: opts}
}

// stop cancels the work in flight and waits, within StopTimeout, for it to return, so that a step
// interrupted by Ctrl+C has saved what it did before the process exits.
func (s *session) stop(cancel context.CancelFunc) {
	cancel()
	done := make(chan struct{})
	go func() { s.jobs.Wait(); close(done) }()
	t := time.NewTimer(s.opts.StopTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
