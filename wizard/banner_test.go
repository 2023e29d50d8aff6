package wizard

import (
	"context"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	sess "github.com/embedwizard/embedwizard/wizard/session"
)

// TestBannersOnEveryScreen: a version floor overridden (--allow-vulnerable) is said at the top of every
// screen, under a rehearsal's banner when there is one, one line each within 80 columns.
func TestBannersOnEveryScreen(t *testing.T) {
	vulnerable := "VULNERABLE (allowed by --allow-vulnerable): Metabase v1.63.1 is refused: a security fix is in v1.63.5; use v1.63.5 or later"
	for _, rehearsal := range []bool{false, true} {
		eng := newEngine()
		eng.banners = []string{vulnerable, "Metabase v1.65.0-beta is a beta or release candidate"}
		ctx, cancel := context.WithCancel(context.Background())
		s := newSession(ctx, Options{Choices: defaultChoices(), Engine: eng, Rehearsal: rehearsal})
		t.Cleanup(func() { s.stop(cancel) })
		size := tea.WindowSizeMsg{Width: 80, Height: 24}
		screens := map[string]tea.Model{
			"welcome":      newWelcome(s),
			"form":         newFormScreen(s),
			"stack":        newStackScreen(s, defaultChoices()),
			"walk-through": newWalkthrough(s, defaultChoices(), "http://localhost:3000"),
			"final":        newFinal(s, eng.plan.st, "http://localhost:3000", nil, nil),
		}
		screens["final"].Update(hostReadyMsg{host: sess.HostApp{URL: "http://localhost:8080"}})
		for name, screen := range screens {
			screen.Update(size)
			m := &model{s: s, size: size, screen: screen}
			view := m.View()
			lines := strings.Split(view, "\n")
			if rehearsal {
				if strings.TrimSpace(lines[0]) != sess.RehearsalBanner {
					t.Errorf("rehearsal: the %s screen starts with %q, want the rehearsal banner", name, lines[0])
				}
				lines = lines[1:]
			}
			if !strings.HasPrefix(lines[0], "! VULNERABLE (allowed by --allow-vulnerable)") || !strings.HasPrefix(lines[1], "! Metabase v1.65.0-beta is a beta") {
				t.Errorf("rehearsal %v: the %s screen starts with\n%s\nwant both banners", rehearsal, name, strings.Join(lines[:3], "\n"))
			}
			checkFits(t, view, 80, 24)
		}
	}
}
