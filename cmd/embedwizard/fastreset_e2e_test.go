package main

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/stack/stacktest"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// TestE2EFastReset: up --fast-reset, break the configuration, reset: Metabase's own snapshot brings it back
// without a restart (the container keeps running), and the checkpoints pass again. When the fast snapshot is
// refused (its name lost), reset falls back to the volume snapshot.
func TestE2EFastReset(t *testing.T) {
	bin, _ := binaries(t)
	docker := stacktest.Client(t)
	image := ownedImage(t, docker, stacktest.Image(t))
	dir := t.TempDir()
	t.Cleanup(func() { exec.Command(bin, "down", "--volumes", "--state-dir", dir).Run() })
	up := exec.Command(bin, "up", "--yes", "--configure-only", "--fast-reset", "--image", image, "--metabase-port", strconv.Itoa(freePort(t)),
		"--host-port", strconv.Itoa(freePort(t)), "--state-dir", dir)
	up.Env = append(os.Environ(), "HOME="+t.TempDir(), session.EnvLicense+"="+metabasetest.TestLicenseToken)
	if out, err := up.CombinedOutput(); err != nil || !strings.Contains(string(out), "fast-reset snapshot taken") {
		t.Fatalf("up --fast-reset: %v\n%s", err, out)
	}
	st, err := session.LoadState(dir)
	fatalIf(t, err)
	c := &configured{dir: dir, st: st}
	breakAndReset := func(want string) time.Duration {
		t.Helper()
		fatalIf(t, c.admin(t).SetSetting(context.Background(), "jwt-enabled", false))
		start := time.Now()
		out, err := exec.Command(bin, "reset", "--state-dir", dir).CombinedOutput()
		took := time.Since(start)
		if err != nil || !strings.Contains(string(out), want) || !strings.Contains(string(out), "back to its configured state") {
			t.Fatalf("reset: %v, want %q\n%s", err, want, out)
		}
		if out, err := exec.Command(bin, "doctor", "--state-dir", dir).CombinedOutput(); err != nil || !strings.Contains(string(out), "✓ jwt") {
			t.Errorf("after reset doctor says: %v\n%s", err, out)
		}
		return took
	}
	fast := breakAndReset("no restart")
	fatalIf(t, os.WriteFile(dir+"/"+session.FastSnapshotFile, []byte("ew_00000000000000000000000000000000\n"), 0o600))
	slow := breakAndReset("restoring the volume snapshot instead")
	t.Logf("reset: fast %s, volume fallback %s", fast.Round(time.Millisecond), slow.Round(time.Millisecond))
}
