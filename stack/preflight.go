package stack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/distribution/reference"
)

const (
	preflightTimeout = 10 * time.Second
	dialTimeout      = 2 * time.Second
)

// Check is one diagnosed prerequisite. When OK is false, Fix says what to do.
type Check struct {
	Name        string
	OK          bool
	Warn        bool // OK, but worth telling: the run goes on and may suffer (too little memory)
	Detail, Fix string
}

// Preflight diagnoses what Up needs: a reachable Docker daemon, a free port (or one held by this
// stack's own container), enough memory for Metabase, and an image reference that parses. It never
// changes anything.
func (s *Stack) Preflight(ctx context.Context) []Check {
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	info, err := s.eng.info(ctx)
	daemon := Check{Name: "docker", OK: err == nil}
	switch {
	case err == nil:
		daemon.Detail = fmt.Sprintf("Docker Engine %s (%s) through %s", info.ServerVersion, info.OSType, s.Endpoint())
	case isUnreachable(err):
		daemon = s.unreachable()
	default:
		daemon.Detail = fmt.Sprintf("the Docker daemon at %s answered with an error: %v", s.eng.host(), err)
		daemon.Fix = "restart Docker; if it persists, see what `docker info` says"
	}
	return []Check{daemon, s.portCheck(ctx), memoryCheck(info.MemTotal, s.cfg.Memory, daemon.OK, s.Endpoint()), s.imageCheck(ctx, daemon.OK)}
}

// unreachable diagnoses a daemon that does not answer, naming the Docker context and endpoint used
// and what to try for that context first.
func (s *Stack) unreachable() Check {
	c := diagnoseDaemon(s.eng.host(), dialDaemon)
	ep := s.Endpoint()
	c.Detail = "through " + ep.String() + ": " + c.Detail
	if fix := ep.Fix(); fix != "" {
		c.Fix = fix + "; or " + c.Fix
	}
	return c
}

// diagnoseDaemon tells the ways a daemon can be unreachable apart by looking at its socket.
func diagnoseDaemon(host string, dial func(network, addr string) error) Check {
	c := Check{Name: "docker"}
	u, err := url.Parse(host)
	if err != nil {
		c.Detail, c.Fix = fmt.Sprintf("DOCKER_HOST %q is not a URL: %v", host, err), "set DOCKER_HOST to e.g. unix:///var/run/docker.sock, or unset it"
		return c
	}
	switch u.Scheme {
	case "unix":
	case "npipe":
		c.Detail, c.Fix = "Docker Desktop is not running (nothing answers on "+host+")", "start Docker Desktop and wait until it shows \"Engine running\""
		return c
	default:
		c.Detail = "cannot reach the Docker daemon at " + host
		c.Fix = "check DOCKER_HOST (and DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) and that the daemon there is running"
		return c
	}
	path := u.Path
	desktop := runtime.GOOS != "linux" || strings.Contains(path, "/.docker/")
	_, statErr := os.Stat(path)
	var dialErr error
	if statErr == nil {
		dialErr = dial("unix", path)
	}
	switch {
	case errors.Is(statErr, fs.ErrNotExist) && desktop:
		c.Detail = "Docker Desktop is not running: its socket " + path + " does not exist"
		c.Fix = "start Docker Desktop and wait until it shows \"Engine running\", then try again"
	case errors.Is(statErr, fs.ErrNotExist):
		c.Detail = "no Docker socket at " + path + ": Docker Engine is not installed or not running"
		c.Fix = "start it (`sudo systemctl start docker`) or install it (https://docs.docker.com/engine/install/); if your daemon listens elsewhere, set DOCKER_HOST"
	case errors.Is(statErr, fs.ErrPermission) || errors.Is(dialErr, fs.ErrPermission):
		c.Detail = "permission denied on " + path + ": your user may not talk to Docker"
		c.Fix = "add yourself to the docker group (`sudo usermod -aG docker $USER`), then log out and back in or run `newgrp docker`"
	case dialErr != nil && desktop:
		c.Detail = "Docker Desktop is not running: nothing answers on " + path
		c.Fix = "start Docker Desktop and wait until it shows \"Engine running\", then try again"
	case dialErr != nil:
		c.Detail = fmt.Sprintf("the socket %s exists but no daemon answers (%v): Docker has stopped", path, unwrapSyscall(dialErr))
		c.Fix = "start it again: `sudo systemctl start docker` (or `sudo service docker start`)"
	case statErr != nil:
		c.Detail, c.Fix = fmt.Sprintf("cannot inspect %s: %v", path, statErr), "check that DOCKER_HOST points to the Docker socket"
	default:
		c.Detail = "the daemon at " + host + " accepts connections but does not answer the API"
		c.Fix = "restart Docker"
	}
	return c
}

func dialDaemon(network, addr string) error {
	conn, err := net.DialTimeout(network, addr, dialTimeout)
	if err == nil {
		conn.Close()
	}
	return err
}

// unwrapSyscall shortens "dial unix /x: connect: connection refused" to its cause.
func unwrapSyscall(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}

func (s *Stack) portCheck(ctx context.Context) Check {
	c := Check{Name: "port", OK: true}
	free, ours, holder := s.portUse(ctx)
	addr := "127.0.0.1:" + strconv.Itoa(s.cfg.Port)
	switch {
	case free:
		c.Detail = addr + " is free"
	case ours:
		c.Detail = addr + " is held by " + holder
	default:
		c.OK = false
		c.Detail = addr + " is held by " + holder
		c.Fix = "stop it, or choose another port for Metabase with --metabase-port"
	}
	return c
}

// portUse says whether the port is free, held by this stack's own running container, or by whom.
func (s *Stack) portUse(ctx context.Context) (free, ours bool, holder string) {
	if err := ProbePort(s.cfg.Port); err == nil || !errors.Is(err, ErrPortInUse) {
		return true, false, "" // free, or e.g. a privileged port: Docker binds it as root, not us
	}
	if st, found, err := s.find(ctx); err == nil && found && st.Running && st.HostPort == s.cfg.Port {
		return false, true, "this stack's own Metabase container " + st.Name
	}
	return false, false, s.portHolder(ctx)
}

// portFree returns an ErrPortInUse naming the holder unless the port is free or already ours.
func (s *Stack) portFree(ctx context.Context) error {
	free, ours, holder := s.portUse(ctx)
	if free || ours {
		return nil
	}
	return fmt.Errorf("%w: 127.0.0.1:%d is held by %s. Stop it, or choose another port for Metabase with --metabase-port",
		ErrPortInUse, s.cfg.Port, holder)
}

// portHolder names whoever listens on the port: a Docker container, a process, or at least how to find out.
func (s *Stack) portHolder(ctx context.Context) string {
	if name, err := s.eng.publisher(ctx, s.cfg.Port); err == nil && name != "" {
		return name
	}
	if owner := procPortOwner(s.cfg.Port); owner != "" {
		return owner
	}
	return fmt.Sprintf("another process (`sudo ss -ltnp 'sport = :%d'` or `lsof -i :%d` shows which)", s.cfg.Port, s.cfg.Port)
}

// procPortOwner finds the process listening on a TCP port through Linux's /proc; elsewhere, or
// without the right to read other users' file descriptors, it returns "".
func procPortOwner(port int) string {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			fields := strings.Fields(line)
			if len(fields) < 10 || fields[3] != "0A" { // 0A = LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port {
				inodes["socket:["+fields[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return ""
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir("/proc/" + p.Name() + "/fd")
		for _, fd := range fds {
			if link, _ := os.Readlink("/proc/" + p.Name() + "/fd/" + fd.Name()); inodes[link] {
				comm, _ := os.ReadFile("/proc/" + p.Name() + "/comm")
				return fmt.Sprintf("process %d (%s)", pid, strings.TrimSpace(string(comm)))
			}
		}
	}
	return ""
}

func named(ref string) reference.Named {
	n, _ := parseImage(ref)
	return n
}

func (s *Stack) imageCheck(ctx context.Context, daemonOK bool) Check {
	c := Check{Name: "image", OK: true}
	if _, err := parseImage(s.cfg.Image); err != nil {
		c.OK, c.Detail, c.Fix = false, err.Error(), "pass a valid reference with --image, or leave it out for "+DefaultImage
		return c
	}
	c.Detail = s.cfg.Image
	if !daemonOK {
		return c
	}
	img, err := s.eng.image(ctx, s.cfg.Image)
	switch {
	case err == nil:
		c.Detail += " is present locally (" + shortID(img.ID)
		d := img.digestFor(s.cfg.Image)
		if d != "" {
			c.Detail += ", " + shortDigest(d)
		}
		c.Detail += ")"
		if _, pinned := named(s.cfg.Image).(reference.Digested); s.cfg.Pull == PullDefault && d != "" && !pinned {
			c.Detail += "; up asks the registry whether it has a newer one"
		}
	case isNotFound(err) && s.cfg.Pull == PullNever:
		// Before any write: up would create the volume and then fail.
		c.OK = false
		c.Detail += " is not present, and the pull policy is never"
		c.Fix = "pull it first (docker pull " + s.cfg.Image + "), or allow the pull (--pull missing)"
	case isNotFound(err):
		c.Detail += " is not present: up will pull it (Metabase's image is about 500 MB to 1 GB)"
	}
	return c
}
