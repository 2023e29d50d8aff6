package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/stack/stacktest"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// TestE2ECtrlCDuringBootLeavesNoOrphan: Ctrl+C while Metabase boots for the first time exits 130, and status,
// logs and down then find the container (the state was saved before it was created).
func TestE2ECtrlCDuringBootLeavesNoOrphan(t *testing.T) {
	bin, _ := binaries(t)
	docker := stacktest.Client(t)
	ctx := context.Background()
	pid := strconv.Itoa(os.Getpid())
	// The emulator's image, booting for a minute like a real first start.
	tmp, err := docker.ContainerCreate(ctx, &container.Config{Image: stacktest.Image(t), Labels: map[string]string{stacktest.Label: pid}}, nil, nil, nil, "")
	fatalIf(t, err)
	ref := "embedwizard-test/slow-boot:" + pid
	_, err = docker.ContainerCommit(ctx, tmp.ID, container.CommitOptions{Reference: ref,
		Changes: []string{"LABEL " + stacktest.Label + "=" + pid, "ENV FAKEMETABASE_BOOT_SECONDS=60"}})
	docker.ContainerRemove(ctx, tmp.ID, container.RemoveOptions{Force: true})
	fatalIf(t, err)
	t.Cleanup(func() { stacktest.RemoveImage(t, ref) })

	dir := t.TempDir()
	t.Cleanup(func() { exec.Command(bin, "down", "--volumes", "--state-dir", dir).Run() })
	up := exec.Command(bin, "up", "--yes", "--configure-only", "--image", ref, "--metabase-port", strconv.Itoa(freePort(t)),
		"--host-port", strconv.Itoa(freePort(t)), "--state-dir", dir)
	up.Env = append(os.Environ(), "HOME="+t.TempDir(), session.EnvLicense+"="+metabasetest.TestLicenseToken)
	stdout, err := up.StdoutPipe()
	fatalIf(t, err)
	fatalIf(t, up.Start())
	booting := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Metabase is starting") {
				close(booting)
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case <-booting:
	case <-time.After(60 * time.Second):
		up.Process.Kill()
		t.Fatal("up did not report Metabase booting within 60s")
	}
	fatalIf(t, up.Process.Signal(syscall.SIGINT))
	err = up.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
		t.Errorf("up after Ctrl+C during the boot: %v, want exit %d", err, exitInterrupted)
	}

	out, err := exec.Command(bin, "status", "--state-dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "running for") {
		t.Errorf("status after Ctrl+C during the boot: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "logs", "--tail", "5", "--state-dir", dir).CombinedOutput(); err != nil {
		t.Errorf("logs after Ctrl+C during the boot: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "down", "--volumes", "--state-dir", dir).CombinedOutput(); err != nil || !strings.Contains(string(out), "gone") {
		t.Errorf("down --volumes after Ctrl+C during the boot: %v\n%s", err, out)
	}
}
