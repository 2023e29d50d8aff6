package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/stack/stacktest"
	"github.com/embedwizard/embedwizard/wizard/plan"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// TestE2ENoOrphanWithoutState: a container whose state file is gone (a run killed at the wrong moment, a
// deleted file) is still found by its labels: status shows it, logs prints it, down --volumes removes it.
func TestE2ENoOrphanWithoutState(t *testing.T) {
	bin, _ := binaries(t)
	docker := stacktest.Client(t)
	image := ownedImage(t, docker, stacktest.Image(t))
	dir, mbPort := t.TempDir(), freePort(t)
	t.Cleanup(func() { exec.Command(bin, "down", "--volumes", "--state-dir", dir).Run() })
	cmd := exec.Command(bin, "up", "--yes", "--configure-only", "--image", image, "--metabase-port", strconv.Itoa(mbPort),
		"--host-port", strconv.Itoa(freePort(t)), "--state-dir", dir)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), session.EnvLicense+"="+metabasetest.TestLicenseToken)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	fatalIf(t, os.Remove(filepath.Join(dir, plan.StateFile)))

	for _, args := range [][]string{{"status"}, {"logs", "--tail", "5"}} {
		out, err := exec.Command(bin, append(args, "--state-dir", dir)...).CombinedOutput()
		if err != nil || strings.Contains(string(out), "no state") {
			t.Errorf("%s without a state file: %v\n%s", args[0], err, out)
		}
		if args[0] == "status" && !strings.Contains(string(out), "running for") {
			t.Errorf("status without a state file does not show the running container:\n%s", out)
		}
	}
	if out, err := exec.Command(bin, "down", "--volumes", "--state-dir", dir).CombinedOutput(); err != nil || !strings.Contains(string(out), "gone") {
		t.Errorf("down --volumes without a state file: %v\n%s", err, out)
	}
	if out, _ := exec.Command(bin, "status", "--state-dir", dir).CombinedOutput(); !strings.Contains(string(out), "no state") {
		t.Errorf("after down --volumes the container is still found:\n%s", out)
	}
}
