package main

// End-to-end tests: the real binary in a real terminal (tmux, 80×24), driven with nothing but the keys a
// first-time evaluator presses, against the Metabase emulator run as a process (--metabase-url) and, with
// Docker, as the stack's container image. The screens are saved as text under artifacts/screens.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
	"github.com/embedwizard/embedwizard/stack/stacktest"
	"github.com/embedwizard/embedwizard/wizard/session"
)

// screensDir is where the e2e tests leave their captures (gitignored).
var screensDir = filepath.Join("..", "..", "artifacts", "screens")

// binaries builds embedwizard and fakemetabase into a temporary directory.
func binaries(t *testing.T) (embedwizard, fakemetabase string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	dir := t.TempDir()
	for _, b := range []struct{ out, pkg string }{{"embedwizard", "."}, {"fakemetabase", "../fakemetabase"}} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b.out), b.pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return filepath.Join(dir, "embedwizard"), filepath.Join(dir, "fakemetabase")
}

// terminal is a tmux session of its own (own socket, 80×24) running one command; the pane stays after the
// command exits so that its last screen and exit status can be read.
type terminal struct {
	t    *testing.T
	sock string
}

func newTerminal(t *testing.T, env []string, args ...string) *terminal {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("the end-to-end tests drive the binary in tmux, which is not installed: %v", err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "tmux.conf")
	fatalIf(t, os.WriteFile(conf, []byte("set -g remain-on-exit on\n"), 0o600))
	term := &terminal{t: t, sock: filepath.Join(dir, "tmux.sock")}
	// Secrets travel in the environment of the tmux server, which the command inherits: never in arguments.
	tmuxArgs := []string{"-S", term.sock, "-f", conf, "new-session", "-d", "-x", "80", "-y", "24", "sh", "-c", `"$@"; echo "[exit status $?]"`, "sh"}
	cmd := exec.Command("tmux", append(tmuxArgs, args...)...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-S", term.sock, "kill-server").Run() })
	return term
}

func (term *terminal) tmux(args ...string) string {
	term.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", term.sock}, args...)...).CombinedOutput()
	if err != nil {
		term.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// screen is what the terminal shows now.
func (term *terminal) screen() string { return term.tmux("capture-pane", "-p") }

// waitFor polls the screen until it shows text, and returns that screen.
func (term *terminal) waitFor(text string, timeout time.Duration) string {
	term.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := term.screen()
		if strings.Contains(s, text) {
			return s
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the terminal did not show %q within %s; it shows:\n%s", text, timeout, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (term *terminal) keys(keys ...string) { term.tmux(append([]string{"send-keys"}, keys...)...) }

// exitLine is what the wrapper shell prints when the command ends: tmux's own pane_dead_status is not
// always filled in.
var exitLine = regexp.MustCompile(`\[exit status (\d+)\]`)

// exitStatus waits for the command to end and returns its exit status.
func (term *terminal) exitStatus(timeout time.Duration) int {
	term.t.Helper()
	m := exitLine.FindStringSubmatch(term.waitFor("[exit status ", timeout))
	n, err := strconv.Atoi(m[1])
	fatalIf(term.t, err)
	return n
}

// save keeps a screen as artifacts/screens/name.txt.
func save(t *testing.T, name, screen string) {
	t.Helper()
	fatalIf(t, os.MkdirAll(screensDir, 0o755))
	fatalIf(t, os.WriteFile(filepath.Join(screensDir, name+".txt"), []byte(screen), 0o644))
}

// enterThroughForm presses Enter on each field as it takes the focus (huh marks it with ┃).
func (term *terminal) enterThroughForm(fields ...string) string {
	term.t.Helper()
	var first string
	for i, f := range fields {
		s := term.waitFor("┃ "+f, 10*time.Second)
		if i == 0 {
			first = s
		}
		term.keys("Enter")
	}
	return first
}

// statusJSON runs `embedwizard status --json`.
func statusJSON(t *testing.T, bin, dir string) statusReport {
	t.Helper()
	out, err := exec.Command(bin, "status", "--json", "--state-dir", dir).Output()
	fatalIf(t, err)
	var r statusReport
	fatalIf(t, json.Unmarshal(out, &r))
	return r
}

// startFakeMetabase runs the emulator binary on a free port and waits until it is healthy.
func startFakeMetabase(t *testing.T, bin string) string {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(bin, "--addr", "127.0.0.1:"+strconv.Itoa(port))
	fatalIf(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(url + "/api/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("fakemetabase did not answer at %s within 10s", url)
		}
	}
}

// TestE2EWizardAgainstTheEmulator is "Done when": from `embedwizard` to the embedded dashboard with only
// Enter presses (the license from the environment), then `a` to run all steps, then q.
func TestE2EWizardAgainstTheEmulator(t *testing.T) {
	bin, fake := binaries(t)
	mbURL := startFakeMetabase(t, fake)
	dir, hostPort := t.TempDir(), freePort(t)
	term := newTerminal(t, []string{"HOME=" + t.TempDir(), session.EnvLicense + "=" + metabasetest.TestLicenseToken, "CI="},
		bin, "wizard", "--metabase-url", mbURL, "--state-dir", dir, "--no-browser", "--host-port", strconv.Itoa(hostPort))

	welcome := term.waitFor("enter continue", 10*time.Second)
	start := time.Now()
	save(t, "welcome", welcome)
	term.keys("Enter")
	save(t, "form", term.enterThroughForm("Admin email", "Host app origin", "Tenants", "Embedded Metabase UI"))

	walk := term.waitFor("enter run this step", 10*time.Second)
	save(t, "walkthrough", walk)
	term.keys("Enter") // one step by Enter, the rest with a
	save(t, "walkthrough-step1", term.waitFor("✓  1 Create the admin account  done", 10*time.Second))
	term.keys("a")
	final := term.waitFor("q stop the host app", 30*time.Second)
	elapsed := time.Since(start)
	save(t, "final", final)
	fatalIf(t, os.WriteFile(filepath.Join(screensDir, "timing-emulator.txt"),
		[]byte(fmt.Sprintf("first frame to final screen against the emulator: %s\n", elapsed.Round(time.Millisecond))), 0o644))
	t.Logf("first frame to final screen: %s", elapsed)

	for _, want := range []string{"Done: the dashboard is embedded", "demo.acme@example.com", "••••••••", "/analytics", "embedwizard doctor"} {
		if !strings.Contains(final, want) {
			t.Errorf("final screen lacks %q:\n%s", want, final)
		}
	}
	if strings.Contains(final, "embedwizard reset") || strings.Contains(final, "embedwizard down") {
		t.Errorf("final screen offers reset or down, which refuse on a Metabase embedwizard does not run:\n%s", final)
	}
	analytics := "http://127.0.0.1:" + strconv.Itoa(hostPort)
	if resp, err := http.Get(analytics + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the host app does not answer at %s while the final screen shows: %v", analytics, err)
	} else {
		resp.Body.Close()
	}

	term.keys("q")
	if code := term.exitStatus(10 * time.Second); code != exitOK {
		t.Errorf("exit %d after q, want 0:\n%s", code, term.screen())
	}
	if _, err := http.Get(analytics + "/healthz"); err == nil {
		t.Errorf("the host app still answers after q")
	}
	if resp, err := http.Get(mbURL + "/api/health"); err != nil {
		t.Errorf("Metabase stopped with the wizard: %v", err)
	} else {
		resp.Body.Close()
	}
	if r := statusJSON(t, bin, dir); !r.AllDone || r.StepsDone != len(r.Steps) || len(r.Steps) == 0 {
		t.Errorf("status --json after the wizard: %d of %d steps done", r.StepsDone, len(r.Steps))
	}
	for _, s := range []string{welcome, final} {
		if strings.Contains(s, metabasetest.TestLicenseToken) {
			t.Errorf("a screen shows the license token")
		}
	}
}

// TestE2EWizardCtrlCResumes interrupts the walk-through with Ctrl+C; the terminal is given back, the exit
// status says interrupted, and the next run resumes with the finished steps shown as done.
func TestE2EWizardCtrlCResumes(t *testing.T) {
	bin, fake := binaries(t)
	mbURL := startFakeMetabase(t, fake)
	dir, hostPort := t.TempDir(), freePort(t)
	env := []string{"HOME=" + t.TempDir(), session.EnvLicense + "=" + metabasetest.TestLicenseToken, "CI="}
	args := []string{bin, "wizard", "--metabase-url", mbURL, "--state-dir", dir, "--no-browser", "--host-port", strconv.Itoa(hostPort)}

	term := newTerminal(t, env, args...)
	term.waitFor("enter continue", 10*time.Second)
	term.keys("Enter")
	term.enterThroughForm("Admin email", "Host app origin", "Tenants", "Embedded Metabase UI")
	term.waitFor("enter run this step", 10*time.Second)
	term.keys("Enter")
	term.waitFor("✓  1 Create the admin account  done", 10*time.Second)
	term.keys("C-c")
	if code := term.exitStatus(10 * time.Second); code != exitInterrupted {
		t.Errorf("exit %d after Ctrl+C, want %d:\n%s", code, exitInterrupted, term.screen())
	}
	if s := term.screen(); !strings.Contains(s, "run embedwizard again to resume") {
		t.Errorf("after Ctrl+C the terminal lacks how to resume:\n%s", s)
	}

	again := newTerminal(t, env, args...)
	again.waitFor("enter continue", 10*time.Second)
	again.keys("Enter")
	again.enterThroughForm("Admin email", "Host app origin", "Tenants", "Embedded Metabase UI")
	s := again.waitFor("already done", 10*time.Second)
	if !strings.Contains(s, "✓  1 Create the admin account  already done") {
		t.Errorf("the second run does not show the first step as done:\n%s", s)
	}
	again.keys("C-c")
	again.exitStatus(10 * time.Second)
}

// TestE2EWizardWithDocker runs the stack with the emulator's container image, then checks that reset brings
// a configured Metabase back and that down --volumes leaves nothing behind.
func TestE2EWizardWithDocker(t *testing.T) {
	bin, _ := binaries(t)
	docker := stacktest.Client(t)
	// An image only a registry has, with a layer big enough that the pull shows on the stack screen.
	local := ownedImage(t, docker, stacktest.Derive(t, stacktest.Image(t), 64<<20))
	image := stacktest.NewRegistry(t).Push(t, local, "embedwizard-e2e/metabase")
	t.Cleanup(func() { stacktest.RemoveImage(t, image) })
	dir, mbPort, hostPort := t.TempDir(), freePort(t), freePort(t)
	t.Cleanup(func() {
		if t.Failed() { // what the container said, before it goes
			for _, args := range [][]string{{"status", "--state-dir", dir}, {"logs", "--tail", "30", "--state-dir", dir}} {
				out, _ := exec.Command(bin, args...).CombinedOutput()
				t.Logf("embedwizard %s:\n%s", args[0], out)
			}
		}
		exec.Command(bin, "down", "--volumes", "--state-dir", dir).Run()
	})
	env := []string{"HOME=" + t.TempDir(), session.EnvLicense + "=" + metabasetest.TestLicenseToken, "CI="}
	term := newTerminal(t, env, bin, "wizard", "--image", image, "--metabase-port", strconv.Itoa(mbPort),
		"--host-port", strconv.Itoa(hostPort), "--state-dir", dir, "--no-browser")

	save(t, "docker-welcome", term.waitFor("enter continue", 30*time.Second))
	start := time.Now()
	term.keys("Enter")
	term.enterThroughForm("Metabase port", "Admin email", "Host app origin", "Tenants", "Embedded Metabase UI")
	save(t, "docker-stack", term.waitFor("Starting Metabase", 10*time.Second))
	term.waitFor("enter run this step", 2*time.Minute)
	term.keys("a")
	final := term.waitFor("q stop the host app", 3*time.Minute)
	save(t, "docker-final", final)
	t.Logf("Docker: first frame to final screen %s", time.Since(start))
	term.keys("q")
	if code := term.exitStatus(30 * time.Second); code != exitOK {
		t.Fatalf("exit %d after q:\n%s", code, term.screen())
	}
	r := statusJSON(t, bin, dir)
	if !r.AllDone || r.Container == nil || !r.Container.Running || r.Snapshot == "" {
		t.Fatalf("status after the wizard: all done %v, container %+v, snapshot %q", r.AllDone, r.Container, r.Snapshot)
	}

	// Break the configuration, then reset: the snapshot brings it back.
	c := &configured{dir: dir}
	st, err := session.LoadState(dir)
	fatalIf(t, err)
	c.st = st
	fatalIf(t, c.admin(t).SetSetting(context.Background(), "jwt-enabled", false))
	if out, _ := exec.Command(bin, "doctor", "--state-dir", dir).Output(); !strings.Contains(string(out), "✗ jwt") {
		t.Fatalf("doctor does not see JWT switched off:\n%s", out)
	}
	resetStart := time.Now()
	out, err := exec.Command(bin, "reset", "--state-dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Metabase is back to its configured state") {
		t.Fatalf("reset: %v\n%s", err, out)
	}
	t.Logf("reset took %s", time.Since(resetStart))
	if out, err := exec.Command(bin, "doctor", "--state-dir", dir).CombinedOutput(); err != nil || !strings.Contains(string(out), "✓ jwt") {
		t.Errorf("after reset doctor says: %v\n%s", err, out)
	}

	// down --volumes: no container, no volume left.
	st, err = session.LoadState(dir)
	fatalIf(t, err)
	if out, err := exec.Command(bin, "down", "--volumes", "--state-dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("down --volumes: %v\n%s", err, out)
	}
	ctx := context.Background()
	cs, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "embedwizard.statedir="+dir))})
	fatalIf(t, err)
	vs, err := docker.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("name", st.Stack.Volume))})
	fatalIf(t, err)
	if len(cs) > 0 || len(vs.Volumes) > 0 {
		t.Errorf("down --volumes left %d containers and %d volumes", len(cs), len(vs.Volumes))
	}
}

// ownedImage re-labels base with this process's id. The binary cannot label the container it creates, but the
// container inherits its image's labels: so marked, a container this test leaves behind when it crashes is
// removed by the next stacktest sweep, like the stack tests' own.
func ownedImage(t *testing.T, docker *client.Client, base string) string {
	t.Helper()
	ctx := context.Background()
	pid := strconv.Itoa(os.Getpid())
	tmp, err := docker.ContainerCreate(ctx, &container.Config{Image: base, Labels: map[string]string{stacktest.Label: pid}}, nil, nil, nil, "")
	fatalIf(t, err)
	defer docker.ContainerRemove(ctx, tmp.ID, container.RemoveOptions{Force: true})
	ref := "embedwizard-test/e2e:" + pid
	_, err = docker.ContainerCommit(ctx, tmp.ID, container.CommitOptions{Reference: ref, Changes: []string{"LABEL " + stacktest.Label + "=" + pid}})
	fatalIf(t, err)
	t.Cleanup(func() { stacktest.RemoveImage(t, ref) })
	return ref
}
