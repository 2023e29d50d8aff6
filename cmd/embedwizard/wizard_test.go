package main

import (
	"os"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// TestWizardRefusesWithoutATerminal: in CI or behind a pipe, the wizard says to use up --yes and exits with
// exitPrereq, before touching anything.
func TestWizardRefusesWithoutATerminal(t *testing.T) {
	r, w, err := os.Pipe()
	fatalIf(t, err)
	defer r.Close()
	defer w.Close()
	tests := []struct {
		name string
		args []string
		vars map[string]string
		env  func(e *env)
		want string
	}{
		{"no command, buffers", nil, nil, func(*env) {}, "standard input or output is not one"},
		{"wizard, pipes", []string{"wizard"}, nil, func(e *env) { e.Stdin, e.Stdout = r, w }, "standard input or output is not one"},
		{"CI set", []string{"wizard"}, map[string]string{"CI": "true"}, func(*env) {}, "CI is set"},
		{"flags alone go to the wizard", []string{}, nil, func(*env) {}, "standard input or output is not one"},
		{"accessible mode needs a terminal too", []string{"--accessible"}, nil, func(*env) {}, "standard input or output is not one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := metabasetest.NewServer(metabasetest.Options{})
			defer srv.Close()
			dir := t.TempDir()
			vars := map[string]string{"HOME": dir, session.EnvLicense: metabasetest.TestLicenseToken, "EMBEDWIZARD_STATE_DIR": dir}
			for k, v := range tt.vars {
				vars[k] = v
			}
			var out, errOut strings.Builder
			e := env{Stdin: strings.NewReader("\n\n\n"), Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return vars[k] }}
			tt.env(&e)
			args := tt.args
			if args != nil { // nil is `embedwizard` alone; otherwise point it at the emulator
				args = append(args, "--metabase-url", srv.URL)
			}
			code := run(t.Context(), e, args)
			if code != exitPrereq || !strings.Contains(errOut.String(), tt.want) || !strings.Contains(errOut.String(), "run `embedwizard up --yes` instead") {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitPrereq, errOut.String())
			}
			if reqs := srv.Requests(); len(reqs) > 0 {
				t.Errorf("the refused wizard called Metabase: %v", reqs)
			}
			if _, err := os.Stat(dir + "/state.json"); err == nil {
				t.Errorf("the refused wizard wrote a state file")
			}
		})
	}
}

// TestUnknownFlagIsTheWizardsError: `embedwizard --nope` is the wizard's bad flag, not an unknown command.
func TestUnknownFlagIsTheWizardsError(t *testing.T) {
	var out, errOut strings.Builder
	e := env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	if code := run(t.Context(), e, []string{"--nope"}); code != exitUsage || !strings.Contains(errOut.String(), "flag provided but not defined: -nope") {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut.String())
	}
	if strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("a flag was taken for a command:\n%s", errOut.String())
	}
}
