package stack

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/embedwizard/embedwizard/stack/stacktest"
)

func TestDiagnoseDaemon(t *testing.T) {
	dir := t.TempDir()
	// A socket file nobody listens on any more: what a stopped daemon leaves behind.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	desktopDir := filepath.Join(dir, ".docker", "run")
	if err := os.MkdirAll(desktopDir, 0o700); err != nil {
		t.Fatal(err)
	}
	desktopStale := filepath.Join(desktopDir, "docker.sock")
	ln, err = net.Listen("unix", desktopStale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	// Root may open any socket, so "permission denied" comes from a dialer that says so.
	denied := func(network, addr string) error {
		return &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.EACCES)}
	}

	tests := []struct {
		name   string
		host   string
		dial   func(network, addr string) error
		detail string
		fix    string
	}{
		{"socket missing", "unix://" + filepath.Join(dir, "missing.sock"), dialDaemon, "no Docker socket at", "systemctl start docker"},
		{"Docker Desktop stopped (no socket)", "unix://" + filepath.Join(dir, ".docker", "run", "gone.sock"), dialDaemon, "Docker Desktop is not running", "start Docker Desktop"},
		{"Docker Desktop stopped (stale socket)", "unix://" + desktopStale, dialDaemon, "Docker Desktop is not running", "start Docker Desktop"},
		{"daemon stopped", "unix://" + stale, dialDaemon, "exists but no daemon answers (connection refused)", "systemctl start docker"},
		{"permission denied", "unix://" + stale, denied, "permission denied on " + stale, "usermod -aG docker"},
		{"remote daemon", "tcp://10.0.0.1:2376", dialDaemon, "cannot reach the Docker daemon at tcp://10.0.0.1:2376", "DOCKER_HOST"},
		{"windows pipe", "npipe:////./pipe/docker_engine", dialDaemon, "Docker Desktop is not running", "start Docker Desktop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := diagnoseDaemon(tt.host, tt.dial)
			if c.OK || c.Name != "docker" || !strings.Contains(c.Detail, tt.detail) || !strings.Contains(c.Fix, tt.fix) {
				t.Errorf("diagnoseDaemon(%s) = %+v; want detail with %q and fix with %q", tt.host, c, tt.detail, tt.fix)
			}
		})
	}
}

// TestPreflightDaemonMissing runs Preflight and Up against a socket that does not exist: every
// check says something useful, and Up fails with ErrDaemonUnreachable and the same diagnosis.
func TestPreflightDaemonMissing(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	s, err := New(Config{StateDir: t.TempDir(), Port: stacktest.FreePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checks := s.Preflight(testContext(t))
	byName := map[string]Check{}
	for _, c := range checks {
		byName[c.Name] = c
	}
	if c := byName["docker"]; c.OK || !strings.Contains(c.Detail, "no Docker socket at "+sock) {
		t.Errorf("docker check = %+v", c)
	}
	if c := byName["memory"]; c.OK || !strings.Contains(c.Fix, "docker check first") {
		t.Errorf("memory check = %+v; want it to point at the docker check", c)
	}
	if c := byName["port"]; !c.OK {
		t.Errorf("port check = %+v; the port is free", c)
	}
	if c := byName["image"]; !c.OK || c.Detail != DefaultImage {
		t.Errorf("image check = %+v", c)
	}
	_, err = s.Up(testContext(t), nil)
	if !errors.Is(err, ErrDaemonUnreachable) || !strings.Contains(err.Error(), "no Docker socket at "+sock) || !strings.Contains(said(err), "Fix: ") {
		t.Errorf("Up without a daemon = %v; want ErrDaemonUnreachable with the diagnosis and a fix", err)
	}
}

func TestMemoryCheck(t *testing.T) {
	tests := []struct {
		name     string
		total    int64
		limit    int64
		daemonOK bool
		ctx      string
		ok, warn bool
		want     []string
	}{
		{"plenty", 8 << 30, 2 << 30, true, "default", true, false, []string{"8 GiB", "gets 2 GiB (heap 1024 MiB)"}},
		{"VM of exactly the limit", 2 << 30, 2 << 30, true, "desktop-linux", true, true, []string{"limited to 2 GiB", "at least 3 GB", "Docker Desktop: Settings > Resources", "--memory"}},
		{"colima", 1 << 30, 2 << 30, true, "colima", true, true, []string{"at least 3 GB", "colima start --memory"}},
		{"lower limit fits", 2 << 30, 1536 << 20, true, "default", true, false, []string{"gets 1536 MiB (heap 768 MiB)"}},
		{"no daemon", 0, 2 << 30, false, "default", false, false, []string{"Docker is not reachable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := memoryCheck(tt.total, tt.limit, tt.daemonOK, Endpoint{Context: tt.ctx})
			if c.OK != tt.ok || c.Warn != tt.warn || ((!c.OK || c.Warn) && c.Fix == "") {
				t.Errorf("memoryCheck = %+v; want ok=%v warn=%v and a fix unless fine", c, tt.ok, tt.warn)
			}
			if missing := containsAll(c.Detail+" Fix: "+c.Fix, tt.want...); len(missing) > 0 {
				t.Errorf("memoryCheck = %+v; lacks %q", c, missing)
			}
		})
	}
}

func TestImageCheckBadReference(t *testing.T) {
	s := newStack(Config{StateDir: "/x", Image: "Metabase:Latest:x"}, nil)
	c := s.imageCheck(testContext(t), false)
	if c.OK || !strings.Contains(c.Detail, `"Metabase:Latest:x" does not parse`) || !strings.Contains(c.Fix, "--image") {
		t.Errorf("imageCheck = %+v", c)
	}
}

func TestProcPortOwnerNamesThisProcess(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	want := "process " + strconv.Itoa(os.Getpid()) + " ("
	if got := procPortOwner(port); !strings.HasPrefix(got, want) {
		t.Errorf("procPortOwner(%d) = %q, want %q…", port, got, want)
	}
	ln.Close()
	if got := procPortOwner(port); got != "" {
		t.Errorf("procPortOwner of a closed port = %q, want empty", got)
	}
}
