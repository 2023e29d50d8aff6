package wizard

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/stack"
	sess "github.com/embedwizard/embedwizard/wizard/session"
)

// configured runs the whole quick start against a fresh emulator of version ("" = its default) and returns
// the state, as `status` would load it for a Metabase at a URL.
func configured(t *testing.T, version string) *fakePlan {
	t.Helper()
	p := newFakePlan()
	p.version = version
	var ids []string
	for _, s := range p.steps {
		ids = append(ids, s.ID)
	}
	p.markDone(ids...)
	return p
}

// TestStatusChecklist: `status` (text and --json) shows Metabase's own checklist beside our checkpoints,
// says where they disagree, and says in one line when the version has none.
func TestStatusChecklist(t *testing.T) {
	tests := []struct {
		name     string
		version  string
		change   bool // group sync turned off by hand after the run
		want     []string
		wantJSON []string
	}{
		{name: "64: beside ours, agreeing", want: []string{
			"Checklist  Metabase's own checklist: 5 of 14 done, agrees with ours on all 5 shared",
			"  ✓ Dashboard created · ours ✓ Create the Invoices dashboard",
			"  · Model created · not compared: Not part of the quick start."},
			wantJSON: []string{`"checklist":{"available":true`, `"key":"create-dashboard"`, `"metabase_done":true`, `"ours_ok":true`, `"disagreements":0`}},
		{name: "64: group sync off by hand disagrees", change: true, want: []string{
			"DISAGREES with ours on 1 of 5 shared",
			"  ! SSO configured · ours ✗ Set up JWT single sign-on: JWT sign-in is on, but not as the quick start needs it"},
			wantJSON: []string{`"disagree":true`, `"ours_ok":false`, `"disagreements":1`}},
		{name: "57: no endpoint, one line", version: "v1.57.6", want: []string{
			"Checklist  This Metabase has no embedding setup checklist to compare with"},
			wantJSON: []string{`"checklist":{"available":false,"note":"This Metabase has no embedding setup checklist`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := configured(t, tt.version)
			if tt.change {
				groupSyncOff(t, p.st)
			}
			r := sess.Status(context.Background(), t.TempDir(), p.st, false)
			if r.Checklist == nil {
				t.Fatalf("status did not ask Metabase for its checklist: health %q", r.Metabase.Health)
			}
			var out strings.Builder
			PrintStatus(&out, r)
			for _, s := range tt.want {
				if !strings.Contains(out.String(), s) {
					t.Errorf("status lacks %q:\n%s", s, out.String())
				}
			}
			if n := strings.Count(out.String(), "\nChecklist "); n != 1 {
				t.Errorf("status has %d checklist headings:\n%s", n, out.String())
			}
			_, after, _ := strings.Cut(out.String(), "\nChecklist ")
			if lines := strings.Split(after, "\n"); tt.version != "" && !strings.HasPrefix(lines[1], "Next") {
				t.Errorf("a version without the checklist says more than one line:\n%s", after)
			}
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.wantJSON {
				if !strings.Contains(string(b), s) {
					t.Errorf("status --json lacks %s:\n%s", s, b)
				}
			}
			if strings.Contains(out.String()+string(b), p.st.Config.AdminPassword) {
				t.Error("status shows the admin password without --show-secrets")
			}
		})
	}
}

// TestStatusRuns: status says exactly what the container runs: the version Metabase reports, the image and
// its digest, and the version floor's warnings for it.
func TestStatusRuns(t *testing.T) {
	digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name string
		s    stack.Status
		want []string
		hide []string
	}{
		{"pulled", stack.Status{Exists: true, Running: true, Image: "metabase/metabase-enterprise:v1.64.1", Version: "v1.64.1", ImageDigest: digest, ImageID: "sha256:feed"},
			[]string{"Runs       Metabase v1.64.1, image metabase/metabase-enterprise:v1.64.1 (" + digest + ")\n"}, []string{"  ! "}},
		{"built locally", stack.Status{Exists: true, Image: "embedwizard-test:local", ImageID: "sha256:beef"},
			[]string{"Runs       Metabase v1.64.1, image embedwizard-test:local (built locally, sha256:beef)\n"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r sess.Report
			r.Container = &sess.ContainerReport{Exists: tt.s.Exists, Running: tt.s.Running, Image: tt.s.Image, ImageDigest: tt.s.ImageDigest}
			run := sess.RunningOf(tt.s, "v1.64.1")
			r.Running = &run
			var out strings.Builder
			PrintStatus(&out, r)
			for _, s := range tt.want {
				if !strings.Contains(out.String(), s) {
					t.Errorf("status lacks %q:\n%s", s, out.String())
				}
			}
			for _, s := range tt.hide {
				if strings.Contains(out.String(), s) {
					t.Errorf("status shows %q:\n%s", s, out.String())
				}
			}
			b, _ := json.Marshal(r)
			if tt.s.ImageDigest != "" && !strings.Contains(string(b), `"image_digest":"`+tt.s.ImageDigest+`"`) {
				t.Errorf("status --json lacks the digest: %s", b)
			}
		})
	}
	t.Run("a version below its floor is warned about", func(t *testing.T) {
		warnings := sess.FloorWarnings("v1.50.0")
		if len(warnings) == 0 {
			t.Fatal("no floor warning for v1.50.0, below every floor")
		}
		var r sess.Report
		r.Running = &sess.Running{Version: "v1.50.0", Warnings: warnings}
		var out strings.Builder
		PrintStatus(&out, r)
		if !strings.Contains(out.String(), "  ! "+warnings[0]) {
			t.Errorf("status lacks the floor's warning %q:\n%s", warnings[0], out.String())
		}
	})
	t.Run("no container: no image line", func(t *testing.T) {
		var out strings.Builder
		PrintStatus(&out, sess.Report{Container: &sess.ContainerReport{}, Running: &sess.Running{Version: "v1.64.1"}})
		if strings.Contains(out.String(), "Runs ") {
			t.Errorf("status shows what runs for no container:\n%s", out.String())
		}
	})
}
