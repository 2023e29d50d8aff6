package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/internal/statelock"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// TestExitCodes is the README's exit code table, command by failure: every command maps the same kind of
// failure to the same code, and says what failed.
func TestExitCodes(t *testing.T) {
	noDocker := "unix://" + filepath.Join(t.TempDir(), "no-docker.sock")
	configured := configure(t, metabasetest.Options{})
	managed := t.TempDir() // a state that says embedwizard runs Metabase in Docker
	st := *configured.st
	st.Stack.Port, st.Stack.Image = 3999, "metabase/metabase-enterprise:v1.64.1"
	fatalIf(t, st.Save(managed))

	type setupFn func(t *testing.T) (args []string, vars map[string]string, ctx context.Context)
	license := map[string]string{session.EnvLicense: metabasetest.TestLicenseToken}
	tests := []struct {
		name    string
		failure string
		setup   setupFn
		want    int
		says    string
	}{
		{"up", "Docker unreachable", func(t *testing.T) ([]string, map[string]string, context.Context) {
			t.Setenv("DOCKER_HOST", noDocker)
			return []string{"up", "--yes", "--state-dir", t.TempDir()}, license, t.Context()
		}, exitPrereq, "✗ docker"},
		{"down", "Docker unreachable", func(t *testing.T) ([]string, map[string]string, context.Context) {
			t.Setenv("DOCKER_HOST", noDocker)
			return []string{"down", "--state-dir", managed}, nil, t.Context()
		}, exitPrereq, "docker"},
		{"logs", "Docker unreachable", func(t *testing.T) ([]string, map[string]string, context.Context) {
			t.Setenv("DOCKER_HOST", noDocker)
			return []string{"logs", "--state-dir", managed}, nil, t.Context()
		}, exitPrereq, "docker"},
		{"reset", "Docker unreachable", func(t *testing.T) ([]string, map[string]string, context.Context) {
			t.Setenv("DOCKER_HOST", noDocker)
			return []string{"reset", "--full", "--state-dir", managed}, license, t.Context()
		}, exitPrereq, "docker"},
		{"up", "both ports taken", func(t *testing.T) ([]string, map[string]string, context.Context) {
			t.Setenv("DOCKER_HOST", noDocker)
			mb, host := listenOn(t, 0), listenOn(t, 0)
			return []string{"up", "--yes", "--state-dir", t.TempDir(), "--metabase-port", portOf(mb.Addr().String()), "--host-port", portOf(host.Addr().String())}, license, t.Context()
		}, exitPrereq, "host app's port"},
		{"up", "no license", func(t *testing.T) ([]string, map[string]string, context.Context) {
			t.Setenv("DOCKER_HOST", noDocker)
			return []string{"up", "--yes", "--state-dir", t.TempDir()}, nil, t.Context()
		}, exitPrereq, "✗ license: no license token"},
		{"up", "license lacking features", func(t *testing.T) ([]string, map[string]string, context.Context) {
			srv := metabasetest.NewServer(metabasetest.Options{Features: []string{"embedding"}})
			t.Cleanup(srv.Close)
			return []string{"up", "--yes", "--configure-only", "--metabase-url", srv.URL, "--state-dir", t.TempDir()}, license, t.Context()
		}, exitPrereq, "license"},
		{"up", "Metabase error at the license step", func(t *testing.T) ([]string, map[string]string, context.Context) {
			srv := metabasetest.NewServer(metabasetest.Options{})
			t.Cleanup(srv.Close)
			srv.InjectFault(metabasetest.Fault{Method: http.MethodPut, Path: "/api/setting/premium-embedding-token", Status: 500, Body: "{\"message\":\"boom\"}"})
			return []string{"up", "--yes", "--configure-only", "--metabase-url", srv.URL, "--state-dir", t.TempDir()}, license, t.Context()
		}, exitFailed, "premium-embedding-token"},
		{"up", "bad flag", func(t *testing.T) ([]string, map[string]string, context.Context) {
			return []string{"up", "--metabse-url", "http://x"}, nil, t.Context()
		}, exitUsage, "did you mean --metabase-url?"},
		{"status", "bad flag", func(t *testing.T) ([]string, map[string]string, context.Context) {
			return []string{"status", "--jsn"}, nil, t.Context()
		}, exitUsage, "did you mean --json?"},
		{"doctor", "bad flag", func(t *testing.T) ([]string, map[string]string, context.Context) {
			return []string{"doctor", "--bogus"}, nil, t.Context()
		}, exitUsage, "flag provided but not defined"},
		{"stauts", "unknown command", func(t *testing.T) ([]string, map[string]string, context.Context) {
			return []string{"stauts"}, nil, t.Context()
		}, exitUsage, `did you mean status?`},
		{"up", "bad --metabase-url", func(t *testing.T) ([]string, map[string]string, context.Context) {
			return []string{"up", "--yes", "--metabase-url", "http://admin:hunter2@mb.example:3000", "--state-dir", t.TempDir()}, nil, t.Context()
		}, exitUsage, "user name or password"},
		{"up", "interrupted", func(t *testing.T) ([]string, map[string]string, context.Context) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return []string{"up", "--yes", "--configure-only", "--metabase-url", configured.srv.URL, "--state-dir", t.TempDir()}, license, ctx
		}, exitInterrupted, ""},
		{"up", "state dir held by another run", func(t *testing.T) ([]string, map[string]string, context.Context) {
			dir := t.TempDir()
			l, err := statelock.Acquire(dir, "up")
			fatalIf(t, err)
			t.Cleanup(func() { l.Release() })
			return []string{"up", "--yes", "--configure-only", "--metabase-url", configured.srv.URL, "--state-dir", dir}, license, t.Context()
		}, exitFailed, "holds the state dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.failure, func(t *testing.T) {
			args, vars, ctx := tt.setup(t)
			if vars == nil {
				vars = map[string]string{}
			}
			vars["HOME"] = t.TempDir()
			var out, errOut strings.Builder
			e := env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return vars[k] }}
			code := run(ctx, e, args)
			all := out.String() + errOut.String()
			if code != tt.want || !strings.Contains(all, tt.says) {
				t.Errorf("embedwizard %s: exit %d, want %d saying %q\n%s", strings.Join(args, " "), code, tt.want, tt.says, all)
			}
			if strings.Contains(all, "hunter2") {
				t.Errorf("a password from the URL was printed:\n%s", all)
			}
		})
	}
}

func portOf(addr string) string {
	_, p, _ := strings.Cut(addr, "127.0.0.1:")
	if _, err := strconv.Atoi(p); err != nil {
		return "0"
	}
	return p
}
