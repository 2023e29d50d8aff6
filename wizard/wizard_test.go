package wizard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/embedwizard/embedwizard/stack"
	sess "github.com/embedwizard/embedwizard/wizard/session"
)

func TestRunRefusesWithoutATerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	tests := []struct {
		name string
		in   any
		out  any
	}{
		{"pipes", r, w},
		{"buffers", strings.NewReader(""), &strings.Builder{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Engine: newEngine(), Choices: defaultChoices()}
			opts.Input, _ = tt.in.(interface{ Read([]byte) (int, error) })
			opts.Output, _ = tt.out.(interface{ Write([]byte) (int, error) })
			err := Run(context.Background(), opts)
			if !errors.Is(err, ErrNoTerminal) || !strings.Contains(err.Error(), "embedwizard up --yes") {
				t.Errorf("Run without a terminal = %v, want ErrNoTerminal naming up --yes", err)
			}
		})
	}
}

func TestCtrlCCancelsTheStepInFlight(t *testing.T) {
	eng := newEngine()
	eng.plan.hold["dashboard"] = true
	eng.plan.markDone("setup", "license")
	w := startWizard(t, eng, nil)
	w.toWalk()
	w.key("enter")
	w.waitFor("stop (what is done stays done)")
	w.key("ctrl+c")
	m := w.tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*model)
	if !errors.Is(m.err, ErrInterrupted) {
		t.Errorf("Ctrl+C ended the wizard with %v, want ErrInterrupted", m.err)
	}
	select {
	case id := <-eng.plan.cancelled:
		if id != "dashboard" {
			t.Errorf("cancelled step %q, want dashboard", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the running step's context was not cancelled within 10s")
	}
}

func TestCtrlCOnEveryScreen(t *testing.T) {
	tests := []struct {
		name string
		to   func(w *wizardT)
	}{
		{"welcome", func(w *wizardT) { w.waitFor("enter continue") }},
		{"form", func(w *wizardT) { w.toForm(); w.waitFor("┃ Metabase port") }},
		{"stack", func(w *wizardT) { w.toForm(); w.fill(enterThrough) }},
		{"walk-through", func(w *wizardT) { w.toWalk() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newEngine()
			eng.stackHold = make(chan struct{})
			if tt.name == "walk-through" {
				close(eng.stackHold)
			}
			w := startWizard(t, eng, nil)
			tt.to(w)
			w.key("ctrl+c")
			m := w.tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*model)
			if !errors.Is(m.err, ErrInterrupted) {
				t.Errorf("Ctrl+C on the %s screen ended with %v, want ErrInterrupted", tt.name, m.err)
			}
		})
	}
}

func TestScreensFitAnySize(t *testing.T) {
	eng := newEngine()
	s := newSession(context.Background(), Options{Choices: defaultChoices(), LicenseFrom: "MB_PREMIUM_EMBEDDING_TOKEN", Engine: eng})
	// Each screen filled in as it is at its busiest, by the messages its work would send.
	screens := []struct {
		name string
		make func() tea.Model
		msgs []tea.Msg
	}{
		{"welcome", func() tea.Model { return newWelcome(s) }, []tea.Msg{checksMsg{eng.checks}}},
		{"form", func() tea.Model { return newFormScreen(s) }, nil},
		{"stack", func() tea.Model { return newStackScreen(s, defaultChoices()) }, append(stackMsgs(pullEvents()), tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("l")})},
		{"walk-through", func() tea.Model { return newWalkthrough(s, defaultChoices(), "http://localhost:3000") },
			[]tea.Msg{planReadyMsg{eng.plan}, surveyDoneMsg{}}},
		{"final", func() tea.Model {
			return newFinal(s, eng.plan.st, "http://localhost:3000", [][]string{{"user demo.acme@example.com signed in through SSO", "in group Customer Acme"}, {"41 rows, all of account 28"}}, nil)
		}, []tea.Msg{hostReadyMsg{host: sess.HostApp{URL: "http://localhost:8080"}}}},
	}
	sizes := []tea.WindowSizeMsg{{Width: 80, Height: 24}, {Width: 60, Height: 20}, {Width: 50, Height: 16}, {Width: 120, Height: 40}}
	for _, sc := range screens {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%dx%d", sc.name, size.Width, size.Height), func(t *testing.T) {
				m := &model{s: s, size: tea.WindowSizeMsg{Width: 80, Height: 24}}
				screen := sc.make()
				screen.Update(m.size)
				for _, msg := range sc.msgs {
					screen.Update(msg)
				}
				// Resized after it was drawn once, as a terminal window is.
				_ = screen.View()
				m.screen, _ = screen.Update(size)
				m.size = size
				checkFits(t, m.plainView(), size.Width, size.Height)
			})
		}
	}
}

func stackMsgs(evs []stack.Event) []tea.Msg {
	out := make([]tea.Msg, len(evs))
	for i, ev := range evs {
		out[i] = stackEventMsg{ev}
	}
	return out
}
