package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/plan"
	"github.com/embedwizard/embedwizard/wizard/session"
)

func resolveArgs(t *testing.T, vars map[string]string, args ...string) (resolved, error) {
	t.Helper()
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f setupFlags
	e := env{Getenv: func(k string) string { return vars[k] }}
	f.register(fs, e)
	if err := fs.Parse(args); err != nil {
		return resolved{}, err
	}
	return f.resolve(e)
}

// setup is what the flags resolve to.
type resolved = session.Config

func TestResolveSetup(t *testing.T) {
	saved := &plan.State{
		Config: plan.Config{HostAppURL: "http://localhost:9999", AdminEmail: "boss@example.com", AdminPassword: "saved-pw-1",
			LicenseToken: strings.Repeat("c", 64), Tenants: []plan.Tenant{{Name: "Customer-Globex", AccountID: 13}}},
		Stack: plan.StackState{Port: 3333, Image: "metabase/metabase-enterprise:v1.63.1"},
	}
	external := &plan.State{Config: plan.Config{MetabaseURL: "https://bi.example.com", AdminPassword: "saved-pw-1"}}
	licenseFile := filepath.Join(t.TempDir(), "license")
	fatalIf(t, os.WriteFile(licenseFile, []byte(strings.Repeat("d", 64)+"\n"), 0o600))

	tests := []struct {
		name  string
		state *plan.State
		vars  map[string]string
		args  []string
		check func(t *testing.T, s resolved)
	}{
		{"defaults", nil, nil, nil, func(t *testing.T, s resolved) {
			wantEq(t, "host app URL", s.Config.HostAppURL, "http://localhost:8080")
			wantEq(t, "site URL", s.Stack.SiteURL, "http://localhost:3000")
			wantEq(t, "image", s.Stack.Image, stack.DefaultImage)
			wantEq(t, "password from", s.AdminPasswordFrom, "generated")
			wantEq(t, "license from", s.LicenseFrom, "")
			if s.External() || len(s.Config.AdminPassword) < 20 {
				t.Errorf("external %v, password length %d", s.External(), len(s.Config.AdminPassword))
			}
		}},
		{"ports from flags", nil, nil, []string{"--host-port", "9090", "--metabase-port", "3100"}, func(t *testing.T, s resolved) {
			wantEq(t, "host app URL", s.Config.HostAppURL, "http://localhost:9090")
			wantEq(t, "site URL", s.Stack.SiteURL, "http://localhost:3100")
		}},
		{"secrets from the environment", nil, map[string]string{session.EnvAdminPassword: "env-pw-1", session.EnvLicense: " " + strings.Repeat("e", 64) + "\n",
			session.EnvDemoPassword: "demo-pw-1"}, nil, func(t *testing.T, s resolved) {
			wantEq(t, "password", s.Config.AdminPassword, "env-pw-1")
			wantEq(t, "license", s.Config.LicenseToken, strings.Repeat("e", 64))
			wantEq(t, "stack license", s.Stack.LicenseToken, strings.Repeat("e", 64))
			wantEq(t, "license from", s.LicenseFrom, session.EnvLicense)
			wantEq(t, "demo password", s.Config.DemoPassword, "demo-pw-1")
		}},
		{"license from a file", nil, nil, []string{"--license-file", licenseFile}, func(t *testing.T, s resolved) {
			wantEq(t, "license", s.Config.LicenseToken, strings.Repeat("d", 64))
			wantEq(t, "license from", s.LicenseFrom, "--license-file "+licenseFile)
		}},
		{"saved state", saved, nil, nil, func(t *testing.T, s resolved) {
			wantEq(t, "host app URL", s.Config.HostAppURL, "http://localhost:9999")
			wantEq(t, "admin email", s.Config.AdminEmail, "boss@example.com")
			wantEq(t, "password", s.Config.AdminPassword, "saved-pw-1")
			wantEq(t, "license", s.Config.LicenseToken, strings.Repeat("c", 64))
			wantEq(t, "site URL", s.Stack.SiteURL, "http://localhost:3333")
			wantEq(t, "image", s.Stack.Image, "metabase/metabase-enterprise:v1.63.1")
			wantEq(t, "tenant", s.Config.Tenants[0].Name, "Customer-Globex")
			if s.External() {
				t.Errorf("a stack run's saved URL made Metabase external")
			}
		}},
		{"flags and environment beat the saved state", saved, map[string]string{session.EnvAdminPassword: "env-pw-1"},
			[]string{"--host-port", "8181", "--tenant", "Customer-Acme=28", "--admin-email", "me@example.com"}, func(t *testing.T, s resolved) {
				wantEq(t, "host app URL", s.Config.HostAppURL, "http://localhost:8181")
				wantEq(t, "password", s.Config.AdminPassword, "env-pw-1")
				wantEq(t, "admin email", s.Config.AdminEmail, "me@example.com")
				wantEq(t, "tenant", s.Config.Tenants[0].Name, "Customer-Acme")
			}},
		{"saved external Metabase", external, nil, nil, func(t *testing.T, s resolved) {
			wantEq(t, "Metabase URL", s.Config.MetabaseURL, "https://bi.example.com")
			if !s.External() {
				t.Errorf("not external")
			}
		}},
		{"Metabase at 127.0.0.1 keeps the host app on the same site", nil, nil, []string{"--metabase-url", "http://127.0.0.1:3000/"}, func(t *testing.T, s resolved) {
			wantEq(t, "Metabase URL", s.Config.MetabaseURL, "http://127.0.0.1:3000")
			wantEq(t, "host app URL", s.Config.HostAppURL, "http://127.0.0.1:8080")
		}},
		{"API key instead of a password", nil, map[string]string{session.EnvAPIKey: "mb_key"}, nil, func(t *testing.T, s resolved) {
			wantEq(t, "password", s.Config.AdminPassword, "")
			wantEq(t, "API key", s.Config.APIKey, "mb_key")
		}},
		{"JWT key the host app already uses", nil, map[string]string{session.EnvJWTSecret: strings.Repeat("f", 64)}, nil, func(t *testing.T, s resolved) {
			wantEq(t, "JWT key", s.State.JWTSecret, strings.Repeat("f", 64))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.state != nil {
				fatalIf(t, tt.state.Save(dir))
			}
			s, err := resolveArgs(t, tt.vars, append([]string{"--state-dir", dir}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

func TestResolveSetupErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--metabase-port", "0"}, "--metabase-port 0"},
		{[]string{"--license-file", "/nonexistent/license"}, "--license-file"},
		{[]string{"--metabase-url", "localhost:3000"}, "give http(s)://host"},
		{[]string{"--tenant", "Acme=x"}, "positive whole number"},
	}
	for _, tt := range tests {
		_, err := resolveArgs(t, nil, append([]string{"--state-dir", t.TempDir()}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestDefaultStateDir(t *testing.T) {
	tests := []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{session.EnvStateDir: "/srv/ew", "XDG_STATE_HOME": "/x", "HOME": "/h"}, "/srv/ew"},
		{map[string]string{"XDG_STATE_HOME": "/x", "HOME": "/h"}, "/x/embedwizard"},
		{map[string]string{"HOME": "/h"}, "/h/.local/state/embedwizard"},
	}
	for _, tt := range tests {
		if got := session.DefaultStateDir(func(k string) string { return tt.vars[k] }); got != tt.want {
			t.Errorf("session.DefaultStateDir(%v) = %q, want %q", tt.vars, got, tt.want)
		}
	}
}

func wantEq(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func fatalIf(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
