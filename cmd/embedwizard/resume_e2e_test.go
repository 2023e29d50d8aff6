package main

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// TestE2EWizardResumesFromAnyStop stops the wizard after each step in turn, by q, Ctrl+C or SIGKILL, then runs it again in
// a new terminal: the steps done show as already done, and Enter presses alone reach the final screen.
func TestE2EWizardResumesFromAnyStop(t *testing.T) {
	bin, fake := binaries(t)
	tests := []struct {
		stop  string // q, ctrl+c or kill
		after int    // steps run before the stop
		exit  int    // the first run's exit status (-1: killed)
	}{
		{"ctrl+c", 1, exitInterrupted},
		{"q", 2, exitFailed},
		{"ctrl+c", 3, exitInterrupted},
		{"q", 4, exitFailed},
		{"kill", 5, -1},
		{"q", 6, exitFailed},
		{"kill", 7, -1},
		{"ctrl+c", 8, exitInterrupted},
		{"kill", 9, -1},
		{"q", 10, exitFailed},
	} // every stop point: after step 11 the run is done
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s after step %d", tt.stop, tt.after), func(t *testing.T) {
			mbURL := startFakeMetabase(t, fake)
			dir, hostPort := t.TempDir(), freePort(t)
			env := []string{"HOME=" + t.TempDir(), session.EnvLicense + "=" + metabasetest.TestLicenseToken, "CI="}
			args := []string{bin, "--metabase-url", mbURL, "--state-dir", dir, "--no-browser", "--host-port", strconv.Itoa(hostPort)}
			toSteps := func(term *terminal) string {
				term.waitFor("enter continue", 10*time.Second)
				term.keys("Enter")
				term.enterThroughForm("Admin email", "Host app origin", "Tenants", "Embedded Metabase UI")
				return term.waitFor("enter run this step", 10*time.Second)
			}

			first := newTerminal(t, env, args...)
			toSteps(first)
			for i := 1; i <= tt.after; i++ {
				first.keys("Enter")
				first.waitFor(fmt.Sprintf("✓ %2d ", i), 10*time.Second)
			}
			switch tt.stop {
			case "q":
				first.waitFor("enter run this step", 10*time.Second)
				first.keys("q")
			case "ctrl+c":
				first.keys("C-c")
			case "kill":
				killPaneChild(t, first)
			}
			if tt.exit >= 0 {
				if code := first.exitStatus(10 * time.Second); code != tt.exit {
					t.Errorf("first run: exit %d after %s, want %d:\n%s", code, tt.stop, tt.exit, first.screen())
				}
			}

			again := newTerminal(t, env, args...)
			s := toSteps(again)
			// The checkpoints (9 to 11) prove what Metabase does now, so every run verifies them again: a run
			// stopped after one shows the 8 configuration steps done.
			if done := min(tt.after, 8); !strings.Contains(s, fmt.Sprintf("· %d of 11 done", done)) {
				t.Errorf("the second run does not show the %d steps done:\n%s", done, s)
			}
			for presses := 0; ; presses++ {
				s := again.screen()
				if strings.Contains(s, "Done: the dashboard is embedded") {
					break
				}
				if strings.Contains(s, "failed") || presses > 40 {
					t.Fatalf("the second run did not reach the end with Enter presses (%d so far):\n%s", presses, s)
				}
				if strings.Contains(s, "enter run this step") {
					again.keys("Enter")
				}
				time.Sleep(100 * time.Millisecond)
			}
			again.keys("q")
			if code := again.exitStatus(10 * time.Second); code != exitOK {
				t.Errorf("second run: exit %d, want 0:\n%s", code, again.screen())
			}
		})
	}
}

// killPaneChild sends SIGKILL to the embedwizard process of the terminal (the child of the pane's shell).
func killPaneChild(t *testing.T, term *terminal) {
	t.Helper()
	shell := strings.TrimSpace(term.tmux("display-message", "-p", "#{pane_pid}"))
	out, err := exec.Command("pgrep", "-P", shell).Output()
	if err != nil {
		t.Fatalf("find the wizard under pane process %s: %v", shell, err)
	}
	pid, err := strconv.Atoi(strings.Fields(string(out))[0])
	fatalIf(t, err)
	fatalIf(t, syscall.Kill(pid, syscall.SIGKILL))
	term.waitFor("[exit status ", 10*time.Second)
}
