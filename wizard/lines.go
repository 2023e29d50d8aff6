package wizard

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/plan"
	sess "github.com/embedwizard/embedwizard/wizard/session"
)

// Lines is the `--yes` view of a session's events: one line per check, stack phase and step, warnings under
// the step that gave them, no per-layer noise and the boot in quarters.
func Lines(w io.Writer) func(sess.Event) {
	lastBoot := -1
	var warnings []string
	pull := stack.NewPullReporter(w, time.Now) // the pull in throttled plain lines: no \r, every 5 s or 10 %
	return func(ev sess.Event) {
		switch ev.Kind {
		case sess.CheckDone:
			switch c := ev.Check; {
			case !c.OK:
				fmt.Fprintf(w, "✗ %s: %s — %s\n", c.Name, c.Detail, c.Fix)
			case c.Warn: // passes, but the user should know (engine memory, an allowed version): the TUI shows it too
				fmt.Fprintf(w, "! %s: %s — %s\n", c.Name, c.Detail, c.Fix)
			}
		case sess.StackProgress:
			se := ev.Stack
			pull.Event(se)
			switch se.Kind {
			case stack.Creating, stack.Starting, stack.Stopping, stack.Restoring:
				fmt.Fprintln(w, "· "+cmpOr(se.Message, se.Kind.String()))
			case stack.Booting:
				if q := int(se.Boot * 4); q != lastBoot {
					lastBoot = q
					fmt.Fprintf(w, "· Metabase is starting (%.0f%%)\n", se.Boot*100)
				}
			}
		case sess.StackReady:
			fmt.Fprintln(w, "✓ "+ev.Message)
		case sess.Warning:
			if ev.Step.Step.ID == "" {
				fmt.Fprintln(w, "! "+ev.Message)
				return
			}
			warnings = append(warnings, ev.Message)
		case sess.Info:
			fmt.Fprintln(w, "· "+ev.Message)
		case sess.HostDown:
			if ev.Err != nil {
				fmt.Fprintf(w, "✗ the host app stopped: %v\n", ev.Err)
			}
		case sess.StepProgress:
			pe := ev.Step
			switch pe.Kind {
			case plan.StepAlreadyDone:
				fmt.Fprintf(w, "✓ %s: already done\n", pe.Step.Title)
			case plan.StepDone:
				fmt.Fprintf(w, "✓ %s: done\n", pe.Step.Title)
			case plan.StepVerified:
				fmt.Fprintf(w, "✓ %s: verified\n", pe.Step.Title)
			case plan.StepFailed:
				fmt.Fprintf(w, "✗ %s: failed: %v\n    fix: %s\n", pe.Step.Title, pe.Err, pe.Hint)
			default:
				return
			}
			for _, m := range warnings {
				fmt.Fprintf(w, "    ! %s\n", m)
			}
			warnings = nil
			for _, c := range pe.Checks {
				fmt.Fprintf(w, "    · %s\n", c)
			}
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// hidden stands for a password on screen: not even its length or last characters show.
const hidden = "••••••••"

// PrintStatus is `status` as text.
func PrintStatus(w io.Writer, r sess.Report) {
	row := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-10s %s\n", label, fmt.Sprintf(format, args...))
	}
	row("State", "%s", r.StateFile)
	row("Metabase", "%s  %s  health: %s", r.Metabase.URL, cmpOr(r.Metabase.Version, "version unknown"), r.Metabase.Health)
	switch c := r.Container; {
	case c == nil:
		row("Container", "none: Metabase runs elsewhere (not run by embedwizard)")
	case c.Error != "":
		row("Container", "unknown: %s", c.Error)
	case !c.Exists:
		row("Container", "none: `embedwizard up` starts it again")
	case c.Running:
		row("Container", "running for %s (%s, port %d)", c.Uptime, c.Image, c.Port)
	default:
		row("Container", "%s: `embedwizard up` starts it again", c.State)
	}
	if r.Running != nil {
		if c := r.Container; c != nil && c.Exists {
			row("Runs", "%s", r.Running)
		}
		for _, warning := range r.Running.Warnings {
			fmt.Fprintf(w, "  ! %s\n", warning)
		}
	}
	row("Host app", "%s  (serve it with `embedwizard host`)", r.HostApp.Analytics)
	if r.DashboardPath != "" {
		row("Dashboard", "%s%s", strings.TrimRight(r.Metabase.URL, "/"), r.DashboardPath)
	}
	row("Steps", "%d of %d done", r.StepsDone, len(r.Steps))
	for _, s := range r.Steps {
		mark := "·"
		if s.Done {
			mark = "✓"
		}
		fmt.Fprintf(w, "  %s %s\n", mark, s.Title)
	}
	if len(r.Tenants) > 0 {
		fmt.Fprintf(w, "Demo logins of the host app (passwords in %s, mode 0600):\n", r.StateFile)
		for _, t := range r.Tenants {
			fmt.Fprintf(w, "  %-30s %s  %s, account %d\n", t.DemoEmail, cmpOr(t.Password, hidden), t.Name, t.AccountID)
		}
	}
	if r.Metabase.Admin != "" {
		row("Admin", "%s  %s", r.Metabase.Admin, cmpOr(r.Metabase.AdminPassword, hidden))
	}
	if r.Snapshot != "" {
		row("Snapshot", "%s  (`embedwizard reset` restores it)", r.Snapshot)
	}
	if r.Checklist != nil {
		summary, items := checklistLines(*r.Checklist)
		row("Checklist", "%s", summary)
		for _, it := range items {
			fmt.Fprintf(w, "  %s\n", it)
		}
	}
	next := make([]string, len(r.Next))
	for i, n := range r.Next {
		next[i] = "embedwizard " + n
	}
	row("Next", "%s", strings.Join(next, ", "))
}

// checklistLines are Metabase's own checklist beside ours: a summary, then one line per item (Metabase's
// mark, its label, and ours; a disagreement says why). Marks: ✓ done, · not done, ! the two disagree.
func checklistLines(r sess.ChecklistReport) (summary string, items []string) {
	switch {
	case r.Error != "":
		return "Metabase's own embedding checklist could not be read: " + r.Error, nil
	case !r.Available:
		return r.Note, nil
	}
	// Short enough for the final screen's 80 columns.
	summary = fmt.Sprintf("Metabase's own checklist: %d of %d done", r.Done, len(r.Items))
	switch {
	case r.Disagreements > 0:
		summary += fmt.Sprintf(", DISAGREES with ours on %d of %d shared", r.Disagreements, r.Shared)
	case r.Shared > 0:
		summary += fmt.Sprintf(", agrees with ours on all %d shared", r.Shared)
	}
	for _, it := range r.Items {
		items = append(items, checklistItemLine(it))
	}
	return summary, items
}

// checklistItemLine is one item: "✓ Dashboard created · ours ✓ Save the X-ray (…)".
func checklistItemLine(it sess.ChecklistItem) string {
	mark := "·"
	if it.MetabaseDone {
		mark = "✓"
	}
	if it.Disagree {
		mark = "!"
	}
	line := mark + " " + it.Label + " · "
	switch {
	case it.OursOK == nil:
		line += "not compared"
	case *it.OursOK:
		line += "ours ✓ " + it.Ours
	default:
		line += "ours ✗ " + it.Ours
	}
	if it.Note != "" {
		line += ": " + it.Note
	}
	return line
}

// PrintCheck is one line of `doctor`: ✓ or ✗, and the fix under a failure.
func PrintCheck(w io.Writer, c sess.Check) {
	if c.OK && c.Warn {
		fmt.Fprintf(w, "! %-16s %s\n", c.Name, c.Detail)
		return
	}
	if c.OK {
		fmt.Fprintf(w, "✓ %-16s %s\n", c.Name, c.Detail)
		return
	}
	fmt.Fprintf(w, "✗ %-16s %s\n  %-16s fix: %s\n", c.Name, c.Detail, "", c.Fix)
}

// AskGoAhead lists the steps and asks, on in, before changing anything; only y or yes goes ahead.
func AskGoAhead(in io.Reader, out io.Writer, cfg sess.Config, steps []plan.StepInfo) bool {
	where := "in Docker (" + cfg.Stack.Image + ")"
	if cfg.External() {
		where = "at " + cfg.Config.MetabaseURL
	}
	fmt.Fprintf(out, "embedwizard will configure the Metabase %s for interactive embedding:\n", where)
	for i, st := range steps {
		fmt.Fprintf(out, "  %2d. %s\n", i+1, st.Title)
	}
	fmt.Fprint(out, "Go ahead? [y/N] ")
	if in == nil {
		return false
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}

// PrintHostApp says where the host app serves and how to sign in; passwords are masked whole.
func PrintHostApp(w io.Writer, st *plan.State, stateDir, url string) {
	fmt.Fprintf(w, "\nThe host app is serving at %s — sign in as:\n", url)
	for _, t := range st.Tenants {
		fmt.Fprintf(w, "  %-28s password: %s  (%s, account %d)\n", t.DemoUser.Email, hidden, t.Name, t.AccountID)
	}
	fmt.Fprintf(w, "The passwords are in %s (mode 0600; `embedwizard status --show-secrets` shows them); set %s to choose one.\n",
		filepath.Join(stateDir, plan.StateFile), sess.EnvDemoPassword)
	fmt.Fprintf(w, "Open %s/analytics — press Ctrl+C to stop.\n", strings.TrimRight(url, "/"))
}

// PrintDryRun is `up --dry-run`: each step in place, or the writes it would make (secrets masked).
func PrintDryRun(w io.Writer, r plan.DryRunReport) {
	for _, sp := range r.Steps {
		if sp.Done {
			fmt.Fprintf(w, "✓ %s: in place\n", sp.Step.Title)
			continue
		}
		fmt.Fprintf(w, "~ %s\n", sp.Step.Title)
		if sp.After != "" {
			fmt.Fprintf(w, "    (not read yet: %s)\n", sp.After)
		}
		for _, c := range sp.Writes {
			fmt.Fprintf(w, "    + %s\n", c)
		}
	}
}
