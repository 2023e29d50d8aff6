package wizard

import (
	"context"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/wizard/plan"
	sess "github.com/embedwizard/embedwizard/wizard/session"
)

// warningSession is a real session against a fresh emulator whose host app sits on another site than
// Metabase, which the plan warns about (the session cookie must be SameSite=None, refused over plain HTTP).
func warningSession(t *testing.T) *sess.Session {
	t.Helper()
	srv := metabasetest.NewServer(metabasetest.Options{LicenseToken: metabasetest.TestLicenseToken})
	t.Cleanup(srv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := sess.Config{StateDir: t.TempDir(), NoBrowser: true}
	cfg.Choices = sess.Choices{Config: plan.Config{MetabaseURL: srv.URL, HostAppURL: "http://app.example.com:" + strconv.Itoa(port),
		AdminEmail: "admin@example.com", AdminPassword: "s3cret-admin-pw-1", Tenants: []plan.Tenant{plan.DefaultTenant}}}.WithDefaults()
	cfg.Apply(cfg.Choices)
	s := sess.New(cfg, sess.Options{HostLog: &strings.Builder{}, Browser: func(string) error { return nil },
		PlanOptions: plan.Options{PollInterval: 10 * time.Millisecond}})
	t.Cleanup(s.Close)
	return s
}

// runWarnings runs the whole plan of s, rendering its events with view, and returns the warnings it emitted.
func runWarnings(t *testing.T, s *sess.Session, view func(sess.Event)) []string {
	t.Helper()
	p, err := s.Plan(s.Config().Config.MetabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	if err := s.RunPlan(context.Background(), p, func(ev sess.Event) {
		if ev.Kind == sess.Warning {
			warnings = append(warnings, ev.Message)
		}
		view(ev)
	}); err != nil {
		t.Fatal(err)
	}
	if len(warnings) == 0 {
		t.Fatal("the plan warned about nothing: the test lost its point")
	}
	return warnings
}

// words collapses a screen's line breaks and indentation so that a wrapped sentence reads whole again, and the
// ports, which differ between two emulators.
func words(s string) string {
	return regexp.MustCompile(`:\d+`).ReplaceAllString(strings.Join(strings.Fields(s), " "), ":PORT")
}

// TestEveryWarningInEveryFrontEnd: what a step warns about reaches the --yes lines, the accessible sentences
// and the TUI alike.
func TestEveryWarningInEveryFrontEnd(t *testing.T) {
	t.Run("lines", func(t *testing.T) {
		var out strings.Builder
		for _, w := range runWarnings(t, warningSession(t), Lines(&out)) {
			if !strings.Contains(out.String(), "! "+w) {
				t.Errorf("the --yes lines lack the warning %q:\n%s", w, out.String())
			}
		}
	})
	t.Run("accessible", func(t *testing.T) {
		var out strings.Builder
		for _, w := range runWarnings(t, warningSession(t), Sentences(&out)) {
			if !strings.Contains(out.String(), "Warning: "+strings.TrimSuffix(w, ".")) {
				t.Errorf("the accessible sentences lack the warning %q:\n%s", w, out.String())
			}
		}
	})
	t.Run("tui", func(t *testing.T) {
		s := warningSession(t)
		want := runWarnings(t, warningSession(t), func(sess.Event) {}) // the same warnings, from a twin run
		ctx, cancel := context.WithCancel(context.Background())
		ws := newSession(ctx, Options{Choices: s.Config().Choices, LicenseFrom: "the saved state", Engine: NewEngine(s), NoBrowser: true,
			StateFile: "/tmp/state.json"})
		t.Cleanup(func() { ws.stop(cancel) })
		tm := teatest.NewTestModel(t, newModel(ws, cancel), teatest.WithInitialTermSize(100, 40))
		w := &wizardT{t: t, tm: tm}
		w.waitFor("enter continue")
		w.key("enter")
		w.fill(append([]answer{{field: "License token"}}, enterThroughExternal...)) // the emulator has its license
		w.waitFor("enter run this step")
		w.key("a")
		w.waitFor("Done: the dashboard is embedded")
		m := w.finish()
		view := words(m.plainView())
		for _, warning := range want {
			if !strings.Contains(view, words(warning)) {
				t.Errorf("the final screen lacks the warning %q:\n%s", warning, m.plainView())
			}
		}
	})
}
