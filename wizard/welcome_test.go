package wizard

import (
	"strings"
	"testing"

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
			want:   []string{"✓ Docker", "✓ license     from MB_PREMIUM_EMBEDDING_TOKEN", "enter continue"},
		},
		{
			name: "port taken says what to do",
			checks: []Check{
				{Name: "Docker", OK: true, Detail: "Docker 20.10.24 answers"},
				{Name: "Port 3000", Detail: "in use by another program", Fix: "choose another Metabase port in the form, or stop that program"},
			},
			golden: true,
			want:   []string{"✗ Port 3000", "fix: choose another Metabase port", "r check again"},
		},
		{
			name: "malformed license from the environment",
			edit: func(o *Options) { o.Choices.Config.LicenseToken = "NOT-A-TOKEN" },
			want: []string{"✗ license", "Metabase's format", "fix: set MB_PREMIUM_EMBEDDING_TOKEN"},
		},
		{
			name: "no license yet: the form asks",
			edit: func(o *Options) { o.Choices.Config.LicenseToken, o.LicenseFrom = "", "" },
			want: []string{"✓ license     the form asks for it next"},
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
