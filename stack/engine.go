package stack

// This file is the only one that imports the Docker SDK. Everything else in the package talks to the
// engine interface in its own types, so a move to github.com/moby/moby/client rewrites this file alone.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
)

// engine is what the stack needs from a container engine. Only features of Engine API 1.41 are used.
type engine interface {
	host() string // the daemon address, e.g. unix:///var/run/docker.sock
	info(ctx context.Context) (engineInfo, error)
	imageID(ctx context.Context, ref string) (string, error)
	image(ctx context.Context, ref string) (imageInfo, error)
	remoteDigest(ctx context.Context, ref string) (string, error) // the registry's digest for ref, through the daemon (its credentials)
	pull(ctx context.Context, ref string, fn func(pullMessage) error) error
	containers(ctx context.Context, labels map[string]string) ([]string, error) // ids, any state
	inspect(ctx context.Context, id string) (containerState, error)
	create(ctx context.Context, spec containerSpec) (string, error)
	start(ctx context.Context, id string) error
	stop(ctx context.Context, id string, grace time.Duration) error
	remove(ctx context.Context, id string) error
	logs(ctx context.Context, id string, follow bool, tail int, since time.Time, w io.Writer) error
	publisher(ctx context.Context, port int) (string, error)              // the running container publishing a host port, "" if none
	copyFrom(ctx context.Context, id, path string) (io.ReadCloser, error) // a tar stream
	copyTo(ctx context.Context, id, dir string, tar io.Reader) error
	createVolume(ctx context.Context, name string, labels map[string]string) error
	volumes(ctx context.Context, labels map[string]string) ([]string, error)
	removeVolume(ctx context.Context, name string) error
	networks(ctx context.Context, labels map[string]string) ([]string, error)
	removeNetwork(ctx context.Context, id string) error
	close() error
}

type engineInfo struct {
	MemTotal      int64
	ServerVersion string
	OSType        string
	Arch          string // uname -m of the engine: x86_64, aarch64
	Name          string // the engine's host name (a Docker Desktop or Colima VM says so)
}

// imageInfo is what the stack needs of a local image.
type imageInfo struct {
	ID          string
	RepoDigests []string          // repo@sha256:…, one per registry repository it was pulled from or pushed to
	Labels      map[string]string // the image's own labels (OCI version labels, when the image has them)
}

// digestFor is the digest recorded for ref's repository, "" when none (built locally).
func (i imageInfo) digestFor(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	for _, rd := range i.RepoDigests {
		repo, digest, ok := strings.Cut(rd, "@")
		if !ok {
			continue
		}
		if n, err := reference.ParseNormalizedNamed(repo); err == nil && n.Name() == named.Name() {
			return digest
		}
	}
	return ""
}

func (i imageInfo) hasDigest(d string) bool {
	for _, rd := range i.RepoDigests {
		if _, digest, _ := strings.Cut(rd, "@"); digest == d {
			return true
		}
	}
	return false
}

// pullMessage is one line of the engine's pull stream (Docker's jsonmessage).
type pullMessage struct {
	ID, Status     string
	Current, Total int64
	Err            string
}

type containerSpec struct {
	Name, Image          string
	Env                  []string
	Labels               map[string]string
	HostIP               string
	HostPort             int
	ContainerPort        int
	Volume, VolumeTarget string
	Memory               int64
	StopGrace            time.Duration
	WorkingDir           string // "" keeps the image's
}

type containerState struct {
	ID, Name  string
	ImageID   string
	Labels    map[string]string
	Status    string // created, running, exited, …
	Running   bool
	ExitCode  int
	OOMKilled bool
	Error     string
	StartedAt time.Time
	HostPort  int
	Memory    int64 // the memory limit
}

// isNotFound reports whether err says the object does not exist.
func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// isUnreachable reports whether err says the daemon could not be reached at all.
func isUnreachable(err error) bool { return client.IsErrConnectionFailed(err) }

// apiTimeout bounds an engine call that answers at once (all but pulls, log streams and copies), so a
// hung daemon becomes an error instead of a hang.
const apiTimeout = time.Minute

func bounded(ctx context.Context, extra time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, apiTimeout+extra)
}

type docker struct{ c *client.Client }

// newDocker opens a client for the endpoint ResolveEndpoint chose. DOCKER_HOST (with DOCKER_TLS_VERIFY
// and DOCKER_CERT_PATH) is the SDK's own FromEnv; a named context sets its host and TLS material.
func newDocker(ep Endpoint) (*docker, error) {
	if strings.HasPrefix(ep.Host, "ssh://") {
		return nil, fmt.Errorf("%s: the Docker SDK cannot dial ssh endpoints", ep)
	}
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if ep.Source != "DOCKER_HOST" && ep.Host != "" {
		opts = append(opts, client.WithHost(ep.Host))
		if ep.TLSDir != "" {
			opts = append(opts, client.WithTLSClientConfig(filepath.Join(ep.TLSDir, "ca.pem"), filepath.Join(ep.TLSDir, "cert.pem"), filepath.Join(ep.TLSDir, "key.pem")))
		}
	}
	c, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, err
	}
	return &docker{c}, nil
}

func (d *docker) host() string { return d.c.DaemonHost() }
func (d *docker) close() error { return d.c.Close() }

func (d *docker) info(ctx context.Context) (engineInfo, error) {
	ctx, cancel := bounded(ctx, 0)
	defer cancel()
	i, err := d.c.Info(ctx)
	return engineInfo{MemTotal: i.MemTotal, ServerVersion: i.ServerVersion, OSType: i.OSType, Arch: i.Architecture, Name: i.Name}, err
}

func (d *docker) image(ctx context.Context, ref string) (imageInfo, error) {
	ctx, cancel := bounded(ctx, 0)
	defer cancel()
	i, err := d.c.ImageInspect(ctx, ref)
	out := imageInfo{ID: i.ID, RepoDigests: i.RepoDigests}
	if i.Config != nil {
		out.Labels = i.Config.Labels
	}
	return out, err
}

func (d *docker) remoteDigest(ctx context.Context, ref string) (string, error) {
	ctx, cancel := bounded(ctx, 0)
	defer cancel()
	// No credentials: Metabase's images are public. The daemon still applies its own mirrors and
	// insecure-registry settings, which is why this asks the daemon rather than the registry.
	r, err := d.c.DistributionInspect(ctx, ref, "")
	if err != nil {
		return "", err
	}
	return r.Descriptor.Digest.String(), nil
}

func (d *docker) imageID(ctx context.Context, ref string) (string, error) {
	ctx, cancel := bounded(ctx, 0)
	defer cancel()
	i, err := d.c.ImageInspect(ctx, ref)
	return i.ID, err
}

func (d *docker) pull(ctx context.Context, ref string, fn func(pullMessage) error) error {
	rc, err := d.c.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	return decodePull(rc, fn)
}

// decodePull turns the jsonmessage stream into pullMessages; it stops at the first fn error.
func decodePull(r io.Reader, fn func(pullMessage) error) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read pull stream: %w", err)
		}
		pm := pullMessage{ID: m.ID, Status: m.Status, Err: m.ErrorMessage}
		if m.Error != nil {
			pm.Err = m.Error.Message
		}
		if m.Progress != nil {
			pm.Current, pm.Total = m.Progress.Current, m.Progress.Total
		}
		if err := fn(pm); err != nil {
			return err
		}
	}
}

func labelFilter(labels map[string]string) filters.Args {
	f := filters.NewArgs()
	for k, v := range labels {
		if v == "" { // any value
			f.Add("label", k)
			continue
		}
		f.Add("label", k+"="+v)
	}
	return f
}

func (d *docker) containers(ctx context.Context, labels map[string]string) ([]string, error) {
	ctx, cancel := bounded(ctx, 0)
	defer cancel()
	list, err := d.c.ContainerList(ctx, container.ListOptions{All: true, Filters: labelFilter(labels)})
	ids := make([]string, 0, len(list))
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	return ids, err
}

func (d *docker) publisher(ctx context.Context, port int) (string, error) {
	ctx, cancel := bounded(ctx, 0)
	defer cancel()
	f := filters.NewArgs(filters.Arg("publish", strconv.Itoa(port)))
	list, err := d.c.ContainerList(ctx, container.ListOptions{Filters: f})
	if err != nil || len(list) == 0 {
		return "", err
	}
	c := list[0]
	name := c.ID[:12]
	if len(c.Names) > 0 {
		name = strings.TrimPrefix(c.Names[0], "/")
	}
	return fmt.Sprintf("Docker container %s (image %s)", name, c.Image), nil
}

func (d *docker) inspect(ctx context.Context, id string) (containerState, error) {
	ctx, cancel := bounded(ctx, 0)
	defer cancel()
	c, err := d.c.ContainerInspect(ctx, id)
	if err != nil {
		return containerState{}, err
	}
	st := containerState{ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), ImageID: c.Image}
	if c.Config != nil {
		st.Labels = c.Config.Labels
	}
	if s := c.State; s != nil {
		st.Status, st.Running, st.ExitCode, st.OOMKilled, st.Error = s.Status, s.Running, s.ExitCode, s.OOMKilled, s.Error
		st.StartedAt, _ = time.Parse(time.RFC3339Nano, s.StartedAt)
	}
	if c.HostConfig != nil {
		st.Memory = c.HostConfig.Memory
		for _, bindings := range c.HostConfig.PortBindings {
			for _, b := range bindings {
				st.HostPort, _ = strconv.Atoi(b.HostPort)
			}
		}
	}
	return st, nil
}

func (d *docker) create(ctx context.Context, s containerSpec) (string, error) {
	ctx, cancel := bounded(ctx, 0)
	defer cancel()
	port := nat.Port(strconv.Itoa(s.ContainerPort) + "/tcp")
	stop := int(s.StopGrace / time.Second)
	cfg := &container.Config{
		Image: s.Image, Env: s.Env, Labels: s.Labels, StopTimeout: &stop,
		ExposedPorts: nat.PortSet{port: {}}, WorkingDir: s.WorkingDir,
	}
	hc := &container.HostConfig{
		PortBindings: nat.PortMap{port: {{HostIP: s.HostIP, HostPort: strconv.Itoa(s.HostPort)}}},
		Mounts:       []mount.Mount{{Type: mount.TypeVolume, Source: s.Volume, Target: s.VolumeTarget}},
		// No restart policy: a crash must surface as the exit code (and OOM kill) that Up and Status
		// report, not as a restart loop; and a sandbox should not come back after a reboot to take 2 GB
		// unasked. `embedwizard up` starts it again.
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		// MemorySwap equal to Memory: no swap on top, so a JVM over the limit is stopped, not left crawling.
		Resources: container.Resources{Memory: s.Memory, MemorySwap: s.Memory},
	}
	r, err := d.c.ContainerCreate(ctx, cfg, hc, nil, nil, s.Name)
	return r.ID, err
}

func (d *docker) start(ctx context.Context, id string) error {
	ctx, cancel := bounded(ctx, 0)
	defer cancel()
	return d.c.ContainerStart(ctx, id, container.StartOptions{})
}

func (d *docker) stop(ctx context.Context, id string, grace time.Duration) error {
	ctx, cancel := bounded(ctx, grace)
	defer cancel()
	secs := int(grace / time.Second)
	return d.c.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs})
}

func (d *docker) remove(ctx context.Context, id string) error {
	ctx, cancel := bounded(ctx, 0)
	defer cancel()
	return d.c.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
}

func (d *docker) logs(ctx context.Context, id string, follow bool, tail int, since time.Time, w io.Writer) error {
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow, Tail: "all"}
	if tail > 0 {
		opts.Tail = strconv.Itoa(tail)
	}
	if !since.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
	}
	rc, err := d.c.ContainerLogs(ctx, id, opts)
	if err != nil {
		return err
	}
	defer rc.Close()
	// The container has no TTY, so the stream is multiplexed; both halves go to w, in order.
	_, err = stdcopy.StdCopy(w, w, rc)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (d *docker) copyFrom(ctx context.Context, id, path string) (io.ReadCloser, error) {
	rc, _, err := d.c.CopyFromContainer(ctx, id, path)
	return rc, err
}

func (d *docker) copyTo(ctx context.Context, id, dir string, tar io.Reader) error {
	// No CopyUIDGID: the files keep the owners recorded in the tar, i.e. those they had in the
	// container the snapshot came from.
	return d.c.CopyToContainer(ctx, id, dir, tar, container.CopyToContainerOptions{})
}

func (d *docker) createVolume(ctx context.Context, name string, labels map[string]string) error {
	ctx, cancel := bounded(ctx, 0)
	defer cancel()
	_, err := d.c.VolumeCreate(ctx, volume.CreateOptions{Name: name, Labels: labels})
	return err
}

func (d *docker) volumes(ctx context.Context, labels map[string]string) ([]string, error) {
	ctx, cancel := bounded(ctx, 0)
	defer cancel()
	r, err := d.c.VolumeList(ctx, volume.ListOptions{Filters: labelFilter(labels)})
	names := make([]string, 0, len(r.Volumes))
	for _, v := range r.Volumes {
		names = append(names, v.Name)
	}
	return names, err
}

func (d *docker) removeVolume(ctx context.Context, name string) error {
	ctx, cancel := bounded(ctx, 0)
	defer cancel()
	return d.c.VolumeRemove(ctx, name, true)
}

func (d *docker) networks(ctx context.Context, labels map[string]string) ([]string, error) {
	ctx, cancel := bounded(ctx, 0)
	defer cancel()
	list, err := d.c.NetworkList(ctx, network.ListOptions{Filters: labelFilter(labels)})
	ids := make([]string, 0, len(list))
	for _, n := range list {
		ids = append(ids, n.ID)
	}
	return ids, err
}

func (d *docker) removeNetwork(ctx context.Context, id string) error {
	ctx, cancel := bounded(ctx, 0)
	defer cancel()
	return d.c.NetworkRemove(ctx, id)
}
