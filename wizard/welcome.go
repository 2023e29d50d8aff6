package wizard

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
)

// checksMsg carries the preflight's answer.
type checksMsg struct{ checks []Check }

// welcomeDoneMsg: the user read the welcome screen and goes on to the form.
type welcomeDoneMsg struct{}

// quitMsg ends the wizard with err (nil after the final screen).
type quitMsg struct{ err error }

func quit(err error) tea.Cmd { return func() tea.Msg { return quitMsg{err} } }

// welcome says in one screen what will happen and lists the prerequisites as they are checked.
type welcome struct {
	s             *session
	width, height int
	checks        []Check
	checking      bool
	spin          spinner.Model
	job           job
}

func newWelcome(s *session) *welcome { return &welcome{s: s, spin: newSpinner()} }

func (w *welcome) Init() tea.Cmd { return tea.Batch(w.check(), w.spin.Tick) }

// check runs the preflight in a job; the list shows a spinner until it answers.
func (w *welcome) check() tea.Cmd {
	w.checking = true
	var cmd tea.Cmd
	w.job, cmd = w.s.start(func(func(tea.Msg)) tea.Msg {
		return checksMsg{w.s.opts.Engine.Preflight(w.s.ctx, w.s.opts.Choices)}
	})
	return cmd
}

func (w *welcome) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		w.width, w.height = msg.Width, msg.Height
	case checksMsg:
		w.checks, w.checking = msg.checks, false
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
			if !w.checking {
				return w, func() tea.Msg { return welcomeDoneMsg{} }
			}
		case "r":
			if !w.checking {
				return w, tea.Batch(w.check(), w.spin.Tick)
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
	for i, line := range []string{
		where,
		"admin, license, X-ray dashboard, embedding, JWT SSO, groups, sandboxing",
		"the guide's checkpoints verified: SSO sign-in, rows only for each tenant",
		"a host app at " + c.Config.HostAppURL + " embedding the dashboard at /analytics",
	} {
		b.WriteString(hanging(fmt.Sprintf("  %d. ", i+1), line, w.width) + "\n")
	}
	b.WriteString("\n" + headStyle.Render("Prerequisites") + "\n")
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
		b.WriteString(wrap("Fix what is marked ✗ and press r, or go on: ports can be changed in the form.", w.width) + "\n")
		b.WriteString(help("enter", "continue", "r", "check again", "q", "quit"))
	default:
		b.WriteString(help("enter", "continue", "q", "quit"))
	}
	return b.String()
}

func (w *welcome) failed() bool {
	for _, ch := range w.checks {
		if !ch.OK {
			return true
		}
	}
	return false
}

// checkLine renders one check: mark, name, what was found and, when it failed, the fix under it.
func checkLine(ch Check, width int) string {
	mark := markOK
	if !ch.OK {
		mark = markFail
	}
	head := fmt.Sprintf("  %s %-11s ", mark, ch.Name)
	out := hanging(head, ch.Detail, width) + "\n"
	if !ch.OK && ch.Fix != "" {
		out += hanging(strings.Repeat(" ", 16), "fix: "+ch.Fix, width) + "\n"
	}
	return out
}
