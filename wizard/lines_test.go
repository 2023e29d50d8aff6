package wizard

import (
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/stack"
	sess "github.com/embedwizard/embedwizard/wizard/session"
)

// TestLinesPull: the --yes lines say the pull in plain lines (the stack's reporter), one per update, no \r.
func TestLinesPull(t *testing.T) {
	var out strings.Builder
	show := Lines(&out)
	for _, ev := range []stack.Event{
		{Kind: stack.PullStart, Message: "pulling metabase/metabase-enterprise:latest"},
		{Kind: stack.PullDone, Message: "pulled metabase/metabase-enterprise:latest", Percent: 100},
	} {
		show(sess.Event{Kind: sess.StackProgress, Stack: ev})
	}
	got := out.String()
	if !strings.Contains(got, "metabase/metabase-enterprise") || strings.Contains(got, "\r") {
		t.Errorf("the --yes lines of a pull:\n%q", got)
	}
}

// TestLinesChecks: the --yes lines say every failing check with its fix and every check that passes with a
// warning (the engine's memory, an allowed vulnerable version), and stay quiet about the ones that simply pass.
func TestLinesChecks(t *testing.T) {
	tests := []struct {
		name  string
		check sess.Check
		want  string // "" means no line
	}{
		{"passes", sess.Check{Name: "docker", OK: true, Detail: "Docker 28.2 answers"}, ""},
		{"warns", sess.Check{Name: "memory", OK: true, Warn: true, Detail: "Docker can use 2 GiB", Fix: "give the engine at least 3 GB"},
			"! memory: Docker can use 2 GiB — give the engine at least 3 GB\n"},
		{"fails", sess.Check{Name: "port 3000", Detail: "in use", Fix: "pass --metabase-port"}, "✗ port 3000: in use — pass --metabase-port\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			Lines(&out)(sess.Event{Kind: sess.CheckDone, Check: tt.check})
			if out.String() != tt.want {
				t.Errorf("lines = %q, want %q", out.String(), tt.want)
			}
		})
	}
}
