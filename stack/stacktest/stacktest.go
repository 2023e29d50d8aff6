// Package stacktest gives tests a Metabase they can run in the real Docker Engine: a FROM scratch image
// of the emulator (cmd/fakemetabase), a local registry (distribution/v3) to pull it from, and cleanup
// of what crashed test runs left behind. It talks to Docker through the SDK directly; it is test
// support, not product code.
//
// Docker is required: when the daemon is missing, the helpers fail the test with a message saying so,
// they never skip it.
package stacktest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
)

// Label marks every resource a test creates; its value is the test process id, so Sweep can tell
// leftovers of dead runs from resources of test binaries running right now.
const Label = "embedwizard.test"

// ImageLabel marks the images tests build. It must not be Label: a container inherits its image's labels,
// so a container made from a test image by anything else (the real binary in an end-to-end test, a person
// rehearsing with it) would carry Label without a live test's pid, and a concurrent sweep would kill it.
const ImageLabel = "embedwizard.test-image"

// emulatorPkg is the emulator's main package, relative to the module root.
var emulatorPkg = "./cmd/fakemetabase"

// setupTimeout bounds one Docker operation of test setup (builds, pushes, sweeps).
const setupTimeout = 2 * time.Minute

// Labels returns the labels a test puts on what it creates (stack.Config.Labels).
func Labels() map[string]string { return map[string]string{Label: strconv.Itoa(os.Getpid())} }

var (
	clientOnce sync.Once
	dockerCli  *client.Client
	clientErr  error
)

// Client returns a Docker client after checking that the daemon answers, failing tb otherwise. The
// first call also sweeps leftovers of earlier, crashed runs.
func Client(tb testing.TB) *client.Client {
	tb.Helper()
	clientOnce.Do(func() {
		dockerCli, clientErr = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if clientErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if _, clientErr = dockerCli.Ping(ctx); clientErr != nil {
			return
		}
		clientErr = sweep(ctx, dockerCli)
	})
	if clientErr != nil {
		tb.Fatalf("these tests need a running Docker Engine and could not use it: %v\n"+
			"Start Docker (sudo systemctl start docker), or point DOCKER_HOST at a daemon; they are not skipped on purpose.", clientErr)
	}
	return dockerCli
}

// sweep removes containers, volumes and networks labelled by test processes that no longer run.
func sweep(ctx context.Context, c *client.Client) error {
	// Only a pid that no longer runs makes a resource stale; anything else under Label is not a test's.
	stale := func(labels map[string]string) bool {
		pid, err := strconv.Atoi(labels[Label])
		return err == nil && !alive(pid)
	}
	f := filters.NewArgs(filters.Arg("label", Label))
	cs, err := c.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("sweep: list containers: %w", err)
	}
	for _, ct := range cs {
		if stale(ct.Labels) {
			if err := c.ContainerRemove(ctx, ct.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
				return fmt.Errorf("sweep: remove container %s: %w", ct.ID, err)
			}
		}
	}
	vs, err := c.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		return fmt.Errorf("sweep: list volumes: %w", err)
	}
	for _, v := range vs.Volumes {
		if stale(v.Labels) {
			if err := c.VolumeRemove(ctx, v.Name, true); err != nil {
				return fmt.Errorf("sweep: remove volume %s: %w", v.Name, err)
			}
		}
	}
	ns, err := c.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return fmt.Errorf("sweep: list networks: %w", err)
	}
	for _, n := range ns {
		if stale(n.Labels) {
			if err := c.NetworkRemove(ctx, n.ID); err != nil {
				return fmt.Errorf("sweep: remove network %s: %w", n.Name, err)
			}
		}
	}
	return nil
}

func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	return err == nil && p.Signal(syscall.Signal(0)) == nil
}

var (
	imageOnce sync.Once
	imageRef  string
	imageErr  error
)

// Image returns a local image running the emulator: FROM scratch, a static cmd/fakemetabase as
// entrypoint. It is built once per process and tagged by the binary's hash, so unchanged code reuses it.
func Image(tb testing.TB) string {
	tb.Helper()
	c := Client(tb)
	imageOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		imageRef, imageErr = buildEmulator(ctx, c)
	})
	if imageErr != nil {
		tb.Fatalf("build the emulator image: %v", imageErr)
	}
	return imageRef
}

func buildEmulator(ctx context.Context, c *client.Client) (string, error) {
	root, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root with go list: %w", err)
	}
	dir, err := os.MkdirTemp("", "fakemetabase-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "fakemetabase")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, emulatorPkg)
	cmd.Dir = strings.TrimSpace(string(root))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/fakemetabase: %w\n%s", err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(exe)
	ref := "embedwizard-test/fakemetabase:" + hex.EncodeToString(sum[:6])
	if _, err := c.ImageInspect(ctx, ref); err == nil {
		return ref, nil
	}
	dockerfile := "FROM scratch\nCOPY fakemetabase /fakemetabase\nCOPY tmp /tmp\nEXPOSE 3000\nENTRYPOINT [\"/fakemetabase\"]\n"
	return ref, Build(ctx, c, ref, dockerfile, map[string][]byte{"fakemetabase": exe, "tmp/": nil})
}

// Build builds an image from a Dockerfile and files (names ending in "/" are directories) with the
// engine's builder, labelled with Label.
func Build(ctx context.Context, c *client.Client, ref, dockerfile string, files map[string][]byte) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files = maps.Clone(files)
	files["Dockerfile"] = []byte(dockerfile)
	for name, data := range files {
		h := &tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		if strings.HasSuffix(name, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o1777
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	resp, err := c.ImageBuild(ctx, &buf, build.ImageBuildOptions{
		Tags: []string{ref}, Remove: true, ForceRemove: true, Labels: map[string]string{ImageLabel: "fakemetabase"},
	})
	if err != nil {
		return fmt.Errorf("build %s: %w", ref, err)
	}
	defer resp.Body.Close()
	return drain(resp.Body, "build "+ref)
}

// drain reads a jsonmessage stream to its end and returns the first error it reports.
func drain(r io.Reader, op string) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: read stream: %w", op, err)
		}
		if m.Error != nil {
			return fmt.Errorf("%s: %s", op, m.Error.Message)
		}
	}
}

// Derive builds a new image on top of base with a layer of n random bytes, so that pulling it
// downloads bytes no other local image has. It is removed when the test ends.
func Derive(tb testing.TB, base string, n int) string {
	tb.Helper()
	c := Client(tb)
	ballast := make([]byte, n)
	rand.Read(ballast)
	ref := "embedwizard-test/derived:" + hex.EncodeToString(ballast[:6])
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := Build(ctx, c, ref, "FROM "+base+"\nCOPY ballast /ballast\n", map[string][]byte{"ballast": ballast}); err != nil {
		tb.Fatalf("derive an image from %s: %v", base, err)
	}
	tb.Cleanup(func() { RemoveImage(tb, ref) })
	return ref
}

// RemoveImage deletes a tag (and the image, when no other tag holds it); a missing one is fine.
func RemoveImage(tb testing.TB, ref string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if _, err := Client(tb).ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
		tb.Errorf("remove image %s: %v", ref, err)
	}
}

// Registry is a distribution/v3 registry serving plain HTTP on 127.0.0.1, with storage in a temp dir.
// The engine treats registries on 127.0.0.0/8 as insecure, so it pulls from it without TLS.
type Registry struct {
	Addr string // host:port
	cmd  *exec.Cmd
}

// NewRegistry starts a registry and stops it when the test ends.
func NewRegistry(tb testing.TB) *Registry {
	tb.Helper()
	Client(tb)
	bin, err := registryBinary()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	dir := tb.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(FreePort(tb))
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"+
		"storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		tb.Fatal(err)
	}
	r := &Registry{Addr: addr, cmd: exec.Command(bin, "serve", cfgPath)}
	r.cmd.Env = append(os.Environ(), "OTEL_SDK_DISABLED=true", "OTEL_TRACES_EXPORTER=none")
	r.cmd.SysProcAttr = orphanKill()
	var logs bytes.Buffer
	r.cmd.Stdout, r.cmd.Stderr = &logs, &logs
	if err := r.cmd.Start(); err != nil {
		tb.Fatalf("start the registry: %v", err)
	}
	tb.Cleanup(r.Stop)
	// Images pulled from it keep a digest reference (<addr>/name@sha256:…) after their tag is removed;
	// the registry's address is gone with the test, so they are removed with it.
	tb.Cleanup(func() { removeReferencesTo(addr) })
	if err := poll(ctx, "http://"+addr+"/v2/"); err != nil {
		tb.Fatalf("the registry on %s did not answer: %v\n%s", addr, err, logs.String())
	}
	return r
}

// RegistryBinEnv names a prebuilt registry binary. scripts/test.sh builds it once before the tests: from a
// cold build cache, building distribution/v3 takes minutes on 2 cores, and test packages running in parallel
// would each build it at once.
const RegistryBinEnv = "EMBEDWIZARD_REGISTRY_BIN"

// registryBinary is $EMBEDWIZARD_REGISTRY_BIN, else the go tool's cached binary (built now if need be).
func registryBinary() (string, error) {
	if bin := os.Getenv(RegistryBinEnv); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("%s=%s: %w (run scripts/test.sh, which builds it)", RegistryBinEnv, bin, err)
		}
		return bin, nil
	}
	// Building the tool from a cold cache is slow; a test timeout still bounds it.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	// The registry is a tool of its own module, scripts/registry, so that the product's go.mod does not
	// list its modules.
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" {
		return "", fmt.Errorf("find the module root (go env GOMOD) to build the registry tool: %v (set %s or run scripts/test.sh)", err, RegistryBinEnv)
	}
	dir := filepath.Join(filepath.Dir(strings.TrimSpace(string(gomod))), "scripts", "registry")
	out, err := exec.CommandContext(ctx, "go", "-C", dir, "tool", "-n", "registry").Output()
	if err != nil {
		return "", fmt.Errorf("build the registry tool (go -C %s tool -n registry): %w (set %s or run scripts/test.sh)", dir, err, RegistryBinEnv)
	}
	return strings.TrimSpace(string(out)), nil
}

// removeReferencesTo removes every image reference (tag or digest) to a registry address. An image
// still used by a container keeps its reference: nothing is forced.
func removeReferencesTo(addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	c := dockerCli
	if c == nil {
		return
	}
	list, err := c.ImageList(ctx, image.ListOptions{All: true})
	if err != nil {
		return
	}
	for _, img := range list {
		for _, ref := range append(append([]string{}, img.RepoTags...), img.RepoDigests...) {
			if strings.HasPrefix(ref, addr+"/") {
				c.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true})
			}
		}
	}
}

// Stop ends the registry process (a test of a registry that is down calls it early).
func (r *Registry) Stop() {
	if r.cmd.ProcessState == nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
}

// Push tags a local image as <Addr>/<name>, pushes it, and removes that local tag again, so a later
// pull has to fetch it. It returns the registry reference.
func (r *Registry) Push(tb testing.TB, local, name string) string {
	tb.Helper()
	c := Client(tb)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	remote := r.Addr + "/" + name
	if err := c.ImageTag(ctx, local, remote); err != nil {
		tb.Fatalf("tag %s as %s: %v", local, remote, err)
	}
	tb.Cleanup(func() { RemoveImage(tb, remote) })
	// "e30=" is base64("{}"): no credentials, sent explicitly for engines that insist on the header.
	rc, err := c.ImagePush(ctx, remote, image.PushOptions{RegistryAuth: "e30="})
	if err != nil {
		tb.Fatalf("push %s: %v", remote, err)
	}
	defer rc.Close()
	if err := drain(rc, "push "+remote); err != nil {
		tb.Fatal(err)
	}
	RemoveImage(tb, remote)
	return remote
}

// poll waits until url answers 200 or ctx ends.
func poll(ctx context.Context, url string) error {
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// FreePort returns a TCP port nothing listens on at the moment of the call.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
