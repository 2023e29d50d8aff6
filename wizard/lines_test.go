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
