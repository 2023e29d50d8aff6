package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/hostapp"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/wizard/plan"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// upRun runs `embedwizard <args>` through run with the given environment and stdin.
func upRun(t *testing.T, vars map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return vars[k] }}
	code = run(context.Background(), e, args)
	return code, out.String(), errOut.String()
}

// nonGetWrites lists the emulator's requests that changed something (not logging in, not queries).
func nonGetWrites(srv *metabasetest.Server) []string {
	var w []string
	for _, r := range srv.Requests() {
		if plan.IsWrite(r.Method, r.Path) {
			w = append(w, r.Method+" "+r.Path)
		}
	}
	return w
}

var summaryLine = regexp.MustCompile(`All 11 steps passed and every checkpoint was verified: (\d+) API calls \((\d+) writes\) in [0-9.]+m?s\.`)

func TestUpYesConfigureOnly(t *testing.T) {
	srv := metabasetest.NewServer(metabasetest.Options{})
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "state")
	vars := map[string]string{"MB_PREMIUM_EMBEDDING_TOKEN": metabasetest.TestLicenseToken, "HOME": t.TempDir()}
	args := []string{"up", "--yes", "--configure-only", "--metabase-url", srv.URL, "--state-dir", dir,
		"--tenant", "Customer-Acme=28", "--tenant", "Customer-Globex=13"}

	code, out, errOut := upRun(t, vars, "", args...)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"✓ Create the admin account: done",
		"✓ Activate the license: done", // the emulator starts unlicensed, so up writes the token
		"✓ Checkpoint: each tenant sees only its rows: verified",
		"demo.globex@example.com sees 27 Invoices rows, all of account 13",
		"a user of no tenant",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !summaryLine.MatchString(out) {
		t.Errorf("no summary line with the API calls and the time:\n%s", out)
	}
	fi, err := os.Stat(filepath.Join(dir, plan.StateFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v; want 0600", err, fi.Mode())
	}
	st, err := plan.LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"admin password": st.Config.AdminPassword, "license": metabasetest.TestLicenseToken, "JWT key": st.JWTSecret}
	for _, ts := range st.Tenants {
		secrets["demo password of "+ts.Name] = ts.DemoUser.Password
	}
	for name, s := range secrets {
		if s == "" {
			t.Errorf("the state lacks the %s", name)
		} else if strings.Contains(out+errOut, s) {
			t.Errorf("the %s appears in the output", name)
		}
	}

	// Again: every step already done, nothing written.
	srv.ResetRequests()
	code, out, errOut = upRun(t, vars, "", args...)
	if code != exitOK {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
	if w := nonGetWrites(srv); len(w) > 0 {
		t.Errorf("second run wrote %v", w)
	}
	if n := strings.Count(out, ": already done"); n != 8 {
		t.Errorf("second run: %d steps already done, want 8:\n%s", n, out)
	}
	if m := summaryLine.FindStringSubmatch(out); m == nil || m[2] != "0" {
		t.Errorf("second run summary does not say 0 writes:\n%s", out)
	}
}

func TestUpFailures(t *testing.T) {
	tests := []struct {
		name     string
		vars     map[string]string
		stdin    string
		args     []string // after up --metabase-url URL --state-dir DIR
		wantCode int
		wantOut  string // in stdout+stderr
		noWrites bool   // the emulator saw no write at all
	}{
		{"no license", nil, "", []string{"--yes", "--configure-only"}, exitPrereq,
			"✗ Activate the license: failed: Metabase has no Pro/Enterprise license", false},
		{"bad tenant", nil, "", []string{"--yes", "--tenant", "Acme"}, exitUsage, "want NAME=ACCOUNT_ID", true},
		{"bad port", nil, "", []string{"--yes", "--host-port", "70000"}, exitUsage, "between 1 and 65535", true},
		{"stray argument", nil, "", []string{"--yes", "now"}, exitUsage, "unexpected argument", true},
		{"upper-case license", map[string]string{"MB_PREMIUM_EMBEDDING_TOKEN": strings.Repeat("AB", 32)}, "",
			[]string{"--yes"}, exitUsage, "lower-case", true},
		{"answered no", nil, "n\n", []string{"--configure-only"}, exitFailed, "Nothing was changed", true},
		{"no answer", nil, "", []string{"--configure-only"}, exitFailed, "Go ahead? [y/N]", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := metabasetest.NewServer(metabasetest.Options{})
			defer srv.Close()
			vars := map[string]string{"HOME": t.TempDir()}
			for k, v := range tt.vars {
				vars[k] = v
			}
			args := append([]string{"up", "--metabase-url", srv.URL, "--state-dir", t.TempDir()}, tt.args...)
			code, out, errOut := upRun(t, vars, tt.stdin, args...)
			if code != tt.wantCode || !strings.Contains(out+errOut, tt.wantOut) {
				t.Errorf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, tt.wantOut, out, errOut)
			}
			if w := nonGetWrites(srv); tt.noWrites && len(w) > 0 {
				t.Errorf("Metabase was changed: %v", w)
			}
		})
	}
}

func TestUpAnsweredYes(t *testing.T) {
	srv := metabasetest.NewServer(metabasetest.Options{LicenseToken: metabasetest.TestLicenseToken})
	defer srv.Close()
	code, out, errOut := upRun(t, map[string]string{"HOME": t.TempDir()}, "y\n",
		"up", "--configure-only", "--metabase-url", srv.URL, "--state-dir", t.TempDir())
	if code != exitOK || !strings.Contains(out, "Go ahead? [y/N]") || !summaryLine.MatchString(out) {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// TestHostAppServesTheConfiguredState signs in to the served host app as a demo user and follows its
// /sso/metabase to Metabase, which must sign the user in and send them to the dashboard with the UI options:
// the State → host app mapping of serve.go, end to end.
func TestHostAppServesTheConfiguredState(t *testing.T) {
	srv := metabasetest.NewServer(metabasetest.Options{LicenseToken: metabasetest.TestLicenseToken})
	defer srv.Close()
	dir := t.TempDir()
	if code, out, errOut := upRun(t, map[string]string{"HOME": t.TempDir()}, "", "up", "--yes", "--configure-only",
		"--metabase-url", srv.URL, "--state-dir", dir); code != exitOK {
		t.Fatalf("configure: exit %d\n%s\n%s", code, out, errOut)
	}
	st, err := plan.LoadState(dir)
	fatalIf(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	fatalIf(t, err)
	done, err := startHostApp(ctx, st, ln, slog.New(slog.DiscardHandler))
	fatalIf(t, err)
	base := "http://" + ln.Addr().String()

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := getPage(t, c, base+"/login")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the login page:\n%s", page)
	}
	u := st.Tenants[0].DemoUser
	resp, err := c.PostForm(base+"/login", url.Values{"csrf": {m[1]}, "email": {u.Email}, "password": {u.Password}, "next": {"/analytics"}})
	fatalIf(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("login as %s: %s", u.Email, resp.Status)
	}
	resp, err = c.Get(base + "/sso/metabase")
	fatalIf(t, err)
	resp.Body.Close()
	sso := resp.Header.Get("Location")
	if !strings.HasPrefix(sso, srv.URL+"/auth/sso?jwt=") {
		t.Fatalf("/sso/metabase redirected to %q, want Metabase's /auth/sso", sso)
	}
	resp, err = c.Get(sso)
	fatalIf(t, err)
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != st.DashboardPath+"?logo=false&top_nav=false" {
		t.Errorf("Metabase answered %s to %q, want 302 to the dashboard with the UI options", resp.Status, loc)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("host app ended with %v after cancel", err)
	}
}

func getPage(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	fatalIf(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	return string(b)
}

func TestUpWithoutDockerStopsBeforeAnything(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	dir := t.TempDir()
	code, out, errOut := upRun(t, map[string]string{"HOME": t.TempDir(), "MB_PREMIUM_EMBEDDING_TOKEN": metabasetest.TestLicenseToken},
		"", "up", "--yes", "--configure-only", "--state-dir", dir)
	if code != exitPrereq || !strings.Contains(out, "✗ docker:") {
		t.Errorf("exit %d, want %d with a docker line\nstdout:\n%s\nstderr:\n%s", code, exitPrereq, out, errOut)
	}
	if strings.Contains(out+errOut, metabasetest.TestLicenseToken) {
		t.Errorf("the license token appears in the output")
	}
}

// startHostApp serves the host app of st on ln, as `up` does (session.HostConfig), until ctx ends.
func startHostApp(ctx context.Context, st *plan.State, ln net.Listener, logger *slog.Logger) (<-chan error, error) {
	app, err := hostapp.New(session.HostConfig(st, true, logger))
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: app}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	context.AfterFunc(ctx, func() { srv.Close() })
	return done, nil
}
