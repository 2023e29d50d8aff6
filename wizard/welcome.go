package wizard

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	sess "github.com/embedwizard/embedwizard/wizard/session"
)

// checksMsg carries the preflight's answer.
type checksMsg struct{ checks []Check }

// welcomeDoneMsg: every check passed (warnings aside) and the user goes on: to the form, or, for the check
// after the form, to the stack.
type welcomeDoneMsg struct{}

// editMsg: the checks failed on what the form can change (a port, a value given); the user goes back to it.
type editMsg struct{}

// quitMsg ends the wizard with err (nil after the final screen).
type quitMsg struct{ err error }

func quit(err error) tea.Cmd { return func() tea.Msg { return quitMsg{err} } }

// welcome says in one screen what will happen and lists the prerequisites as they are checked. It is also
// the gate before the first write: while a check fails it does not let the user on (issue: preflight before
// writes), and after the form it checks again with the answers (a port typed there may be taken), going on
// by itself when all pass.
type welcome struct {
	s             *session
	width, height int
	checks        []Check
	checking      bool
	spin          spinner.Model
	job           job
	// afterForm: this is the check of the form's answers, just before the stack starts.
	afterForm bool
	// refused: Enter was pressed while a check failed; the screen says why it stays.
	refused bool
}

func newWelcome(s *session) *welcome { return &welcome{s: s, spin: newSpinner()} }

// newRecheck is the welcome screen as the check of the form's answers.
func newRecheck(s *session) *welcome { return &welcome{s: s, spin: newSpinner(), afterForm: true} }

func (w *welcome) Init() tea.Cmd { return tea.Batch(w.check(), w.spin.Tick) }

// check runs the preflight in a job; the list shows a spinner until it answers.
func (w *welcome) check() tea.Cmd {
	w.checking = true
	var cmd tea.Cmd
	c := w.s.opts.Choices // read here, not in the job's goroutine: the form's answers replace it
	w.job, cmd = w.s.start(func(func(tea.Msg)) tea.Msg {
		return checksMsg{w.s.opts.Engine.Preflight(w.s.ctx, c)}
	})
	return cmd
}

func (w *welcome) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		w.width, w.height = msg.Width, msg.Height
	case checksMsg:
		w.checks, w.checking, w.refused = msg.checks, false, false
		if w.afterForm && !w.failed() {
			return w, func() tea.Msg { return welcomeDoneMsg{} }
		}
	case spinner.TickMsg:
		if !w.checking {
			return w, nil
		}
		var cmd tea.Cmd
		w.spin, cmd = w.spin.Update(msg)
		return w, cmd
	case tea.KeyMsg:
		switch msg.String() {
		case "enter":
			switch {
			case w.checking:
			case w.failed(): // nothing is written while a check fails
				w.refused = true
			default:
				return w, func() tea.Msg { return welcomeDoneMsg{} }
			}
		case "r":
			if !w.checking {
				return w, tea.Batch(w.check(), w.spin.Tick)
			}
		case "e":
			if !w.checking && w.failed() && w.formFixes() {
				return w, func() tea.Msg { return editMsg{} }
			}
		case "q", "esc":
			return w, quit(ErrQuit)
		}
	}
	return w, nil
}

func (w *welcome) View() string {
	c := w.s.opts.Choices
	var b strings.Builder
	b.WriteString(titleStyle.Render("embedwizard · Metabase interactive embedding, set up in one go") + "\n\n")
	b.WriteString(wrap("Does what Metabase's \"Interactive embedding quick start\" describes, step by step, "+
		"showing why, where in Metabase's admin, and the API call:", w.width) + "\n")
	where := fmt.Sprintf("Metabase Enterprise in Docker (%s, port %d)", c.Image, c.MetabasePort)
	switch {
	case w.s.opts.Rehearsal:
		where = "the built-in emulator of Metabase at " + c.Config.MetabaseURL + " (a rehearsal: no Docker, no license)"
	case c.External():
		where = "your Metabase at " + c.Config.MetabaseURL + " (no Docker)"
	}
	var intro strings.Builder
	for i, line := range []string{
		where,
		"admin, license, X-ray dashboard, embedding, JWT SSO, groups, sandboxing",
		"the guide's checkpoints verified: SSO sign-in, rows only for each tenant",
		"a host app at " + c.Config.HostAppURL + " embedding the dashboard at /analytics",
	} {
		intro.WriteString(hanging(fmt.Sprintf("  %d. ", i+1), line, w.width) + "\n")
	}
	rest := w.checksView()
	// The checks and the keys must show: on a short terminal the list of what will happen gives way.
	banners := strings.Count(rehearsalLine(w.s.opts, w.width), "\n")
	if w.height <= 0 || strings.Count(b.String()+intro.String()+rest, "\n")+1+banners <= w.height {
		b.WriteString(intro.String())
	}
	return b.String() + rest
}

// checksView is the list of checks and the keys under it.
func (w *welcome) checksView() string {
	var b strings.Builder
	head := "Prerequisites"
	if w.afterForm {
		head = "Prerequisites, checked again with your answers"
	}
	b.WriteString("\n" + headStyle.Render(head) + "\n")
	if w.checking {
		b.WriteString("  " + w.spin.View() + " checking Docker, ports and memory…\n")
	} else {
		for _, ch := range w.checks {
			b.WriteString(checkLine(ch, w.width))
		}
	}
	b.WriteString("\n")
	switch {
	case w.checking:
		b.WriteString(help("q", "quit"))
	case w.failed():
		n := len(sess.Failed(w.checks))
		say := fmt.Sprintf("%d %s marked ✗: fix %s as said under it and press r. Nothing has been changed yet, and nothing will be until every check passes.",
			n, plural(n, "check is", "checks are"), plural(n, "it", "each"))
		if w.refused {
			say = "Cannot go on yet: " + say
		}
		keys := []string{"r", "check again"}
		if w.formFixes() {
			say += " Or press e to change " + plural(n, "it", "them") + " in the form."
			keys = append(keys, "e", "change in the form")
		}
		b.WriteString(wrap(say, w.width) + "\n")
		b.WriteString(help(append(keys, "q", "quit")...))
	default:
		b.WriteString(help("enter", "continue", "q", "quit"))
	}
	return b.String()
}

// failed reports whether a check failed; a check that passed with a warning (Warn) lets the user on.
func (w *welcome) failed() bool { return len(sess.Failed(w.checks)) > 0 }

// formFixes reports whether the form can fix every failing check: Metabase's or the host app's port, or a
// value given (flags, saved state) that the form asks for again.
func (w *welcome) formFixes() bool { return formFixes(w.checks) }

// formFixes reports whether the form can fix every failing one of checks.
func formFixes(checks []Check) bool {
	for _, ch := range sess.Failed(checks) {
		switch ch.Name {
		case "port", "host app port", "choices":
		default:
			return false
		}
	}
	return true
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// checkLine renders one check: mark, name, what was found and, when it failed, the fix under it.
func checkLine(ch Check, width int) string {
	mark := markOK
	switch {
	case !ch.OK:
		mark = markFail
	case ch.Warn:
		mark = markWarn
	}
	head := fmt.Sprintf("  %s %-13s ", mark, ch.Name)
	if ch.OK && !ch.Warn { // a check that passed takes one line; one to act on says all
		return ansi.Truncate(head+ch.Detail, max(width, 20), "…") + "\n"
	}
	out := hanging(head, ch.Detail, width) + "\n"
	if ch.Fix != "" {
		out += hanging(strings.Repeat(" ", 18), "fix: "+ch.Fix, width) + "\n"
	}
	return out
}
