package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/hostapp"
	"github.com/embedwizard/embedwizard/internal/syncbuf"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
)

// serveUntilHealthy runs `embedwizard host` until its /healthz answers, then stops it like Ctrl+C would.
func serveUntilHealthy(t *testing.T, vars map[string]string, port int, args ...string) (code int, out string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	e := env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return vars[k] }}
	done := make(chan int, 1)
	go func() { done <- run(ctx, e, append([]string{"host", "--no-browser"}, args...)) }()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/healthz"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case code := <-done:
			t.Fatalf("host ended early with exit %d\n%s\n%s", code, stdout.String(), stderr.String())
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host app did not answer at %s within 10s\n%s\n%s", url, stdout.String(), stderr.String())
		}
	}
	cancel()
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("host did not stop within 10s of Ctrl+C")
	}
	return code, stdout.String() + stderr.String()
}

func TestHostFromState(t *testing.T) {
	c := configure(t, metabasetest.Options{})
	code, out := serveUntilHealthy(t, nil, c.hostPort, "--state-dir", c.dir)
	if code != exitOK || !strings.Contains(out, "demo.acme@example.com") || !strings.Contains(out, "/analytics") {
		t.Errorf("exit %d, want 0 with the demo login and the URL:\n%s", code, out)
	}
	c.noSecrets(t, out)
}

func TestHostFromEnvironment(t *testing.T) {
	port := freePort(t)
	secret := strings.Repeat("ab", 32)
	vars := map[string]string{hostapp.EnvJWTSecret: secret, hostapp.EnvSiteURL: "http://localhost:3000", hostapp.EnvDemoPassword: "demo-pw-123"}
	code, out := serveUntilHealthy(t, vars, port, "--state-dir", t.TempDir(), "--host-port", strconv.Itoa(port))
	if code != exitOK || !strings.Contains(out, "http://localhost:3000") || !strings.Contains(out, "demo.acme@example.com") {
		t.Errorf("exit %d, want 0 naming Metabase and the demo user:\n%s", code, out)
	}
	if strings.Contains(out, secret) || strings.Contains(out, "demo-pw-123") {
		t.Errorf("host printed a secret:\n%s", out)
	}

	// Half the guide's variables: the error names what is missing and why.
	code, stdout, stderr := upRun(t, map[string]string{hostapp.EnvJWTSecret: secret}, "", "host", "--state-dir", t.TempDir())
	if code != exitUsage || !strings.Contains(stderr, hostapp.EnvSiteURL+" is not set") || strings.Contains(stdout+stderr, secret) {
		t.Errorf("exit %d, want %d naming %s:\n%s%s", code, exitUsage, hostapp.EnvSiteURL, stdout, stderr)
	}
}

// TestHostVerifiesFirst: host checks Metabase now; a step undone in Metabase (not in the state file) stops it
// with exit 1 naming the step, and --unverified serves anyway.
func TestHostVerifiesFirst(t *testing.T) {
	c := configure(t, metabasetest.Options{})
	admin := c.admin(t)
	fatalIf(t, admin.SetSetting(t.Context(), "jwt-enabled", false))
	var out, errOut strings.Builder
	e := env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	if code := run(t.Context(), e, []string{"host", "--no-browser", "--state-dir", c.dir}); code != exitFailed ||
		!strings.Contains(errOut.String(), "not in place in Metabase now") || !strings.Contains(errOut.String(), "JWT") {
		t.Fatalf("host on a half-configured Metabase: exit %d, want %d naming the step\n%s", code, exitFailed, errOut.String())
	}
	code, log := serveUntilHealthy(t, nil, c.hostPort, "--state-dir", c.dir, "--unverified")
	if code != exitOK || !strings.Contains(log, "UNVERIFIED") {
		t.Errorf("host --unverified: exit %d\n%s", code, log)
	}
}
