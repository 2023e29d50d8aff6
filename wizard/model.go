package wizard

import (
	"context"
	"strings"

	"github.com/charmbracelet/x/ansi"

	tea "github.com/charmbracelet/bubbletea"

	sess "github.com/embedwizard/embedwizard/wizard/session"
)

// model is the wizard: it owns the current screen and moves from one to the next as each says it is done
// (welcome → form → the checks again with its answers → stack → walk-through → final; no stack screen for an
// external Metabase). No screen before the stack writes anything, and the welcome screen lets the user past
// only when every check passes, so nothing is written while a preflight check fails. Ctrl+C is handled here,
// for every screen: it cancels the work in flight and quits.
type model struct {
	s           *session
	cancel      context.CancelFunc
	size        tea.WindowSizeMsg
	screen      tea.Model
	choices     Choices
	metabaseURL string
	err         error
	// formed: the form has been answered; the next passing check goes on to the stack.
	formed bool
}

func newModel(s *session, cancel context.CancelFunc) *model {
	return &model{s: s, cancel: cancel, size: tea.WindowSizeMsg{Width: 80, Height: 24}, screen: newWelcome(s), choices: s.opts.Choices}
}

func (m *model) Init() tea.Cmd { return m.show(m.screen) }

// show makes screen the current one, at the terminal's size.
func (m *model) show(screen tea.Model) tea.Cmd {
	m.screen, _ = screen.Update(m.size)
	return m.screen.Init()
}

func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.size = msg
	case tea.KeyMsg:
		if msg.Type == tea.KeyCtrlC {
			m.err = ErrInterrupted
			m.cancel()
			return m, tea.Quit
		}
	case quitMsg:
		m.err = msg.err
		return m, tea.Quit
	case welcomeDoneMsg:
		if !m.formed {
			return m, m.show(newFormScreen(m.s))
		}
		if m.choices.External() {
			m.metabaseURL = m.choices.Config.MetabaseURL
			return m, m.show(newWalkthrough(m.s, m.choices, m.metabaseURL))
		}
		return m, m.show(newStackScreen(m.s, m.choices))
	case editMsg:
		m.formed = false
		return m, m.show(newFormScreen(m.s))
	case formDoneMsg:
		// The answers become what every later screen starts from (a form shown again is prefilled with
		// them), and they are checked before anything is written.
		m.choices, m.s.opts.Choices, m.formed = msg.choices, msg.choices, true
		return m, m.show(newRecheck(m.s))
	case stackReadyMsg:
		m.metabaseURL = msg.url
		return m, m.show(newWalkthrough(m.s, m.choices, msg.url))
	case walkDoneMsg:
		return m, m.show(newFinal(m.s, msg.st, m.metabaseURL, msg.checks, msg.warnings))
	}
	var cmd tea.Cmd
	m.screen, cmd = m.screen.Update(msg)
	return m, cmd
}

func (m *model) View() string {
	view := m.screen.View()
	if _, isFinal := m.screen.(*final); !isFinal { // the final screen places the banner itself
		view = rehearsalLine(m.s.opts, m.size.Width) + view
	}
	return fit(view, m.size.Width, m.size.Height)
}

// rehearsalLine is what every screen starts with: a rehearsal's banner, and the session's banners (a version
// floor overridden, --allow-vulnerable), one line each; or nothing.
func rehearsalLine(o Options, width int) string {
	var b strings.Builder
	if o.Rehearsal {
		b.WriteString(warnStyle.Render(ansi.Truncate(sess.RehearsalBanner, max(width, 20), "…")) + "\n")
	}
	if o.Engine != nil {
		for _, line := range o.Engine.Banners() {
			b.WriteString(warnStyle.Render(ansi.Truncate("! "+line, max(width, 20), "…")) + "\n")
		}
	}
	return b.String()
}
