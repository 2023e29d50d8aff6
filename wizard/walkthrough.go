package wizard

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/embedwizard/embedwizard/wizard/plan"
	sess "github.com/embedwizard/embedwizard/wizard/session"
)

// Messages of the walk-through's jobs.
type (
	planReadyMsg  struct{ p Plan }
	planEventMsg  struct{ ev sess.Event }
	surveyDoneMsg struct{ err error }
	runDoneMsg    struct{ err error }
)

// walkDoneMsg: every step is done; st is the plan's state and checks what each checkpoint verified.
type walkDoneMsg struct {
	st       *plan.State
	checks   [][]string
	warnings []string
}

type stepStatus int

const (
	pending stepStatus = iota
	running
	alreadyDone
	done
	verified
	failed
)

func (s stepStatus) finished() bool { return s == alreadyDone || s == done || s == verified }

// step is a step as the walk-through shows it.
type step struct {
	info     plan.StepInfo
	status   stepStatus
	msg      string   // the last progress line while it runs
	checks   []string // what its checkpoint verified
	warnings []string // what it warned about, kept once the step is over
	err      error
	hint     string
}

// walk phases.
const (
	walkLoading = iota // building the plan and surveying what is already done
	walkIdle
	walkRunning // one step (Enter) or all of them (a)
	walkFailed
)

// walkthrough lists the plan's steps; for the current one it explains what, why, where in the admin UI
// and which API calls. Enter runs it, a runs all the rest.
type walkthrough struct {
	s             *session
	width, height int
	choices       Choices
	metabaseURL   string
	plan          Plan
	steps         []step
	phase         int
	err           error          // a failure outside any step (building the plan, the survey)
	retry         func() tea.Cmd // starts the last work again
	runErr        error          // the last run's error, as the session gave it (its kind, its hint)
	job           job
	spin          spinner.Model
}

func newWalkthrough(s *session, c Choices, metabaseURL string) *walkthrough {
	return &walkthrough{s: s, choices: c, metabaseURL: metabaseURL, spin: newSpinner(), width: 80, height: 24}
}

func (w *walkthrough) Init() tea.Cmd { return tea.Batch(w.load(), w.spin.Tick) }

// load builds the plan (resuming the saved state) and surveys it: steps already in place show as done.
func (w *walkthrough) load() tea.Cmd {
	w.phase, w.err, w.retry = walkLoading, nil, w.load
	p := w.plan
	var cmd tea.Cmd
	w.job, cmd = w.s.start(func(emit func(tea.Msg)) tea.Msg {
		if p == nil {
			var err error
			if p, err = w.s.opts.Engine.Plan(w.s.ctx, w.choices, w.metabaseURL); err != nil {
				return surveyDoneMsg{fmt.Errorf("prepare the plan: %w", err)}
			}
			emit(planReadyMsg{p})
		}
		return surveyDoneMsg{p.Survey(w.s.ctx, func(ev sess.Event) { emit(planEventMsg{ev}) })}
	})
	return cmd
}

// run runs the current step, or with all every step left.
func (w *walkthrough) run(all bool) tea.Cmd {
	w.phase, w.err, w.retry = walkRunning, nil, func() tea.Cmd { return w.run(all) }
	p, id := w.plan, w.steps[w.current()].info.ID
	var cmd tea.Cmd
	w.job, cmd = w.s.start(func(emit func(tea.Msg)) tea.Msg {
		fn := func(ev sess.Event) { emit(planEventMsg{ev}) }
		if all {
			return runDoneMsg{p.Run(w.s.ctx, fn)}
		}
		return runDoneMsg{p.RunStep(w.s.ctx, id, fn)}
	})
	return cmd
}

// current is the index of the first step not finished (len(steps) when all are).
func (w *walkthrough) current() int {
	for i, s := range w.steps {
		if !s.status.finished() {
			return i
		}
	}
	return len(w.steps)
}

func (w *walkthrough) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		w.width, w.height = msg.Width, msg.Height
	case planReadyMsg:
		w.plan = msg.p
		for _, info := range msg.p.Steps() {
			w.steps = append(w.steps, step{info: info})
		}
		return w, w.job.next
	case planEventMsg:
		w.apply(msg.ev)
		return w, w.job.next
	case surveyDoneMsg:
		return w, w.finish(msg.err)
	case runDoneMsg:
		w.runErr = msg.err
		return w, w.finish(msg.err)
	case spinner.TickMsg:
		if w.phase != walkLoading && w.phase != walkRunning {
			return w, nil
		}
		var cmd tea.Cmd
		w.spin, cmd = w.spin.Update(msg)
		return w, cmd
	case tea.KeyMsg:
		return w, w.key(msg.String())
	}
	return w, nil
}

func (w *walkthrough) key(k string) tea.Cmd {
	switch w.phase {
	case walkIdle:
		switch k {
		case "enter":
			return tea.Batch(w.run(false), w.spin.Tick)
		case "a":
			return tea.Batch(w.run(true), w.spin.Tick)
		case "q":
			return quit(ErrQuit)
		}
	case walkFailed:
		switch k {
		case "r":
			return tea.Batch(w.retry(), w.spin.Tick)
		case "q":
			return quit(w.failure())
		}
	}
	return nil
}

// apply folds one session event into the step it is about.
func (w *walkthrough) apply(sev sess.Event) {
	ev := sev.Step
	i := w.index(ev.Step.ID)
	if i < 0 {
		return
	}
	s := &w.steps[i]
	if sev.Kind == sess.Warning {
		if !slices.Contains(s.warnings, sev.Message) {
			s.warnings = append(s.warnings, sev.Message)
		}
		return
	}
	switch ev.Kind {
	case plan.StepStarted:
		s.status, s.msg, s.err, s.hint = running, "", nil, ""
	case plan.StepProgress:
		s.msg = ev.Message
	case plan.StepAlreadyDone:
		s.status = alreadyDone
	case plan.StepDone:
		s.status = done
	case plan.StepVerified:
		s.status, s.checks = verified, ev.Checks
	case plan.StepFailed:
		s.status, s.err, s.hint = failed, ev.Err, ev.Hint
	}
}

func (w *walkthrough) index(id string) int {
	for i, s := range w.steps {
		if s.info.ID == id {
			return i
		}
	}
	return -1
}

func (w *walkthrough) failedStep() int {
	for i, s := range w.steps {
		if s.status == failed {
			return i
		}
	}
	return -1
}

// finish ends a survey or a run: failed, done with everything, or waiting for the next key.
func (w *walkthrough) finish(err error) tea.Cmd {
	for i := range w.steps {
		if w.steps[i].status == running { // cancelled or failed without its own event
			w.steps[i].status = pending
		}
	}
	switch {
	case err != nil || w.failedStep() >= 0:
		w.phase, w.err = walkFailed, err
		return nil
	case w.plan != nil && w.current() == len(w.steps):
		var checks [][]string
		var warnings []string
		for _, s := range w.steps {
			if len(s.checks) > 0 {
				checks = append(checks, s.checks)
			}
			warnings = append(warnings, s.warnings...)
		}
		st := w.plan.State()
		return func() tea.Msg { return walkDoneMsg{st, checks, warnings} }
	}
	w.phase = walkIdle
	return nil
}

// failure is what Run returns when the user quits after a failure.
func (w *walkthrough) failure() error {
	if _, hinted := sess.HintOf(w.runErr); hinted || (w.runErr != nil && w.failedStep() < 0) {
		return w.runErr
	}
	if i := w.failedStep(); i >= 0 {
		s := w.steps[i]
		return &sess.Failure{Err: fmt.Errorf("step %q: %w", s.info.Title, s.err), Hint: sess.Hint{What: s.info.Title, Do: s.hint}}
	}
	if w.err != nil {
		return w.err
	}
	return errors.New("the walk-through failed")
}

func (w *walkthrough) View() string {
	finished := 0
	for _, s := range w.steps {
		if s.status.finished() {
			finished++
		}
	}
	head := titleStyle.Render("Configure Metabase like the guide") +
		dimStyle.Render(fmt.Sprintf(" · %d of %d done · %s", finished, len(w.steps), w.metabaseURL))
	if w.plan == nil && w.phase == walkLoading {
		return head + "\n\n" + w.spin.View() + " reading what is already in place…\n"
	}
	detail := w.detailView()
	footer := w.footer()
	room := w.height - 2 - strings.Count(detail, "\n") - 3
	return head + "\n\n" + w.listView(max(room, 3)) + "\n" + detail + "\n" + footer
}

// listView renders the steps, windowed to rows lines around the current one.
func (w *walkthrough) listView(rows int) string {
	var lines []string
	focus := 0
	cur := w.current()
	if f := w.failedStep(); f >= 0 {
		cur = f
	}
	for i, s := range w.steps {
		if i == cur {
			focus = len(lines)
		}
		lines = append(lines, w.stepLine(i, s, i == cur))
		for _, c := range s.checks {
			lines = append(lines, "      "+okStyle.Render("✓ ")+dimStyle.Render(ansi.Truncate(c, max(w.width-8, 10), "…")))
		}
		for _, m := range s.warnings {
			lines = append(lines, "      "+warnStyle.Render("! "+ansi.Truncate(m, max(w.width-8, 10), "…")))
		}
	}
	start := 0
	if len(lines) > rows {
		start = min(max(focus-rows/3, 0), len(lines)-rows)
		lines = lines[start : start+rows]
	}
	return strings.Join(lines, "\n") + "\n"
}

func (w *walkthrough) stepLine(i int, s step, current bool) string {
	mark, note := markPending, ""
	switch {
	case s.status == alreadyDone:
		mark, note = markOK, "already done"
	case s.status == done:
		mark, note = markOK, "done"
	case s.status == verified:
		mark, note = markOK, "verified"
	case s.status == failed:
		mark, note = markFail, "failed"
	case s.status == running:
		mark, note = w.spin.View(), s.msg
	case current:
		mark = markCurrent
	}
	title := s.info.Title
	line := fmt.Sprintf(" %s %2d %s", mark, i+1, title)
	if current && s.status != running {
		line = fmt.Sprintf(" %s %2d %s", mark, i+1, headStyle.Render(title))
	}
	if note != "" {
		line += dimStyle.Render("  " + note)
	}
	return ansi.Truncate(line, max(w.width, 20), "…")
}

// detailView explains the current (or failed) step: what and why, where in the admin UI, which calls.
func (w *walkthrough) detailView() string {
	i := w.current()
	if f := w.failedStep(); f >= 0 {
		i = f
	}
	var b strings.Builder
	if i < len(w.steps) {
		s := w.steps[i]
		if s.status == failed {
			b.WriteString(markFail + " " + headStyle.Render(s.info.Title+" failed") + "\n")
			b.WriteString(hanging(labelStyle.Render("Error"), errText(s.err), w.width) + "\n")
			if s.hint != "" {
				b.WriteString(hanging(labelStyle.Render("Fix"), s.hint, w.width) + "\n")
			}
		} else {
			if s.info.Guide != "" {
				b.WriteString(hanging(labelStyle.Render("Guide"), s.info.Guide, w.width) + "\n")
			}
			b.WriteString(hanging(labelStyle.Render("Why"), s.info.Why, w.width) + "\n")
			if s.info.AdminUI != "" {
				b.WriteString(hanging(labelStyle.Render("Admin UI"), s.info.AdminUI, w.width) + "\n")
			}
			if len(s.info.Calls) > 0 {
				calls := pack(s.info.Calls, " · ", max(w.width-labelStyle.GetWidth(), 20))
				b.WriteString(hanging(labelStyle.Render("API"), calls, w.width) + "\n")
			}
		}
	}
	if w.err != nil && w.failedStep() < 0 {
		b.WriteString(markFail + " " + headStyle.Render("Stopped") + "\n")
		b.WriteString(hanging(labelStyle.Render("Error"), errText(w.err), w.width) + "\n")
	}
	return b.String()
}

func errText(err error) string {
	if err == nil {
		return "(no detail)"
	}
	return err.Error()
}

func (w *walkthrough) footer() string {
	switch w.phase {
	case walkIdle:
		return help("enter", "run this step", "a", "run all", "q", "quit")
	case walkFailed:
		return help("r", "retry", "q", "quit (run again later to resume)")
	}
	return help("ctrl+c", "stop (what is done stays done)")
}
