package wizard

import (
	"cmp"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

func TestFinal(t *testing.T) {
	tests := []struct {
		name       string
		noBrowser  bool
		keys       []string
		want       []string
		hide       []string
		wantOpened []string
		golden     bool
		external   bool
	}{
		{
			name:       "browser opened",
			want:       []string{"http://localhost:8080/analytics  opened in your browser", "demo.acme@example.com", "••••••••", "embedwizard status", "embedwizard reset", "embedwizard down", "q stop the host app"},
			hide:       []string{"s3cret-demo-pw", "s3cret-admin-pw"},
			wantOpened: []string{"http://localhost:8080/analytics"},
			golden:     true,
		},
		{
			name:      "no browser: the URL is still printed",
			noBrowser: true,
			want:      []string{"http://localhost:8080/analytics  open it in your browser"},
		},
		{
			name:      "p reveals the demo password",
			noBrowser: true,
			keys:      []string{"p"},
			want:      []string{"s3cret-demo-pw", "s3cret-admin-pw", "/home/you/.local/state/embedwizard/state.json (0600)", "p hide passwords"},
		},
		{
			name:      "an external Metabase: no reset or down offered",
			noBrowser: true,
			external:  true,
			want:      []string{"embedwizard host", "embedwizard doctor"},
			hide:      []string{"embedwizard reset", "embedwizard down"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newEngine()
			eng.plan.markDone("setup", "license", "dashboard", "embedding", "permissions", "groups", "sandbox", "jwt")
			w := startWizard(t, eng, func(o *Options) {
				o.NoBrowser = tt.noBrowser
				if tt.external {
					o.Choices.Config.MetabaseURL = "http://mb.example:3000"
				}
			})
			if tt.external {
				w.toForm()
				w.fill(enterThroughExternal)
				w.waitFor("enter run this step")
			} else {
				w.toWalk()
			}
			w.key("a")
			w.waitFor("Done: the dashboard is embedded")
			if !tt.noBrowser {
				w.waitFor("opened in your browser")
			}
			w.waitFor(" shared") // Metabase's own checklist has answered
			for _, k := range tt.keys {
				w.key(k)
				w.waitFor("hide passwords")
			}
			w.key("q")
			m := w.tm.FinalModel(t).(*model)
			if m.err != nil {
				t.Errorf("q on the final screen returned %v, want nil", m.err)
			}
			view := m.plainView()
			for _, s := range tt.want {
				if !strings.Contains(view, s) {
					t.Errorf("final screen lacks %q:\n%s", s, view)
				}
			}
			for _, s := range tt.hide {
				if strings.Contains(view, s) || strings.Contains(w.out.String(), s) {
					t.Errorf("final screen shows %q:\n%s", s, view)
				}
			}
			if _, opened, _ := eng.snapshot(); !reflect.DeepEqual(opened, tt.wantOpened) {
				t.Errorf("browser opened %v, want %v", opened, tt.wantOpened)
			}
			checkFits(t, view, 80, 24)
			if tt.golden {
				teatest.RequireEqualOutput(t, []byte(view))
			}
		})
	}
}

// enterThroughExternal presses Enter on every field of the form for an external Metabase (no port field).
var enterThroughExternal = []answer{{field: "Admin email"}, {field: "Host app origin"}, {field: "Tenants"},
	{field: "Embedded Metabase UI", after: "Configure Metabase like the guide"}}

// TestFinalHostAppStops: when the host app dies on its own, the final screen says so and r starts it again.
func TestFinalHostAppStops(t *testing.T) {
	eng := newEngine()
	hostDone := make(chan error, 1)
	eng.hostDone = hostDone
	eng.plan.markDone("setup", "license", "dashboard", "embedding", "permissions", "groups", "sandbox", "jwt")
	w := startWizard(t, eng, func(o *Options) { o.NoBrowser = true })
	w.toWalk()
	w.key("a")
	w.waitFor("Done: the dashboard is embedded")
	hostDone <- errors.New("accept tcp 127.0.0.1:8080: too many open files")
	w.waitFor("The host app stopped")
	w.waitFor("too many open files")
	w.key("r")
	w.waitFor("Done: the dashboard is embedded")
	w.finish()
}

// TestFinalChecklist: the final screen shows Metabase's own checklist beside our checkpoints, says where the
// two disagree, and says in one line when the version has none; within 80×24, and in full on a taller one.
func TestFinalChecklist(t *testing.T) {
	tests := []struct {
		name    string
		version string
		height  int
		change  func(t *testing.T, st *plan.State) // Metabase changed by hand after the run
		want    []string
		hide    []string
	}{
		{name: "64: agrees", want: []string{"Metabase's own checklist: ", "agrees with ours on all"}, hide: []string{"Dashboard created"}},
		{name: "64 on a tall terminal: every item", height: 50,
			want: []string{"agrees with ours on all", "✓ Dashboard created · ours ✓", "✓ SSO configured · ours ✓", "· Model created · not compared"}},
		{name: "57: no checklist", version: "v1.57.6", want: []string{"Metabase's own checklist: none here (Metabase 58+, embedding feature)"}, hide: []string{"agrees"}},
		{name: "group sync turned off by hand: disagrees", change: groupSyncOff,
			want: []string{"DISAGREES with ours on 1 of 5 shared", "! SSO configured: Metabase done, ours not (embedwizard doctor says why)"}},
		{name: "a disagreement on a tall terminal says why", change: groupSyncOff, height: 50,
			want: []string{"DISAGREES with ours on 1 of 5 shared", "! SSO configured · ours ✗", "not as the quick start needs it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newEngine()
			eng.plan.version = tt.version
			eng.plan.markDone("setup", "license", "dashboard", "embedding", "permissions", "groups", "sandbox", "jwt")
			if tt.change != nil {
				eng.beforeChecklist = func(st *plan.State) { tt.change(t, st) }
			}
			w := startWizard(t, eng, func(o *Options) { o.NoBrowser = true })
			height := cmp.Or(tt.height, 24)
			w.tm.Send(tea.WindowSizeMsg{Width: 80, Height: height})
			w.toWalk()
			w.key("a")
			w.waitFor("Done: the dashboard is embedded")
			w.waitFor(tt.want[0])
			w.key("q")
			view := w.tm.FinalModel(t).(*model).plainView()
			for _, s := range append(tt.want, "q stop the host app") { // the keys' line is never cut off
				if !strings.Contains(view, s) {
					t.Errorf("final screen lacks %q:\n%s", s, view)
				}
			}
			for _, s := range tt.hide {
				if strings.Contains(view, s) {
					t.Errorf("final screen shows %q:\n%s", s, view)
				}
			}
			checkFits(t, view, 80, height)
		})
	}
}

// groupSyncOff turns off JWT group sync in Metabase, as an admin would by hand: Metabase still counts SSO
// as configured, our JWT step does not.
func groupSyncOff(t *testing.T, st *plan.State) {
	ctx := context.Background()
	mb, err := metabase.New(st.Config.MetabaseURL)
	if err == nil {
		err = mb.Login(ctx, st.Config.AdminEmail, st.Config.AdminPassword)
	}
	if err == nil {
		err = mb.SetSetting(ctx, metabase.SettingJWTGroupSync, false)
	}
	if err != nil {
		t.Errorf("turn group sync off: %v", err)
	}
}
