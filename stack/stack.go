// Package stack runs Metabase Enterprise locally in Docker: one container per state directory, found
// again by its labels, with its H2 application database on a named volume, and snapshots of that
// database so a configured Metabase comes back in the time it takes to boot.
package stack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	DefaultImage = "metabase/metabase-enterprise:latest"
	DefaultPort  = 3000
	// DefaultMemory is the container's memory limit, 2 GiB with no swap. Metabase's docs size an
	// instance with 2 GB of RAM at -Xmx1g (docs/operations-guide/java-opts / "Metabase at scale"), and its
	// image sets no heap flag of its own (bin/docker/run_metabase.sh, metabase/metabase commit 0024b891:
	// JAVA_OPTS only gains -XX:+CrashOnOutOfMemoryError, -Dfile.encoding and -server), so the heap is
	// ours to choose: see heapFor.
	DefaultMemory        = 2 << 30
	DefaultHealthTimeout = 5 * time.Minute

	containerPort = 3000
	dataDir       = "/metabase.db"             // the volume's mount point
	dbFile        = "/metabase.db/metabase.db" // MB_DB_FILE: H2 adds .mv.db; inside the volume either way
	// stopGrace is how long Metabase gets to close H2 cleanly on SIGTERM before it is killed.
	stopGrace = 30 * time.Second
	minMemory = 6 << 20 // Docker refuses less

	labelStack    = "embedwizard.stack"
	labelStateDir = "embedwizard.statedir"
	labelImage    = "embedwizard.image"
	labelSpec     = "embedwizard.spec"
)

// Errors to test for with errors.Is. The errors that wrap them say what happened and what to do.
var (
	ErrImageChanged      = errors.New("the container runs a different image than configured")
	ErrPortInUse         = errors.New("port already in use")
	ErrDaemonUnreachable = errors.New("cannot reach the Docker daemon")
	ErrHealthTimeout     = errors.New("timed out waiting for Metabase to become healthy")
	ErrContainerExited   = errors.New("the Metabase container exited")
	ErrImagePull         = errors.New("image pull failed")
	ErrNoStack           = errors.New("no Metabase container for this state directory")
	ErrImageMissing      = errors.New("the image is not present")
	ErrOutOfMemory       = errors.New("Metabase ran out of memory")
)

// Advice is a stack error with what to do about it kept apart from what failed, so that a front end says
// the advice once, as its own line (session.HintOf finds it), instead of inside the message.
type Advice struct {
	Err error
	Fix string
}

func (a *Advice) Error() string { return a.Err.Error() }
func (a *Advice) Unwrap() error { return a.Err }

func advise(err error, fix string) error { return &Advice{Err: err, Fix: fix} }

// Config says which stack to run. Zero fields take the documented defaults.
type Config struct {
	StateDir string // one stack per state dir; its resources carry label embedwizard.stack=<hash of the abs path>
	Image    string // default DefaultImage
	Port     int    // host port, bound on 127.0.0.1 only; default DefaultPort
	SiteURL  string // MB_SITE_URL; default "http://localhost:<Port>"
	// LicenseToken is NOT passed to the container (nor part of its fingerprint): an environment
	// variable shows in `docker inspect` to anyone who can talk to the daemon, and a setting pinned by
	// the environment fights the API (recent versions read the env value first, "lose to the env var
	// on every read": metabase_enterprise/metabot provider.clj repoint!; older settings.clj get-string
	// read the DB value first). The plan sets premium-embedding-token through PUT /api/setting once
	// Metabase is up. Nothing embedwizard uses needs the token at boot: the one boot-time consumer is
	// the config file (MB_CONFIG_FILE_PATH; enterprise advanced_config/file.clj initialize! refuses
	// every section but :settings without the :config-text-file feature), which embedwizard does not
	// use. The field stays so that callers keep one Config; the stack ignores it.
	LicenseToken  string
	Env           map[string]string // extra container environment; may override JAVA_OPTS
	Labels        map[string]string // extra labels on the container and volume (tests mark theirs)
	Memory        int64             // container memory limit in bytes (no swap); default DefaultMemory; the heap is half of it
	Pull          PullPolicy        // when to pull the image; default PullDefault
	HealthTimeout time.Duration     // default DefaultHealthTimeout
	Recreate      bool              // when the image changed: recreate (keeping the data volume) instead of ErrImageChanged
}

// String leaves out the license token and environment values, so a Config may be logged.
func (c Config) String() string {
	token := "unset"
	if c.LicenseToken != "" {
		token = "set"
	}
	return fmt.Sprintf("stack.Config{StateDir:%q Image:%q Port:%d SiteURL:%q LicenseToken:%s Env:%v Memory:%d Pull:%q HealthTimeout:%v Recreate:%v}",
		c.StateDir, c.Image, c.Port, c.SiteURL, token, slices.Sorted(maps.Keys(c.Env)), c.Memory, c.Pull, c.HealthTimeout, c.Recreate)
}

// GoString keeps %#v from printing the token too.
func (c Config) GoString() string { return c.String() }

// Stack is the Metabase container of one state directory.
type Stack struct {
	cfg  Config
	id   string // short hash of the absolute state dir
	ep   Endpoint
	eng  engine
	http *http.Client
	// pullEvery bounds the rate of PullProgress events; tests set 0 to see every step.
	pullEvery time.Duration
	pulled    bool // this Up already applied the pull policy (PullAlways with an existing container)
}

// Info describes a running, healthy stack.
type Info struct {
	ContainerID, Name, Image string
	URL                      string // where Metabase answers on this machine: http://localhost:<Port>
	Volume                   string // the named volume holding the H2 database
	Port                     int
	Reused                   bool // the container was already running
	MetabaseVersion          string
	ImageID                  string // sha256:… of the local image the container runs
	ImageDigest              string // the registry's digest of it (repo@sha256 without the repo), "" if built locally
	ImageVersion             string // the image's version label (org.opencontainers.image.version), when it has one
	Memory                   int64  // the container's memory limit
}

// Status is what Status found; the zero value (Exists false) means no container.
type Status struct {
	Exists, Running bool
	State           string // Docker's: created, running, exited, …
	Image, URL      string
	Port            int
	Version         string // Metabase's version tag, when it answers
	StartedAt       time.Time
	Uptime          time.Duration
	ExitCode        int
	OOMKilled       bool
	Health          string // "ok", "initializing 40%", or why /api/health did not answer
	ImageID         string // the local image the container runs
	ImageDigest     string // its registry digest, "" when built locally or since deleted
	ImageVersion    string // the image's version label, when it has one
	Memory          int64  // the container's memory limit
	Exit            string // when stopped: why, in words (an OOM kill names the limit and what to change)
}

// New checks cfg and opens the Docker client (API version negotiated on first use); it makes no
// network calls.
func New(cfg Config) (*Stack, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ep, err := ResolveEndpoint(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("stack: choose the Docker daemon: %w", err)
	}
	eng, err := newDocker(ep)
	if err != nil {
		return nil, advise(fmt.Errorf("stack: open Docker client for %s: %w", ep, err), ep.Fix())
	}
	s := newStack(cfg, eng)
	s.ep = ep
	return s, nil
}

// Endpoint says which Docker daemon the stack uses and what chose it.
func (s *Stack) Endpoint() Endpoint {
	ep := s.ep
	if ep.Host == "" && s.eng != nil {
		ep.Host = s.eng.host()
	}
	return ep
}

func newStack(cfg Config, eng engine) *Stack {
	return &Stack{cfg: cfg, id: stackID(cfg.StateDir), eng: eng, http: &http.Client{}, pullEvery: pullInterval}
}

func (cfg Config) withDefaults() (Config, error) {
	if cfg.StateDir == "" {
		return cfg, errors.New("stack: no state directory: set Config.StateDir (--state-dir); it names the stack")
	}
	abs, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return cfg, fmt.Errorf("stack: state directory %q: %w", cfg.StateDir, err)
	}
	cfg.StateDir = abs
	if cfg.Image == "" {
		cfg.Image = DefaultImage
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return cfg, fmt.Errorf("stack: port %d is not a TCP port: choose one between 1 and 65535 (--metabase-port)", cfg.Port)
	}
	if cfg.SiteURL == "" {
		cfg.SiteURL = "http://localhost:" + strconv.Itoa(cfg.Port)
	}
	if cfg.Memory == 0 {
		cfg.Memory = DefaultMemory
	}
	if cfg.Memory < minMemory {
		return cfg, fmt.Errorf("stack: memory limit %d bytes is below Docker's minimum of 6 MiB; Metabase wants about 2 GiB", cfg.Memory)
	}
	if _, err := ParsePullPolicy(string(cfg.Pull)); err != nil {
		return cfg, fmt.Errorf("stack: %w", err)
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = DefaultHealthTimeout
	}
	for _, k := range []string{"MB_DB_FILE", "MB_JETTY_PORT", "MB_PREMIUM_EMBEDDING_TOKEN", "MB_SITE_URL"} {
		if _, ok := cfg.Env[k]; ok {
			return cfg, fmt.Errorf("stack: Env sets %s, which the stack manages (database on its volume, port, license token, site URL): use the Config field instead", k)
		}
	}
	return cfg, nil
}

// Close releases the Docker client.
func (s *Stack) Close() error { return s.eng.close() }

func (s *Stack) containerName() string { return "embedwizard-metabase-" + s.id }
func (s *Stack) volumeName() string    { return "embedwizard-metabase-" + s.id + "-data" }
func (s *Stack) url() string           { return "http://localhost:" + strconv.Itoa(s.cfg.Port) }

// ownLabels selects this stack's resources.
func (s *Stack) ownLabels() map[string]string { return map[string]string{labelStack: s.id} }

func (s *Stack) labels() map[string]string {
	l := maps.Clone(s.cfg.Labels)
	if l == nil {
		l = map[string]string{}
	}
	l[labelStack] = s.id
	return l
}

// workingDir puts the JVM's working directory on the data volume when Metabase's test endpoints are
// on (--fast-reset): POST /api/testing/snapshot/:name writes e2e/snapshots/NAME.sql relative to it, and
// the official image runs the JVM as user metabase in "/" (no WORKDIR; run_metabase.sh `exec su
// metabase …` keeps the cwd), where it cannot create e2e/ (UNVERIFIED: not run against the real
// image). dbFile as a directory is the one run_metabase.sh creates and chowns to metabase for
// MB_DB_FILE=/metabase.db/metabase.db, so the snapshots are writable, survive a recreated container
// and go into the volume snapshot.
func (s *Stack) workingDir() string {
	if strings.EqualFold(s.cfg.Env["MB_ENABLE_TEST_ENDPOINTS"], "true") {
		return dbFile
	}
	return ""
}

// env is the container environment, sorted so that its hash only changes when a value does.
func (s *Stack) env() []string {
	env := map[string]string{"MB_DB_FILE": dbFile, "MB_SITE_URL": s.cfg.SiteURL, "JAVA_OPTS": javaOpts(s.cfg.Memory)}
	maps.Copy(env, s.cfg.Env)
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// specHash fingerprints every setting except the image, so Up notices a changed port, token or
// environment. A truncated SHA-256 reveals nothing useful about the token.
func (s *Stack) specHash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00%d\x00%s", s.cfg.Port, s.cfg.Memory, strings.Join(s.env(), "\x00"))
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// wrap names the operation and, when the daemon could not be reached, says why and what to do.
func (s *Stack) wrap(op string, err error) error {
	if isUnreachable(err) {
		c := s.unreachable()
		return advise(fmt.Errorf("%s: %w: %s (%w)", op, ErrDaemonUnreachable, c.Detail, err), c.Fix)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// find returns this stack's container, if any.
func (s *Stack) find(ctx context.Context) (containerState, bool, error) {
	ids, err := s.eng.containers(ctx, s.ownLabels())
	if err != nil {
		return containerState{}, false, err
	}
	switch len(ids) {
	case 0:
		return containerState{}, false, nil
	case 1:
		st, err := s.eng.inspect(ctx, ids[0])
		if isNotFound(err) { // removed meanwhile
			return containerState{}, false, nil
		}
		return st, err == nil, err
	}
	return containerState{}, false, fmt.Errorf("%d containers carry label %s=%s (state dir %s): remove them with `embedwizard down`", len(ids), labelStack, s.id, s.cfg.StateDir)
}

// Up makes the stack run and waits until Metabase is healthy. It is idempotent: a running container is
// reused, a stopped one started; a container whose image differs from the configured one is an
// ErrImageChanged unless Config.Recreate; other changed settings recreate it (the data volume stays).
func (s *Stack) Up(ctx context.Context, emit func(Event)) (Info, error) {
	info, err := s.up(ctx, emitter(emit))
	if err != nil {
		return info, fmt.Errorf("up: %w", err)
	}
	return info, nil
}

func (s *Stack) up(ctx context.Context, em emitter) (Info, error) {
	defer func() { s.pulled = false }()
	if _, err := parseImage(s.cfg.Image); err != nil {
		return Info{}, err
	}
	st, found, err := s.find(ctx)
	if err != nil {
		return Info{}, s.wrap("find container", err)
	}
	if found && s.cfg.Pull == PullAlways {
		// Pull first, so that a newer image shows as a changed one below (ErrImageChanged, or a
		// recreate with Config.Recreate) instead of being fetched and left unused.
		if err := s.ensureImage(ctx, em); err != nil {
			return Info{}, err
		}
		s.pulled = true
	}
	if found {
		if found, err = s.keepOrDrop(ctx, st, em); err != nil {
			return Info{}, err
		}
		if found {
			s.adviseNewer(ctx, st, em)
		}
	}
	if !found {
		if st, err = s.create(ctx, em); err != nil {
			return Info{}, err
		}
	}
	if st.Running {
		em.send(Event{Kind: Reused, Message: "Metabase container " + st.Name + " is already running"})
		info, err := s.waitHealthy(ctx, st.ID, time.Now(), em)
		info.Reused = true
		return info, err
	}
	return s.start(ctx, st, em)
}

// keepOrDrop decides whether an existing container can serve the current Config; when it cannot, it
// removes the container (never the volume) and reports false.
func (s *Stack) keepOrDrop(ctx context.Context, st containerState, em emitter) (bool, error) {
	imageID, err := s.eng.imageID(ctx, s.cfg.Image)
	if err != nil && !isNotFound(err) {
		return false, s.wrap("inspect image "+s.cfg.Image, err)
	}
	// An image absent locally (deleted tag) does not count as changed: the container still has it.
	imageChanged := st.Labels[labelImage] != s.cfg.Image || (imageID != "" && imageID != st.ImageID)
	switch {
	case imageChanged && !s.cfg.Recreate:
		return false, fmt.Errorf("%w: container %s runs %s (%s) but the configuration asks for %s%s. "+
			"Recreate it to switch (embedwizard up --recreate; the data volume is kept and Metabase migrates it), "+
			"or keep the old one with --image %s",
			ErrImageChanged, st.Name, st.Labels[labelImage], shortID(st.ImageID), s.cfg.Image, describeID(imageID), st.Labels[labelImage])
	case imageChanged:
		em.send(Event{Kind: Creating, Message: "image changed: replacing container " + st.Name + " (data volume kept)"})
	case st.Labels[labelSpec] != s.specHash():
		em.send(Event{Kind: Creating, Message: "settings changed (port, license token or environment): replacing container " + st.Name + " (data volume kept)"})
	default:
		return true, nil
	}
	if st.Running {
		em.send(Event{Kind: Stopping, Message: "stopping " + st.Name})
		if err := s.eng.stop(ctx, st.ID, stopGrace); err != nil && !isNotFound(err) {
			return false, s.wrap("stop old container", err)
		}
	}
	if err := s.eng.remove(ctx, st.ID); err != nil && !isNotFound(err) {
		return false, s.wrap("remove old container", err)
	}
	return false, nil
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	return id[:min(12, len(id))]
}

func describeID(id string) string {
	if id == "" {
		return ""
	}
	return " (" + shortID(id) + ")"
}

// create makes sure the image and the volume exist, then creates the container (not started).
func (s *Stack) create(ctx context.Context, em emitter) (containerState, error) {
	if !s.pulled {
		if err := s.ensureImage(ctx, em); err != nil {
			return containerState{}, err
		}
	}
	s.pulled = false
	em.send(Event{Kind: Creating, Message: "creating container " + s.containerName() + " with volume " + s.volumeName()})
	if err := s.eng.createVolume(ctx, s.volumeName(), s.labels()); err != nil {
		return containerState{}, s.wrap("create volume "+s.volumeName(), err)
	}
	labels := s.labels()
	labels[labelStateDir] = s.cfg.StateDir
	labels[labelImage] = s.cfg.Image
	labels[labelSpec] = s.specHash()
	id, err := s.eng.create(ctx, containerSpec{
		Name: s.containerName(), Image: s.cfg.Image, Env: s.env(), Labels: labels,
		HostIP: "127.0.0.1", HostPort: s.cfg.Port, ContainerPort: containerPort,
		Volume: s.volumeName(), VolumeTarget: dataDir, Memory: s.cfg.Memory, StopGrace: stopGrace,
		WorkingDir: s.workingDir(),
	})
	if err != nil {
		// The error names the operation only: it could echo the spec, and the spec holds the token.
		return containerState{}, s.wrap("create container "+s.containerName(), err)
	}
	st, err := s.eng.inspect(ctx, id)
	if err != nil {
		return st, s.wrap("inspect new container", err)
	}
	em.send(Event{Kind: Created, Message: "created container " + st.Name, ContainerID: st.ID, Name: st.Name})
	return st, nil
}

// start starts a created or stopped container and waits for Metabase.
func (s *Stack) start(ctx context.Context, st containerState, em emitter) (Info, error) {
	if err := s.portFree(ctx); err != nil {
		return Info{}, fmt.Errorf("start %s: %w", st.Name, err)
	}
	em.send(Event{Kind: Starting, Message: "starting " + st.Name})
	since := time.Now()
	if err := s.eng.start(ctx, st.ID); err != nil {
		if msg := err.Error(); strings.Contains(msg, "address already in use") || strings.Contains(msg, "port is already allocated") {
			return Info{}, fmt.Errorf("start %s: %w: 127.0.0.1:%d was taken as the container started: %s. Free it or choose another port (--metabase-port)",
				st.Name, ErrPortInUse, s.cfg.Port, s.portHolder(ctx))
		}
		return Info{}, s.wrap("start "+st.Name, err)
	}
	return s.waitHealthy(ctx, st.ID, since, em)
}

// Status reports the container and, when it runs, whether Metabase answers.
func (s *Stack) Status(ctx context.Context) (Status, error) {
	st, found, err := s.find(ctx)
	if err != nil || !found {
		return Status{}, s.wrapIf("status", err)
	}
	out := Status{
		Exists: true, Running: st.Running, State: st.Status, Image: st.Labels[labelImage],
		URL: "http://localhost:" + strconv.Itoa(st.HostPort), Port: st.HostPort,
		StartedAt: st.StartedAt, ExitCode: st.ExitCode, OOMKilled: st.OOMKilled, Memory: st.Memory, ImageID: st.ImageID,
	}
	out.ImageDigest, out.ImageVersion = s.imageFacts(ctx, st)
	if !st.Running {
		out.Health = "stopped"
		if st.Status == "exited" || st.Status == "dead" {
			out.Exit = exitReason(st)
		}
		return out, nil
	}
	out.Uptime = time.Since(st.StartedAt).Round(time.Second)
	h := s.probe(ctx, st.HostPort)
	out.Health = h.String()
	if h.ok {
		out.Version = s.version(ctx, st.HostPort)
	}
	return out, nil
}

// wrapIf is wrap for a possibly nil error.
func (s *Stack) wrapIf(op string, err error) error {
	if err == nil {
		return nil
	}
	return s.wrap(op, err)
}

// Logs copies the container's log (stdout and stderr) to w: the last tail lines (all when tail <= 0),
// then, with follow, new lines until ctx ends.
func (s *Stack) Logs(ctx context.Context, follow bool, tail int, w io.Writer) error {
	st, err := s.mustFind(ctx, "logs")
	if err != nil {
		return err
	}
	if err := s.eng.logs(ctx, st.ID, follow, tail, time.Time{}, w); err != nil && !(follow && errors.Is(err, ctx.Err())) {
		return s.wrap("logs", err)
	}
	return nil
}

// mustFind is find for operations that need a container.
func (s *Stack) mustFind(ctx context.Context, op string) (containerState, error) {
	st, found, err := s.find(ctx)
	if err != nil {
		return st, s.wrap(op, err)
	}
	if !found {
		return st, fmt.Errorf("%s: %w (%s): start it with `embedwizard up`", op, ErrNoStack, s.cfg.StateDir)
	}
	return st, nil
}

// Down stops and removes the stack's containers; with removeVolumes also its volumes (the Metabase
// data) and networks. A stack that does not exist is not an error.
func (s *Stack) Down(ctx context.Context, removeVolumes bool) error {
	ids, err := s.eng.containers(ctx, s.ownLabels())
	if err != nil {
		return s.wrap("down: list containers", err)
	}
	for _, id := range ids {
		// Data that is kept needs a clean H2 shutdown, so stop before removing (a forced remove kills
		// the JVM at once). Data about to be deleted needs nothing: skipping the stop saves Metabase's
		// shutdown time on every reset.
		if !removeVolumes {
			if err := s.eng.stop(ctx, id, stopGrace); err != nil && !isNotFound(err) {
				return s.wrap("down: stop container "+shortID(id), err)
			}
		}
		if err := s.eng.remove(ctx, id); err != nil && !isNotFound(err) {
			return s.wrap("down: remove container "+shortID(id), err)
		}
	}
	if !removeVolumes {
		return nil
	}
	vols, err := s.eng.volumes(ctx, s.ownLabels())
	if err != nil {
		return s.wrap("down: list volumes", err)
	}
	for _, v := range vols {
		if err := s.eng.removeVolume(ctx, v); err != nil && !isNotFound(err) {
			return s.wrap("down: remove volume "+v, err)
		}
	}
	nets, err := s.eng.networks(ctx, s.ownLabels())
	if err != nil {
		return s.wrap("down: list networks", err)
	}
	for _, n := range nets {
		if err := s.eng.removeNetwork(ctx, n); err != nil && !isNotFound(err) {
			return s.wrap("down: remove network "+n, err)
		}
	}
	return nil
}
