package wizard

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// TestAccessible runs the plain-line wizard for screen readers: every prompt answered with Enter.
func TestAccessible(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*fakeEngine)
		wantErr string // in the error; "" for none
		want    []string
		check   func(t *testing.T, stackCalls []Choices)
	}{
		{
			name: "through to the end",
			edit: func(*fakeEngine) {},
			want: []string{"OK: Docker: Docker 20.10.24", "OK: license: from MB_PREMIUM_EMBEDDING_TOKEN.",
				"Metabase port. Where Metabase answers on this machine: http://localhost:PORT. Format: a number from 1 to 65535. Enter keeps 3000.",
				"Admin email. Metabase's first admin. Format: an email address, e.g. admin@example.com. Enter keeps admin@example.com.",
				"Tenants. Each gets a group, a sandbox and a demo user. Format: NAME=ACCOUNT_ID, comma-separated. Enter keeps Customer-Acme=28.",
				"Starting Metabase",
				"Step: Create the admin account. Everything after this is an admin setting", "POST /api/setup", "Done: Create the admin account.",
				"Verified: Checkpoint: each tenant sees only its rows: ", "all of account 28",
				"Done. The dashboard is embedded at http://localhost:8080/analytics",
				"Sign in as demo.acme@example.com for Customer-Acme (account 28)", "Press Enter to stop the host app."},
			check: func(t *testing.T, c []Choices) {
				if len(c) != 1 || !reflect.DeepEqual(c[0], defaultChoices()) {
					t.Errorf("Enter on every prompt gave %+v, want the defaults", c)
				}
			},
		},
		{
			name: "Docker down: stopped before the form and any write",
			edit: func(e *fakeEngine) {
				e.checks = []Check{{Name: "docker", Detail: "nothing answers on unix:///var/run/docker.sock", Fix: "start Docker"}}
			},
			wantErr: "preflight: docker failed; nothing was changed",
			want:    []string{"Problem: docker: nothing answers", "Fix: start Docker", "Stopped before any change: docker failed"},
			check: func(t *testing.T, c []Choices) {
				if len(c) != 0 {
					t.Errorf("the stack started: %+v", c)
				}
			},
		},
		{
			name: "port taken and kept in the form: checked again, stopped before the stack",
			edit: func(e *fakeEngine) {
				e.checks = []Check{{Name: "port", Detail: "127.0.0.1:3000 is held by another program", Fix: "stop it, or choose another port"}}
			},
			wantErr: "preflight: port failed",
			want:    []string{"Metabase port.", "Checked the prerequisites again with your answers.", "Stopped before any change: port failed"},
			check: func(t *testing.T, c []Choices) {
				if len(c) != 0 {
					t.Errorf("the stack started: %+v", c)
				}
			},
		},
		{
			name:    "a failed step",
			edit:    func(e *fakeEngine) { e.plan.failOnce["jwt"] = nil },
			wantErr: errFake,
			want:    []string{"Failed: Set up JWT single sign-on:", "500", errFake, "Fix: Metabase failed on its side"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newEngine()
			eng.licenseFrom = "MB_PREMIUM_EMBEDDING_TOKEN"
			tt.edit(eng)
			var out strings.Builder
			ctx, cancel := context.WithCancel(context.Background())
			s := newSession(ctx, Options{Input: strings.NewReader(strings.Repeat("\n", 8)), Output: &out, Accessible: true,
				Choices: defaultChoices(), LicenseFrom: "MB_PREMIUM_EMBEDDING_TOKEN", Engine: eng, NoBrowser: true})
			err := runAccessible(s)
			s.stop(cancel)
			if strings.Contains(out.String(), "want a") {
				t.Errorf("Enter on a prefilled prompt was refused:\n%s", out.String())
			}
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("runAccessible = %v, want %v\n%s", err, tt.wantErr, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if tt.check != nil {
				calls, _, _ := eng.snapshot()
				tt.check(t, calls)
			}
			for _, secret := range []string{testLicense, "s3cret-demo-pw"} {
				if strings.Contains(out.String(), secret) {
					t.Errorf("output shows a secret:\n%s", out.String())
				}
			}
		})
	}
}
