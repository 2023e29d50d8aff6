package wizard

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"
)

func TestWelcome(t *testing.T) {
	tests := []struct {
		name   string
		checks []Check
		edit   func(*Options)
		want   []string
		golden bool
	}{
		{
			name:   "all green",
			golden: true,
			want:   []string{"✓ Docker", "✓ license       from MB_PREMIUM_EMBEDDING_TOKEN", "enter continue"},
		},
		{
			name: "port taken says what to do",
			checks: []Check{
				{Name: "Docker", OK: true, Detail: "Docker 20.10.24 answers"},
				{Name: "port", Detail: "127.0.0.1:3000 is held by another program", Fix: "stop it, or choose another port for Metabase"},
			},
			golden: true,
			want:   []string{"✗ port", "fix: stop it", "r check again", "e change in the form", "Nothing has been"},
		},
		{
			name: "Docker down: only fixing it helps",
			checks: []Check{
				{Name: "docker", Detail: "nothing answers on unix:///var/run/docker.sock", Fix: "start it (`sudo systemctl start docker`)"},
				{Name: "port", Detail: "127.0.0.1:3000 is held by another program", Fix: "stop it, or choose another port for Metabase"},
			},
			want: []string{"✗ docker", "✗ port", "2 checks are marked ✗", "r check again"},
		},
		{
			name: "low memory is a warning, not a stop",
			checks: []Check{
				{Name: "memory", OK: true, Warn: true, Detail: "the engine has 2 GiB; Metabase's container needs 2 GiB and more", Fix: "give the engine 4 GiB"},
			},
			want: []string{"! memory", "fix: give the engine 4 GiB", "enter continue"},
		},
		{
			name: "malformed license from the environment",
			edit: func(o *Options) { o.Choices.Config.LicenseToken = "NOT-A-TOKEN" },
			want: []string{"✗ license", "Metabase's format", "fix: set MB_PREMIUM_EMBEDDING_TOKEN"},
		},
		{
			name: "no license yet: the form asks",
			edit: func(o *Options) { o.Choices.Config.LicenseToken, o.LicenseFrom = "", "" },
			want: []string{"✓ license       the form asks for it next"},
		},
		{
			name: "external Metabase",
			edit: func(o *Options) { o.Choices.Config.MetabaseURL = "http://mb.example:3000" },
			want: []string{"your Metabase at http://mb.example:3000 (no Docker)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newEngine()
			if tt.checks != nil {
				eng.checks = tt.checks
			}
			w := startWizard(t, eng, tt.edit)
			w.waitFor("Prerequisites")
			w.waitFor("quit")
			view := w.finish().plainView()
			for _, s := range tt.want {
				if !strings.Contains(view, s) {
					t.Errorf("welcome screen lacks %q:\n%s", s, view)
				}
			}
			checkFits(t, view, 80, 24)
			if strings.Contains(view, testLicense) {
				t.Errorf("welcome screen shows the license token:\n%s", view)
			}
			if tt.golden {
				teatest.RequireEqualOutput(t, []byte(view))
			}
		})
	}
}

func TestWelcomeEnterGoesToForm(t *testing.T) {
	w := startWizard(t, newEngine(), nil)
	w.waitFor("enter continue")
	w.key("enter")
	w.waitFor("Your choices")
	if m := w.finish(); m.err != nil {
		t.Fatalf("quit with %v", m.err)
	}
}

// The welcome screen is the gate before the first write: while a check fails, Enter does not leave it, and
// nothing starts; once the prerequisite is fixed, r and Enter go on.
func TestWelcomeBlocksWhileACheckFails(t *testing.T) {
	eng := newEngine()
	eng.checks = []Check{{Name: "docker", Detail: "nothing answers on unix:///var/run/docker.sock", Fix: "start Docker"}}
	w := startWizard(t, eng, nil)
	w.waitFor("r check again")
	w.key("enter")
	w.waitFor("Cannot go on yet")
	w.key("e") // the form cannot fix Docker
	w.key("enter")
	time.Sleep(100 * time.Millisecond)
	w.read()
	if strings.Contains(w.out.String(), "Your choices") {
		t.Fatal("Enter on a failing check went on to the form")
	}
	eng.setChecks([]Check{{Name: "docker", OK: true, Detail: "Docker 20.10.24 answers"}})
	w.key("r")
	w.waitFor("enter continue")
	w.key("enter")
	w.waitFor("Your choices")
	w.finish()
	if calls, _, _ := eng.snapshot(); len(calls) != 0 {
		t.Errorf("the stack started %d times from the welcome screen", len(calls))
	}
}

// A port taken can be changed in the form; the form's answers are checked again before the stack starts,
// which happens only once they pass.
func TestWelcomePortTakenChangedInTheForm(t *testing.T) {
	eng := newEngine()
	eng.stackHold = make(chan struct{})
	eng.preflight = func(c Choices) []Check {
		if c.MetabasePort == 3000 {
			return []Check{{Name: "port", Detail: "127.0.0.1:3000 is held by another program", Fix: "stop it, or choose another port for Metabase"}}
		}
		return []Check{{Name: "port", OK: true, Detail: fmt.Sprintf("127.0.0.1:%d is free", c.MetabasePort)}}
	}
	w := startWizard(t, eng, nil)
	w.waitFor("e change in the form")
	w.key("e")
	// Enter through the form first, keeping the taken port: the check after the form stops again.
	keep := append([]answer(nil), enterThrough...)
	keep[len(keep)-1].after = "checked again with your answers"
	w.fill(keep)
	w.waitFor("e change in the form")
	if calls, _, _ := eng.snapshot(); len(calls) != 0 {
		t.Fatalf("the stack started with the port taken: %+v", calls)
	}
	w.key("e")
	w.fill(append([]answer{{field: "Metabase port", keys: []string{"ctrl+u", "3366"}}}, enterThrough[1:]...))
	w.waitFor("Starting Metabase")
	w.finish()
	calls, _, _ := eng.snapshot()
	if len(calls) != 1 || calls[0].MetabasePort != 3366 {
		t.Fatalf("stack calls = %+v, want one, on port 3366", calls)
	}
	last := eng.preflights()[len(eng.preflights())-1]
	if last.MetabasePort != 3366 {
		t.Errorf("the last preflight checked port %d, want the form's 3366", last.MetabasePort)
	}
}

// TestWelcomeFitsTheRealChecks: the checks a Docker run lists (seven, some long) and the keys under them fit
// 80×24: a passing check takes one line; on a short screen the list of what will happen gives way.
func TestWelcomeFitsTheRealChecks(t *testing.T) {
	real := []Check{
		{Name: "docker", OK: true, Detail: `Docker Engine 20.10.24+dfsg1 (linux) through context "default" (default) at unix:///var/run/docker.sock`},
		{Name: "port", OK: true, Detail: "127.0.0.1:46447 is free"},
		{Name: "memory", OK: true, Detail: "Docker can use 23.5 GiB of memory; Metabase's container gets 2 GiB (heap 1024 MiB)"},
		{Name: "image", OK: true, Detail: "127.0.0.1:45839/embedwizard-e2e/metabase is not present: up will pull it (Metabase's image is about 500 MB to 1 GB)"},
		{Name: "version", OK: true, Detail: "127.0.0.1:45839/embedwizard-e2e/metabase names no version: it is checked against the security floor once Metabase reports its version"},
		{Name: "host app port", OK: true, Detail: "35095 is free for the host app"},
	}
	tests := []struct {
		name   string
		checks []Check
		want   []string
	}{
		{"all pass", real, []string{"1. Metabase Enterprise", "✓ version       127.0.0.1:45839", "enter continue"}},
		{"two fail: the intro gives way", append(append([]Check(nil), real[:4]...),
			Check{Name: "version", Detail: "Metabase v1.63.1 is refused: a security fix is in v1.63.5; use v1.63.5 or later", Fix: "choose a newer image (or allow it for a test)"},
			Check{Name: "host app port", Detail: "the host app's port 35095 is in use: 127.0.0.1:35095 is held by another program", Fix: "stop it or choose another port for the host app"}),
			[]string{"✗ version", "fix: choose a newer image", "✗ host app port", "r check again", "q quit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newEngine()
			eng.checks = tt.checks
			w := startWizard(t, eng, nil)
			w.waitFor("quit")
			view := w.finish().plainView()
			for _, s := range tt.want {
				if !strings.Contains(view, s) {
					t.Errorf("welcome screen lacks %q:\n%s", s, view)
				}
			}
			checkFits(t, view, 80, 24)
		})
	}
}
