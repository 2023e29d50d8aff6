package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/internal/syncbuf"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// TestRehearsalFromACleanHome: `embedwizard rehearse` on a machine with nothing (a fresh HOME, no Docker, no
// license) runs the whole guide against the in-process emulator and serves /analytics, saying it is a rehearsal.
func TestRehearsalFromACleanHome(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock") // proves no Docker is asked
	home, port := t.TempDir(), freePort(t)
	const demoPassword = "rehearsal-Demo-pw-42"
	vars := map[string]string{"HOME": home, session.EnvDemoPassword: demoPassword}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	e := env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return vars[k] }}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, e, []string{"rehearse", "--yes", "--no-browser", "--host-port", strconv.Itoa(port)})
	}()

	base := "http://localhost:" + strconv.Itoa(port)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var page string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case code := <-done:
			t.Fatalf("rehearse ended early with exit %d\n%s\n%s", code, stdout.String(), stderr.String())
		default:
		}
		if resp, err := c.Get(base + "/login"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				page = getPage(t, c, base+"/login")
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host app did not serve /login within 30s\n%s\n%s", stdout.String(), stderr.String())
		}
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the login page:\n%s", page)
	}
	resp, err := c.PostForm(base+"/login", url.Values{"csrf": {m[1]}, "email": {"demo.acme@example.com"}, "password": {demoPassword}, "next": {"/analytics"}})
	fatalIf(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("sign in as the demo user: %s", resp.Status)
	}
	analytics := getPage(t, c, base+"/analytics")
	if !strings.Contains(analytics, "/sso/metabase") || !strings.Contains(analytics, "emulator") {
		t.Errorf("/analytics does not embed Metabase through SSO under the rehearsal banner:\n%s", analytics)
	}
	resp, err = c.Get(base + "/sso/metabase")
	fatalIf(t, err)
	resp.Body.Close()
	sso := resp.Header.Get("Location")
	if !strings.Contains(sso, "/auth/sso?jwt=") {
		t.Fatalf("/sso/metabase redirected to %q, want the emulator's /auth/sso", sso)
	}
	resp, err = c.Get(sso)
	fatalIf(t, err)
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "/dashboard/") {
		t.Errorf("the emulator answered %s to %q, want 302 to the dashboard", resp.Status, loc)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK && code != exitInterrupted {
			t.Errorf("rehearse ended with exit %d after Ctrl+C", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("rehearse did not stop within 10s of Ctrl+C")
	}
	out := stdout.String()
	for _, want := range []string{session.RehearsalBanner, "All 11 steps passed", "/analytics", "SameSite=Lax"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestRehearsalConfigureOnlyAdvice: a rehearsal's emulator and state end with the process, so its last line
// must not send the user to `embedwizard host`, which would find neither.
func TestRehearsalConfigureOnlyAdvice(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	vars := map[string]string{"HOME": t.TempDir()}
	var stdout, stderr syncbuf.Buffer
	e := env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return vars[k] }}
	if code := run(context.Background(), e, []string{"rehearse", "--yes", "--configure-only"}); code != 0 {
		t.Fatalf("rehearse --configure-only = exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	if strings.Contains(out, "embedwizard host") || !strings.Contains(out, "without --configure-only") {
		t.Errorf("the last advice of a configure-only rehearsal is wrong:\n%s", out)
	}
}
