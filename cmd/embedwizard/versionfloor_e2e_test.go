package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/stack/stacktest"
	"github.com/embedwizard/embedwizard/wizard/plan"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// versionImage is the emulator's image reporting version (a tag that names no version, like a custom build),
// marked as this process's like ownedImage.
func versionImage(t *testing.T, docker *client.Client, base, version string) string {
	t.Helper()
	ctx := context.Background()
	pid := strconv.Itoa(os.Getpid())
	tmp, err := docker.ContainerCreate(ctx, &container.Config{Image: base}, nil, nil, nil, "")
	fatalIf(t, err)
	defer docker.ContainerRemove(ctx, tmp.ID, container.RemoveOptions{Force: true})
	ref := "embedwizard-test/e2e-version:" + pid + "-" + strings.ReplaceAll(version, ".", "-")
	_, err = docker.ContainerCommit(ctx, tmp.ID, container.CommitOptions{Reference: ref,
		Changes: []string{"LABEL " + stacktest.Label + "=" + pid, "ENV FAKEMETABASE_METABASE_VERSION=" + version}})
	fatalIf(t, err)
	t.Cleanup(func() { stacktest.RemoveImage(t, ref) })
	return ref
}

// TestE2EVersionFloor: the floor against the emulator's container, in one state directory run after run: a
// tag below its floor is refused before anything is written; a custom tag is judged by the version Metabase
// reports, the refused container stopped; --allow-vulnerable runs it under a warning said more than once; a
// downgrade of the data volume is refused unless --allow-downgrade.
func TestE2EVersionFloor(t *testing.T) {
	bin, _ := binaries(t)
	docker := stacktest.Client(t)
	base := stacktest.Image(t)
	dir := t.TempDir()
	t.Cleanup(func() { exec.Command(bin, "down", "--volumes", "--state-dir", dir).Run() })
	up := upInStateDir(t, bin, dir)
	running := func() bool {
		f, ok, err := stack.Find(context.Background(), dir)
		fatalIf(t, err)
		return ok && f.Running
	}
	vulnerable := versionImage(t, docker, base, "v1.63.1")
	newer, older := versionImage(t, docker, base, "v1.64.1"), versionImage(t, docker, base, "v1.63.13")

	steps := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
		running  bool
		recorded string // plan.State.MetabaseVersion after the step, "" when not checked
	}{
		{name: "a tag below its floor, before any write", args: []string{"--image", "metabase/metabase-enterprise:v1.63.1"}, wantCode: exitPrereq,
			want: []string{"CVE-2026-72898 / GHSA-vwf4-m7j8-wcjf", "--image metabase/metabase-enterprise:v1.63.13", "--allow-vulnerable", "nothing was changed"}},
		{name: "a custom tag reporting a vulnerable version", args: []string{"--image", vulnerable}, wantCode: exitPrereq,
			want: []string{"reports v1.63.1", "it was stopped, its data volume kept", "v1.63.13"}},
		{name: "allowed", args: []string{"--image", vulnerable, "--recreate", "--allow-vulnerable"}, wantCode: exitOK,
			want: []string{"VULNERABLE (allowed by --allow-vulnerable)", "Metabase v1.63.1, image " + vulnerable}, running: true, recorded: "v1.63.1"},
		{name: "an upgrade", args: []string{"--image", newer, "--recreate"}, wantCode: exitOK, want: []string{"Metabase v1.64.1, image " + newer}, running: true, recorded: "v1.64.1"},
		{name: "a downgrade of the volume", args: []string{"--image", older, "--recreate"}, wantCode: exitPrereq,
			want: []string{"older than the Metabase that last wrote the data volume (v1.64.1)", "--allow-downgrade"}, recorded: "v1.64.1"},
		{name: "a downgrade allowed", args: []string{"--image", older, "--recreate", "--allow-downgrade"}, wantCode: exitOK,
			want: []string{"DOWNGRADE (allowed by --allow-downgrade)"}, running: true, recorded: "v1.64.1"},
	}
	for i, s := range steps {
		code, out := up(s.args...)
		if code != s.wantCode {
			t.Fatalf("%s: exit %d, want %d\n%s", s.name, code, s.wantCode, out)
		}
		for _, w := range s.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q\n%s", s.name, w, out)
			}
		}
		if running() != s.running {
			t.Errorf("%s: Metabase running %v, want %v", s.name, !s.running, s.running)
		}
		if i == 0 {
			if _, err := os.Stat(filepath.Join(dir, plan.StateFile)); err == nil {
				t.Errorf("%s: a state file was written", s.name)
			}
		}
		if strings.Contains(s.want[0], "VULNERABLE") && strings.Count(out, "VULNERABLE") < 2 {
			t.Errorf("%s: the warning shows once only:\n%s", s.name, out)
		}
		if s.recorded != "" {
			b, err := os.ReadFile(filepath.Join(dir, session.VersionsFile))
			fatalIf(t, err)
			if !strings.Contains(string(b), `"volume":"`+s.recorded+`"`) {
				t.Errorf("%s: the volume's version is recorded as %s, want %q", s.name, b, s.recorded)
			}
		}
	}
}

// TestE2EStaleLatestIsPulledAgain: a moving tag from a registry is judged by the version Metabase reports: below
// the floor it is pulled again once, and refused when the registry has nothing newer; once the registry has a
// patched one, the stale copy still on this machine (known from the last run) is pulled again before it runs,
// even under --pull missing.
func TestE2EStaleLatestIsPulledAgain(t *testing.T) {
	bin, _ := binaries(t)
	docker := stacktest.Client(t)
	base := stacktest.Image(t)
	reg := stacktest.NewRegistry(t)
	dir := t.TempDir()
	t.Cleanup(func() { exec.Command(bin, "down", "--volumes", "--state-dir", dir).Run() })
	up := upInStateDir(t, bin, dir)
	stale := versionImage(t, docker, base, "v1.60.2")
	ref := reg.Push(t, stale, "embedwizard-e2e/floor:latest")

	code, out := up("--image", ref)
	for _, w := range []string{"here is Metabase v1.60.2, below its line's security floor: pulling it again", "reports v1.60.2", "v1.60.24"} {
		if code != exitPrereq || !strings.Contains(out, w) {
			t.Fatalf("a registry with only a vulnerable latest: exit %d, output lacks %q\n%s", code, w, out)
		}
	}

	patched := versionImage(t, docker, base, "v1.64.1")
	reg.Push(t, patched, "embedwizard-e2e/floor:latest")
	// The stale copy stays here under the tag, as on a machine that pulled it weeks ago.
	fatalIf(t, docker.ImageTag(context.Background(), stale, ref))
	code, out = up("--image", ref, "--pull", "missing")
	for _, w := range []string{ref + " here is Metabase v1.60.2, below its line's security floor: up pulls it again before use", "Metabase v1.64.1, image " + ref + " (sha256:"} {
		if code != exitOK || !strings.Contains(out, w) {
			t.Fatalf("a stale latest here: exit %d, output lacks %q\n%s", code, w, out)
		}
	}
}

// upInStateDir runs `up --yes --configure-only` in dir, on two ports fixed for the test, with the license in
// the environment, and returns its exit code and output; a binary that cannot start fails the test.
func upInStateDir(t *testing.T, bin, dir string) func(args ...string) (int, string) {
	mbPort, hostPort := strconv.Itoa(freePort(t)), strconv.Itoa(freePort(t))
	return func(args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"up", "--yes", "--configure-only", "--metabase-port", mbPort, "--host-port", hostPort, "--state-dir", dir}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), session.EnvLicense+"="+metabasetest.TestLicenseToken)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("run up: %v", err)
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}
}
