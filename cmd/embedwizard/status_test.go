package main

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/wizard/plan"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// configured is a Metabase emulator configured by `up --yes --configure-only`, with its state directory and
// the secrets no command may print.
type configured struct {
	srv      *metabasetest.Server
	dir      string
	hostPort int
	st       *plan.State
	secrets  map[string]string
}

func configure(t *testing.T, opts metabasetest.Options) *configured {
	t.Helper()
	srv := metabasetest.NewServer(opts)
	t.Cleanup(srv.Close)
	c := &configured{srv: srv, dir: t.TempDir(), hostPort: freePort(t)}
	code, out, errOut := upRun(t, map[string]string{"HOME": t.TempDir(), session.EnvLicense: metabasetest.TestLicenseToken}, "",
		"up", "--yes", "--configure-only", "--metabase-url", srv.URL, "--state-dir", c.dir, "--host-port", strconv.Itoa(c.hostPort))
	if code != exitOK {
		t.Fatalf("configure: exit %d\n%s\n%s", code, out, errOut)
	}
	st, err := plan.LoadState(c.dir)
	fatalIf(t, err)
	c.st = st
	c.secrets = map[string]string{"admin password": st.Config.AdminPassword, "license": metabasetest.TestLicenseToken,
		"JWT key": st.JWTSecret, "demo password": st.Tenants[0].DemoUser.Password}
	return c
}

// noSecrets fails when out shows any of the secrets.
func (c *configured) noSecrets(t *testing.T, out string) {
	t.Helper()
	for what, s := range c.secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("the output shows the %s", what)
		}
	}
}

// admin is a client signed in as the configured admin, to break things on purpose.
func (c *configured) admin(t *testing.T) *metabase.Client {
	t.Helper()
	mb, err := session.AdminClient(context.Background(), c.st)
	fatalIf(t, err)
	return mb
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	fatalIf(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestStatusJSONAfterConfigure(t *testing.T) {
	c := configure(t, metabasetest.Options{})
	code, out, errOut := upRun(t, nil, "", "status", "--json", "--state-dir", c.dir)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	c.noSecrets(t, out)
	var r statusReport
	fatalIf(t, json.Unmarshal([]byte(out), &r))
	if !r.AllDone || r.StepsDone != 11 || len(r.Steps) != 11 {
		t.Errorf("steps: all_done %v, %d of %d done; want every step done", r.AllDone, r.StepsDone, len(r.Steps))
	}
	for _, s := range r.Steps {
		if !s.Done || s.At == nil || s.Title == "" {
			t.Errorf("step %+v: want done, with a time and a title", s)
		}
	}
	if r.Metabase.URL != c.srv.URL || r.Metabase.Managed || r.Metabase.Health != "ok" || r.Metabase.Version != metabasetest.DefaultVersion {
		t.Errorf("metabase = %+v", r.Metabase)
	}
	if len(r.Tenants) != 1 || r.Tenants[0].DemoEmail != "demo.acme@example.com" || r.Tenants[0].AccountID != 28 || r.Tenants[0].GroupID == 0 {
		t.Errorf("tenants = %+v, want Customer-Acme's demo user and group", r.Tenants)
	}
	if want := "http://127.0.0.1:" + strconv.Itoa(c.hostPort) + "/analytics"; r.HostApp.Analytics != want || r.DashboardPath == "" {
		t.Errorf("host app %+v, dashboard %q; want %s and a dashboard", r.HostApp, r.DashboardPath, want)
	}
}

func TestStatusText(t *testing.T) {
	c := configure(t, metabasetest.Options{})
	tests := []struct {
		name     string
		before   func()
		wantCode int
		want     []string
	}{
		{"running", func() {}, exitOK, []string{"11 of 11 done", "health: ok", "demo.acme@example.com", hidden, "✓ Checkpoint: each tenant sees only its rows", "none: Metabase runs elsewhere"}},
		{"Metabase gone", c.srv.Close, exitOK, []string{"health: no answer", "11 of 11 done"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.before()
			code, out, errOut := upRun(t, nil, "", "status", "--state-dir", c.dir)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tt.wantCode, errOut)
			}
			for _, s := range tt.want {
				if !strings.Contains(out, s) {
					t.Errorf("status lacks %q:\n%s", s, out)
				}
			}
			c.noSecrets(t, out+errOut)
		})
	}
}

// TestEverydayCommandsExplainThemselves: --help on each, and what each says without a state or with an
// external Metabase it does not run.
func TestEverydayCommandsExplainThemselves(t *testing.T) {
	c := configure(t, metabasetest.Options{})
	empty := t.TempDir()
	tests := []struct {
		args     []string
		wantCode int
		want     string // in stdout or stderr
	}{
		{[]string{"status", "--help"}, exitOK, "Usage: embedwizard status [--json]"},
		{[]string{"logs", "--help"}, exitOK, "-tail N"},
		{[]string{"down", "--help"}, exitOK, "-volumes"},
		{[]string{"reset", "--help"}, exitOK, "-full"},
		{[]string{"host", "--help"}, exitOK, "METABASE_JWT_SHARED_SECRET"},
		{[]string{"doctor", "--help"}, exitOK, "clock skew"},
		{[]string{"version", "--help"}, exitOK, "Usage: embedwizard version"},
		{[]string{"wizard", "--help"}, exitOK, "-accessible"},
		{[]string{"status", "--bogus"}, exitUsage, "flag provided but not defined: -bogus"},
		{[]string{"logs", "--tail", "-3", "--state-dir", c.dir}, exitUsage, "--tail -3"},
		{[]string{"down", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"status", "--state-dir", empty}, exitFailed, "no state in " + empty + ": run `embedwizard`"},
		{[]string{"logs", "--state-dir", c.dir}, exitFailed, "is not run by embedwizard"},
		{[]string{"down", "--state-dir", c.dir}, exitOK, "Nothing to stop"},
		{[]string{"reset", "--state-dir", c.dir}, exitUsage, "reset has nothing safe to do there"},
		{[]string{"reset", "--fast-reset", "--state-dir", c.dir}, exitUsage, "never uses them on an instance it does not run"},
		{[]string{"reset", "--full", "--state-dir", c.dir}, exitUsage, "embedwizard up --dry-run lists what differs"},
		{[]string{"host", "--state-dir", empty}, exitFailed, "nothing to serve"},
		{[]string{"version"}, exitOK, "embedwizard devel ("},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := upRun(t, map[string]string{"HOME": empty}, "", tt.args...)
			if code != tt.wantCode || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, tt.want, out, errOut)
			}
			c.noSecrets(t, out+errOut)
		})
	}
}

// statusReport is what `status --json` prints.
type statusReport = session.Report

// hidden stands for a masked password.
const hidden = "••••••••"

// TestStatusShowSecrets: the passwords show only on request, and an external Metabase is not offered reset or
// down, which would refuse there.
func TestStatusShowSecrets(t *testing.T) {
	c := configure(t, metabasetest.Options{})
	code, out, errOut := upRun(t, nil, "", "status", "--show-secrets", "--state-dir", c.dir)
	if code != exitOK || !strings.Contains(out, c.st.Config.AdminPassword) || !strings.Contains(out, c.st.Tenants[0].DemoUser.Password) {
		t.Errorf("status --show-secrets: exit %d, want the admin's and the demo user's passwords\n%s%s", code, out, errOut)
	}
	_, out, _ = upRun(t, nil, "", "status", "--state-dir", c.dir)
	if strings.Contains(out, "embedwizard reset") || strings.Contains(out, "embedwizard down") || !strings.Contains(out, "embedwizard doctor") {
		t.Errorf("status of an external Metabase offers the wrong next commands:\n%s", out)
	}
}

// TestHostFlagsAndEnvironment: --host-port is not ignored when a state exists, and a bad environment for host
// alone is a usage error.
func TestHostFlagsAndEnvironment(t *testing.T) {
	c := configure(t, metabasetest.Options{})
	code, _, errOut := upRun(t, nil, "", "host", "--no-browser", "--host-port", strconv.Itoa(c.hostPort+1), "--state-dir", c.dir)
	if code != exitUsage || !strings.Contains(errOut, "--host-port") {
		t.Errorf("host --host-port against a state with another port: exit %d, want %d\n%s", code, exitUsage, errOut)
	}
	code, _, errOut = upRun(t, map[string]string{"METABASE_JWT_SHARED_SECRET": "short", "METABASE_SITE_URL": "http://localhost:3000"}, "",
		"host", "--no-browser", "--state-dir", t.TempDir())
	if code != exitUsage {
		t.Errorf("host alone with a bad environment: exit %d, want %d\n%s", code, exitUsage, errOut)
	}
}
