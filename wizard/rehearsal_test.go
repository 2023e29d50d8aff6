package wizard

import (
	"context"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	sess "github.com/embedwizard/embedwizard/wizard/session"
)

// TestRehearsalSaysSoOnEveryScreen: in a rehearsal the welcome, the form, the walk-through and the final screen
// all start with the banner saying this is the emulator, not Metabase.
func TestRehearsalSaysSoOnEveryScreen(t *testing.T) {
	eng := newEngine()
	ctx, cancel := context.WithCancel(context.Background())
	s := newSession(ctx, Options{Choices: defaultChoices(), Engine: eng, Rehearsal: true})
	t.Cleanup(func() { s.stop(cancel) })
	size := tea.WindowSizeMsg{Width: 80, Height: 24}
	screens := map[string]tea.Model{
		"welcome":      newWelcome(s),
		"form":         newFormScreen(s),
		"walk-through": newWalkthrough(s, defaultChoices(), "http://localhost:3000"),
		"final":        newFinal(s, eng.plan.st, "http://localhost:3000", nil, nil),
	}
	screens["final"].Update(hostReadyMsg{host: sess.HostApp{URL: "http://localhost:8080"}})
	for name, screen := range screens {
		screen.Update(size)
		m := &model{s: s, size: size, screen: screen}
		if first := strings.SplitN(m.View(), "\n", 2)[0]; strings.TrimSpace(first) != sess.RehearsalBanner {
			t.Errorf("the %s screen starts with %q, want the rehearsal banner", name, first)
		}
	}
}
