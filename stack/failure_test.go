package stack

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPortConflict holds the stack's port with a listener of this test process: Preflight and Up
// both name the holder, and once the stack runs, its own container is not a conflict.
func TestPortConflict(t *testing.T) {
	t.Parallel()
	s := newTestStack(t, Config{})
	ctx := testContext(t)
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(s.cfg.Port))
	if err != nil {
		t.Fatal(err)
	}
	holder := fmt.Sprintf("process %d (", os.Getpid())

	port := check(t, s.Preflight(ctx), "port")
	if port.OK || !strings.Contains(port.Detail, holder) || !strings.Contains(port.Fix, "--metabase-port") {
		t.Errorf("port check with the port held = %+v; want it to name %q… and suggest --metabase-port", port, holder)
	}
	_, err = s.Up(ctx, nil)
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("Up with the port held = %v, want ErrPortInUse", err)
	}
	if missing := containsAll(err.Error(), "127.0.0.1:"+strconv.Itoa(s.cfg.Port), holder, "--metabase-port"); len(missing) > 0 {
		t.Errorf("ErrPortInUse message %q lacks %q", err, missing)
	}

	ln.Close()
	mustUp(t, s, nil)
	if port := check(t, s.Preflight(ctx), "port"); !port.OK || !strings.Contains(port.Detail, "this stack's own Metabase container") {
		t.Errorf("port check with our own container on it = %+v; want OK", port)
	}
	other := newTestStack(t, Config{Port: s.cfg.Port})
	if port := check(t, other.Preflight(ctx), "port"); port.OK || !strings.Contains(port.Detail, "Docker container "+s.containerName()) {
		t.Errorf("port check of a second stack on the same port = %+v; want it to name container %s", port, s.containerName())
	}
}

func check(t *testing.T, checks []Check, name string) Check {
	t.Helper()
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("Preflight returned no %q check: %+v", name, checks)
	return Check{}
}

// TestHealthTimeout: a Metabase that keeps booting past the health timeout fails Up with the boot
// progress it reached and the container's last log lines.
func TestHealthTimeout(t *testing.T) {
	t.Parallel()
	s := newTestStack(t, Config{HealthTimeout: 3 * time.Second, Env: map[string]string{"FAKEMETABASE_BOOT_SECONDS": "20"}})
	var rec recorder
	start := time.Now()
	_, err := s.Up(testContext(t), rec.emit)
	if !errors.Is(err, ErrHealthTimeout) {
		t.Fatalf("Up = %v, want ErrHealthTimeout", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("Up took %v to give up; the health timeout is 3s", took)
	}
	if missing := containsAll(err.Error(), "within 3s", "initializing", "Last 40 log lines:\n"); len(missing) > 0 {
		t.Errorf("error %q lacks %q", err, missing)
	}
	logged := strings.SplitN(err.Error(), "Last 40 log lines:\n", 2)
	if len(logged) != 2 || strings.TrimSpace(logged[1]) == "" {
		t.Errorf("no log lines attached to %q", err)
	}
	booting := rec.of(Booting)
	if len(booting) == 0 {
		t.Fatalf("no booting events; events: %v", rec.kinds())
	}
	sawProgress := false
	for _, e := range booting {
		sawProgress = sawProgress || (e.Boot > 0 && e.Boot < 1 && strings.Contains(e.Message, "initializing"))
	}
	if !sawProgress {
		t.Errorf("booting events %+v never carried Metabase's progress", booting)
	}
	if len(rec.of(LogLine)) == 0 {
		t.Errorf("no log lines were streamed while booting; events: %v", rec.kinds())
	}
}

// TestCrash: a container that exits while booting fails Up at once with its exit code and log.
func TestCrash(t *testing.T) {
	t.Parallel()
	s := newTestStack(t, Config{HealthTimeout: time.Minute, Env: map[string]string{
		"FAKEMETABASE_BOOT_SECONDS": "600", "FAKEMETABASE_EXIT_AFTER": "1s",
	}})
	start := time.Now()
	_, err := s.Up(testContext(t), nil)
	if !errors.Is(err, ErrContainerExited) {
		t.Fatalf("Up = %v, want ErrContainerExited", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("Up noticed the exit after %v; it must not wait for the 1m health timeout", took)
	}
	if missing := containsAll(said(err), "exited with code 3", "Last 40 log lines:", "Fix: "); len(missing) > 0 {
		t.Errorf("error %q lacks %q", err, missing)
	}
	st, err := s.Status(testContext(t))
	if err != nil || st.Running || st.ExitCode != 3 || st.OOMKilled {
		t.Errorf("Status after the crash = %+v, %v; want stopped with exit code 3", st, err)
	}
}

// TestOOMKilled gets the emulator killed by the kernel while it boots: with the Go collector off
// (GOGC=off) every request it parses grows its heap (each carries a 256 KiB header), and requests are
// sent until it outgrows Docker's smallest memory limit. Up must report the kill as an OOM kill.
func TestOOMKilled(t *testing.T) {
	t.Parallel()
	s := newTestStack(t, Config{Memory: minMemory, HealthTimeout: time.Minute,
		Env: map[string]string{"GOGC": "off", "FAKEMETABASE_BOOT_SECONDS": "600"}})
	ctx := testContext(t)
	upErr := make(chan error, 1)
	go func() {
		_, err := s.Up(ctx, nil)
		upErr <- err
	}()
	client := &http.Client{Timeout: 2 * time.Second}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(s.cfg.Port)+"/api/health", nil)
	req.Header.Set("X-Ballast", strings.Repeat("x", 256<<10))
	var err error
	for done := false; !done; {
		select {
		case err = <-upErr:
			done = true
		case <-time.After(10 * time.Millisecond):
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}
	// Docker flags most OOM kills (OOMKilled), but not all on cgroup v2: both answers must name the memory
	// limit and the flag that raises it.
	st, _ := s.Status(ctx)
	if !errors.Is(err, ErrContainerExited) || !strings.Contains(said(err), "6 MiB limit") || !strings.Contains(said(err), "--memory") {
		t.Fatalf("Up of a container outgrowing %d bytes = %v; want ErrContainerExited naming the limit and --memory", minMemory, err)
	}
	if st.OOMKilled != errors.Is(err, ErrOutOfMemory) || (st.OOMKilled && !strings.Contains(err.Error(), "OOMKilled")) ||
		(!st.OOMKilled && !strings.Contains(err.Error(), "most likely out of memory")) {
		t.Errorf("Up = %v with Status.OOMKilled = %v: a flagged kill is ErrOutOfMemory, an unflagged one says it is most likely out of memory", err, st.OOMKilled)
	}
	if st.ExitCode != 137 {
		t.Errorf("Status = %+v, want exit code 137", st)
	}
}

// TestSecretsStayHidden: the license token appears in no event, error, status or check.
func TestSecretsStayHidden(t *testing.T) {
	t.Parallel()
	s := newTestStack(t, Config{LicenseToken: testToken, HealthTimeout: 2 * time.Second,
		Env: map[string]string{"FAKEMETABASE_BOOT_SECONDS": "600"}})
	ctx := testContext(t)
	var rec recorder
	_, err := s.Up(ctx, rec.emit)
	if err == nil {
		t.Fatal("Up succeeded; the test wants the timeout error with its log tail")
	}
	st, _ := s.Status(ctx)
	seen := []string{err.Error(), fmt.Sprintf("%+v %v", st, s.cfg), fmt.Sprintf("%+v", s.Preflight(ctx))}
	for _, e := range rec.events {
		seen = append(seen, e.Message)
	}
	for _, text := range seen {
		if strings.Contains(text, testToken) {
			t.Errorf("the license token shows in %q", text)
		}
	}
}
