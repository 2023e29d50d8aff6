package wizard

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	sess "github.com/embedwizard/embedwizard/wizard/session"
)

// toWalk goes through welcome, form and stack to the walk-through.
func (w *wizardT) toWalk() {
	w.toForm()
	w.fill(enterThrough[:len(enterThrough)-1])
	w.key("enter")
	w.waitFor("enter run this step")
}

func TestWalkthroughResumesAndRunsOneStep(t *testing.T) {
	eng := newEngine()
	eng.plan.markDone("setup", "license")
	w := startWizard(t, eng, nil)
	w.toWalk()
	w.key("enter")
	w.waitFor("Enable interactive embedding") // the next step's explanation replaces the dashboard's
	m := w.finish()
	view := m.plainView()
	for _, s := range []string{
		"3 of 11 done",
		"✓  1 Create the admin account  already done",
		"✓  3 Create the Invoices dashboard  done",
		"▸  4 Enable interactive embedding",
		"Admin UI Admin settings > Settings > Embedding > Interactive embedding",
		"API      GET /api/setting · PUT /api/setting",
		"enter run this step · a run all",
	} {
		if !strings.Contains(view, s) {
			t.Errorf("walk-through lacks %q:\n%s", s, view)
		}
	}
	eng.plan.mu.Lock()
	runs := eng.plan.runs
	eng.plan.mu.Unlock()
	if !reflect.DeepEqual(runs, []string{"dashboard"}) {
		t.Errorf("Enter ran %v, want only the current step", runs)
	}
	checkFits(t, view, 80, 24)
	teatest.RequireEqualOutput(t, []byte(view))
}

func TestWalkthroughRunAllReachesTheEnd(t *testing.T) {
	eng := newEngine()
	w := startWizard(t, eng, nil)
	w.toWalk()
	w.key("a")
	w.waitFor("Done: the dashboard is embedded")
	m := w.finish()
	view := m.plainView()
	for _, s := range []string{"signed in through /auth/sso", "opens the dashboard"} {
		if !strings.Contains(view, s) {
			t.Errorf("final screen lacks the checkpoint's %q:\n%s", s, view)
		}
	}
	eng.plan.mu.Lock()
	n := len(eng.plan.runs)
	eng.plan.mu.Unlock()
	if n != len(eng.plan.steps) {
		t.Errorf("a ran %d steps, want all %d", n, len(eng.plan.steps))
	}
}

func TestWalkthroughFailure(t *testing.T) {
	tests := []struct {
		name  string
		after string // key pressed on the failure
		check func(t *testing.T, w *wizardT, m *model)
	}{
		{
			name:  "retry",
			after: "r",
			check: func(t *testing.T, w *wizardT, m *model) {
				if _, ok := m.screen.(*final); !ok {
					t.Errorf("after a successful retry the screen is %T, want the final screen", m.screen)
				}
			},
		},
		{
			name:  "quit",
			after: "q",
			check: func(t *testing.T, w *wizardT, m *model) {
				h, ok := sess.HintOf(m.err)
				if !ok || !strings.Contains(m.err.Error(), errFake) || !strings.Contains(h.Do, "Metabase failed on its side") {
					t.Fatalf("quit after a failure returned %#v, want the step's error with its hint", m.err)
				}
				if msg := m.err.Error(); !strings.Contains(msg, "Set up JWT single sign-on") || strings.Contains(msg, "Metabase failed on its side") {
					t.Errorf("error %q does not say which step failed, or repeats the hint (advice shows once)", msg)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newEngine()
			eng.plan.failOnce["jwt"] = nil
			w := startWizard(t, eng, nil)
			w.toWalk()
			w.key("a")
			w.waitFor("Set up JWT single sign-on failed")
			w.waitFor("r retry")
			if tt.name == "retry" {
				// The failed screen, as the user sees it, is the golden.
				w.key(tt.after)
				w.waitFor("Done: the dashboard is embedded")
				tt.check(t, w, w.finish())
				return
			}
			w.key(tt.after)
			m := w.tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*model)
			view := m.plainView()
			for _, s := range []string{"✗  8 Set up JWT single sign-on  failed", "Error", "500", "Fix      Metabase failed on its side"} {
				if !strings.Contains(view, s) {
					t.Errorf("failed step view lacks %q:\n%s", s, view)
				}
			}
			checkFits(t, view, 80, 24)
			teatest.RequireEqualOutput(t, []byte(view))
			tt.check(t, w, m)
		})
	}
}
