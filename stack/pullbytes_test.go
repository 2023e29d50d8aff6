package stack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/embedwizard/embedwizard/stack/stacktest"
)

// registryLayers reads the image's layer sizes straight from the registry, independently of the
// stack's own manifest code: the truth the progress is checked against.
func registryLayers(t *testing.T, addr, name, tag string) map[string]int64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v2/"+name+"/manifests/"+tag, nil)
	req.Header.Set("Accept", mediaDockerSchema+", "+mediaOCIManifest)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m manifest
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || len(m.Layers) == 0 {
		t.Fatalf("read the manifest of %s:%s: %v (%+v)", name, tag, err, m)
	}
	out := map[string]int64{}
	for _, l := range m.Layers {
		out[strings.TrimPrefix(l.Digest, "sha256:")[:12]] = l.Size
	}
	return out
}

// TestPullHonestTotal pulls a five-layer image whose two base layers are present locally, through a
// registry on 127.0.0.1: at every event the total shows no more than the bytes received (and those
// already here) allow, the total is the image's size from the first event, a 98-byte layer moves it
// by nothing visible, and 100 % comes only with the last extraction.
func TestPullHonestTotal(t *testing.T) {
	t.Parallel()
	reg := stacktest.NewRegistry(t)
	derived := stacktest.DeriveLayers(t, stacktest.Image(t), 6<<20, 98, 3<<20)
	remote := reg.Push(t, derived, "fakemetabase:layers")
	stacktest.RemoveImage(t, derived)
	truth := registryLayers(t, reg.Addr, "fakemetabase", "layers")
	var total int64
	for _, n := range truth {
		total += n
	}

	s := newTestStack(t, Config{Image: remote})
	s.pullEvery = 0
	var rec recorder
	mustUp(t, s, &rec)
	events := append(rec.of(PullProgress), rec.of(PullDone)...)
	if len(events) < 5 {
		t.Fatalf("only %d pull events", len(events))
	}
	sawPresent, sawPartial, exact := false, false, false
	for _, e := range events {
		// The sizes are read beside the pull: once they are in, the total is the image's, exactly.
		exact = exact || e.Bytes.Exact
		if exact && (e.Bytes.Total != total || !e.Bytes.Exact) {
			t.Fatalf("event total %+v; want the image's %d bytes, exact, once known", e.Bytes, total)
		}
		var allowed int64
		finished := 0
		for _, l := range e.Layers {
			size, ok := truth[l.ID]
			if !ok {
				t.Fatalf("layer %s is not in the manifest %v", l.ID, truth)
			}
			switch l.Phase {
			case LayerPresent:
				sawPresent = true
				allowed += size
			case LayerDownloading:
				allowed += l.Current
			case LayerVerifying, LayerDownloaded, LayerExtracting, LayerDone:
				allowed += size
			}
			if l.Phase.Finished() {
				finished++
			}
		}
		if limit := 100 * float64(allowed) / float64(total); e.Percent > limit+1e-9 {
			t.Errorf("percent %.2f with %d of %d bytes here allows at most %.2f; layers %+v", e.Percent, allowed, total, limit, e.Layers)
		}
		if e.Kind == PullProgress && (finished < len(truth)) && e.Percent >= 100 {
			t.Errorf("100 %% with %d of %d layers finished", finished, len(truth))
		}
		if e.Kind == PullProgress && sawPresent && e.Percent > 0 && e.Percent < 100 {
			sawPartial = true
		}
	}
	if !exact {
		t.Error("no event had the exact total: the registry's manifest was not read")
	}
	if !sawPresent || !sawPartial {
		t.Errorf("want base layers already here and a partial total after them; present=%v partial=%v", sawPresent, sawPartial)
	}
	done := rec.of(PullDone)
	if len(done) != 1 || done[0].Percent != 100 || done[0].Bytes.Present == 0 || done[0].Bytes.Received+done[0].Bytes.Present != total {
		t.Errorf("pull-done = %+v; want 100 %% with received + present = %d", done, total)
	}
}

// TestPullSlowRegistry pulls through a proxy that caps the registry at 2 MB/s: the plain lines of
// up --yes appear while the pull runs, with bytes, speed and time left, one line per update.
func TestPullSlowRegistry(t *testing.T) {
	t.Parallel()
	reg := stacktest.NewRegistry(t)
	derived := stacktest.DeriveLayers(t, stacktest.Image(t), 7<<20, 5<<20)
	reg.Push(t, derived, "fakemetabase:slow")
	stacktest.RemoveImage(t, derived)
	proxy := stacktest.NewSlowProxy(t, reg.Addr, 2<<20)
	remote := proxy.Addr + "/fakemetabase:slow"
	t.Cleanup(func() { stacktest.RemoveImage(t, remote) })

	s := newTestStack(t, Config{Image: remote})
	var out strings.Builder
	r := NewPullReporter(&out, time.Now)
	start := time.Now()
	if _, err := s.Up(testContext(t), r.Event); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	t.Logf("pull through a 2 MB/s proxy took %v; up --yes printed:\n%s", took.Round(time.Millisecond), out.String())
	if took < 4*time.Second {
		t.Fatalf("the pull took %v: the proxy did not slow it", took)
	}
	progress := 0
	for _, l := range lines {
		if strings.Contains(l, "\r") {
			t.Errorf("line %q has a carriage return", l)
		}
		if strings.HasPrefix(l, "pulling: ") {
			progress++
			if missing := containsAll(l, " MB of ", "%)", " MB/s", " left"); len(missing) > 0 && !strings.Contains(l, "extracting") {
				t.Errorf("progress line %q lacks %q", l, missing)
			}
		}
	}
	if progress < 2 || progress > int(took/time.Second)+2 {
		t.Errorf("%d progress lines in %v; want a few, paced", progress, took)
	}
	if !strings.HasPrefix(lines[len(lines)-1], "pulled: ") {
		t.Errorf("last line %q; want the pulled summary", lines[len(lines)-1])
	}
}

// TestPullPolicy: a tag without a digest is compared with the registry's digest. A newer one is
// pulled and said so, the same one is not pulled, an unreachable registry leaves the local image
// running with a warning; never and always mean what they mean to docker run --pull.
func TestPullPolicy(t *testing.T) {
	t.Parallel()
	reg := stacktest.NewRegistry(t)
	v1 := stacktest.Derive(t, stacktest.Image(t), 1<<20)
	remote := reg.Push(t, v1, "fakemetabase:policy")
	s := newTestStack(t, Config{Image: remote})
	ctx := testContext(t)
	// Images are made with the test's t, not a subtest's: their cleanup untags the image, and with it
	// the digest the next subtest compares with.
	outer := t
	up := func(t *testing.T, s *Stack) (*recorder, Info) {
		t.Helper()
		if err := s.Down(ctx, true); err != nil {
			t.Fatal(err)
		}
		var rec recorder
		info, err := s.Up(ctx, rec.emit)
		if err != nil {
			t.Fatalf("Up: %v", err)
		}
		return &rec, info
	}
	_, first := up(t, s)
	if first.ImageDigest == "" || !strings.HasPrefix(first.ImageDigest, "sha256:") {
		t.Fatalf("Info.ImageDigest = %q after a pull; want the registry digest", first.ImageDigest)
	}

	t.Run("same digest: no pull", func(t *testing.T) {
		rec, info := up(t, s)
		if len(rec.of(PullStart)) != 0 || len(rec.of(ImagePresent)) != 1 || !strings.Contains(rec.of(ImagePresent)[0].Message, "the registry's current one") {
			t.Errorf("events %v (%+v); want the present image, checked, no pull", rec.kinds(), rec.of(ImagePresent))
		}
		if info.ImageDigest != first.ImageDigest {
			t.Errorf("digest %s, want %s", info.ImageDigest, first.ImageDigest)
		}
		st, err := s.Status(ctx)
		if err != nil || st.ImageDigest != first.ImageDigest || st.Memory != DefaultMemory {
			t.Errorf("Status = %+v, %v; want the digest in use and the memory limit", st, err)
		}
	})

	t.Run("newer digest: pull", func(t *testing.T) {
		v2 := stacktest.Derive(outer, stacktest.Image(t), 1<<20)
		reg.Push(outer, v2, "fakemetabase:policy")
		// Push leaves the tag absent locally; put it back on v1, the image this machine had before.
		if err := stacktest.Client(t).ImageTag(ctx, v1, remote); err != nil {
			t.Fatal(err)
		}
		rec, info := up(t, s)
		starts := rec.of(PullStart)
		if len(starts) != 1 || !strings.Contains(starts[0].Message, "a newer image is available: pulling") || len(rec.of(PullDone)) != 1 {
			t.Fatalf("events %v (%+v); want a pull announced as a newer image", rec.kinds(), starts)
		}
		if info.ImageDigest == first.ImageDigest || info.ImageDigest == "" {
			t.Errorf("after the pull the digest is %q, was %q", info.ImageDigest, first.ImageDigest)
		}
	})

	t.Run("existing container: a newer image is advised; always with recreate switches", func(t *testing.T) {
		before, err := s.Status(ctx)
		if err != nil || !before.Running {
			t.Fatalf("Status = %+v, %v", before, err)
		}
		v3 := stacktest.Derive(outer, stacktest.Image(t), 1<<20)
		reg.Push(outer, v3, "fakemetabase:policy")
		// Push leaves the tag, and its digest, absent locally; bring both back on the image in use, as
		// a machine that pulled it earlier has them.
		c := stacktest.Client(t)
		rc, err := c.ImagePull(ctx, reg.Addr+"/fakemetabase@"+before.ImageDigest, image.PullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, rc)
		rc.Close()
		if err := c.ImageTag(ctx, before.ImageID, remote); err != nil {
			t.Fatal(err)
		}
		var rec recorder
		info, err := s.Up(ctx, rec.emit)
		if err != nil || !info.Reused {
			t.Fatalf("Up = %+v, %v; want the running container reused", info, err)
		}
		warn := rec.of(Warning)
		if len(warn) != 1 || !strings.Contains(warn[0].Message, "a newer "+remote+" is available") || !strings.Contains(warn[0].Message, "--pull always --recreate") {
			t.Errorf("warnings %+v; want one advising the newer image and how to switch", warn)
		}
		sw := newTestStack(t, Config{Image: remote, StateDir: s.cfg.StateDir, Port: s.cfg.Port, Pull: PullAlways, Recreate: true})
		rec = recorder{}
		info, err = sw.Up(ctx, rec.emit)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.of(PullDone)) != 1 || info.Reused || info.ImageDigest == before.ImageDigest {
			t.Errorf("--pull always --recreate: events %v, info %+v; want a pull and a new container on the new digest (was %s)", rec.kinds(), info, before.ImageDigest)
		}
	})

	t.Run("always pulls, missing does not ask", func(t *testing.T) {
		always := newTestStack(t, Config{Image: remote, Pull: PullAlways, StateDir: s.cfg.StateDir + "-always"})
		rec, _ := up(t, always)
		if len(rec.of(PullDone)) != 1 || len(rec.of(PullStart)) != 1 || !strings.Contains(rec.of(PullStart)[0].Message, "pull policy always") {
			t.Errorf("--pull always: events %v %+v; want a pull, announced", rec.kinds(), rec.of(PullStart))
		}
		missing := newTestStack(t, Config{Image: remote, Pull: PullMissing, StateDir: s.cfg.StateDir + "-missing"})
		rec, _ = up(t, missing)
		if len(rec.of(PullStart)) != 0 || len(rec.of(Warning)) != 0 || strings.Contains(rec.of(ImagePresent)[0].Message, "registry") {
			t.Errorf("--pull missing: events %v %+v; want the present image, unchecked", rec.kinds(), rec.of(ImagePresent))
		}
	})

	t.Run("never with the image absent", func(t *testing.T) {
		never := newTestStack(t, Config{Image: reg.Addr + "/fakemetabase:absent", Pull: PullNever})
		if c := check(t, never.Preflight(ctx), "image"); c.OK || !strings.Contains(c.Fix, "--pull missing") {
			t.Errorf("image check with --pull never and no image = %+v; want it to fail before any write, with the way out", c)
		}
		_, err := never.Up(ctx, nil)
		if !errors.Is(err, ErrImageMissing) || !strings.Contains(err.Error(), "--pull missing") {
			t.Errorf("Up --pull never without the image = %v; want ErrImageMissing with the way out", err)
		}
	})

	t.Run("registry unreachable: warning, run what is present", func(t *testing.T) {
		reg.Stop()
		rec, info := up(t, s)
		warn := rec.of(Warning)
		if len(warn) != 1 || !strings.Contains(warn[0].Message, "could not check "+reg.Addr) || !strings.Contains(warn[0].Message, "running the image present") {
			t.Errorf("warnings %+v; want one saying the registry could not be checked", warn)
		}
		if len(rec.of(PullStart)) != 0 || info.URL == "" {
			t.Errorf("events %v; want the present image run without a pull", rec.kinds())
		}
	})
}

// TestCtrlCDuringFirstBoot: the user stops Up while Metabase boots for the first time, right after
// the container was created. Created fired first (so a caller saved its state), and even without any
// state the container is found by its labels: Find, Status, Logs and Down work on it.
func TestCtrlCDuringFirstBoot(t *testing.T) {
	t.Parallel()
	s := newTestStack(t, Config{Env: map[string]string{"FAKEMETABASE_BOOT_SECONDS": "60"}})
	ctx, cancel := context.WithCancel(testContext(t))
	var rec recorder
	_, err := s.Up(ctx, func(e Event) {
		rec.emit(e)
		if e.Kind == Booting {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Up cancelled during the boot = %v", err)
	}
	created := rec.of(Created)
	if len(created) != 1 || created[0].ContainerID == "" || created[0].Name != s.containerName() {
		t.Fatalf("created events %+v; want one naming the container before the boot", created)
	}
	kinds := rec.kinds()
	if ci, si := indexOf(kinds, Created), indexOf(kinds, Starting); ci < 0 || si < 0 || ci > si {
		t.Errorf("events %v; want created before starting", kinds)
	}

	ctx = testContext(t)
	f, found, err := Find(ctx, s.cfg.StateDir)
	if err != nil || !found || f.ContainerID != created[0].ContainerID || f.Port != s.cfg.Port || f.Image != s.cfg.Image || f.StateDir != s.cfg.StateDir || f.Volume != s.volumeName() {
		t.Fatalf("Find = %+v, %v, %v; want the container with its port, image, state dir and volume", f, found, err)
	}
	// A fresh Stack from what Find says, as status/down/logs build it without a state file.
	again, err := New(Config{StateDir: f.StateDir, Image: f.Image, Port: f.Port})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if st, err := again.Status(ctx); err != nil || !st.Exists {
		t.Errorf("Status = %+v, %v", st, err)
	}
	var logs strings.Builder
	if err := again.Logs(ctx, false, 10, &logs); err != nil {
		t.Errorf("Logs = %v", err)
	}
	all, err := List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listed := false
	for _, g := range all {
		listed = listed || g == f
	}
	if !listed {
		t.Errorf("List = %+v; lacks %+v", all, f)
	}
	if err := again.Down(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, found, err := Find(ctx, s.cfg.StateDir); found || err != nil {
		t.Errorf("Find after down = %v, %v; want nothing", found, err)
	}
}

func indexOf(kinds []EventKind, k EventKind) int {
	for i, x := range kinds {
		if x == k {
			return i
		}
	}
	return -1
}

// TestOOMKillNamed runs a program that allocates without end under a 16 MiB limit: Up says plainly
// that it ran out of memory, with the limit and the flag, and Status says the same afterwards.
func TestOOMKillNamed(t *testing.T) {
	t.Parallel()
	s := newTestStack(t, Config{Image: stacktest.OOMImage(t), Memory: 16 << 20})
	ctx := testContext(t)
	_, err := s.Up(ctx, nil)
	st, stErr := s.Status(ctx)
	// Docker flags most OOM kills but not all on cgroup v2 (see exitReason): a flagged one is ErrOutOfMemory,
	// an unflagged one says "most likely out of memory"; both name the limit and the flag.
	if !errors.Is(err, ErrContainerExited) || errors.Is(err, ErrOutOfMemory) != st.OOMKilled {
		t.Fatalf("Up = %v (OOMKilled %v); want ErrContainerExited, and ErrOutOfMemory exactly when Docker flagged the kill", err, st.OOMKilled)
	}
	if missing := containsAll(said(err), "out of memory", "16 MiB limit", "--memory"); len(missing) > 0 {
		t.Errorf("error %q lacks %q", said(err), missing)
	}
	if stErr != nil || st.ExitCode != 137 || !strings.Contains(st.Exit, "out of memory") || st.Memory != 16<<20 {
		t.Errorf("Status = %+v, %v; want the OOM kill named", st, stErr)
	}
}

// TestLicenseNotInContainer: docker inspect must not show the license.
func TestLicenseNotInContainer(t *testing.T) {
	t.Parallel()
	s := newTestStack(t, Config{LicenseToken: testToken})
	mustUp(t, s, nil)
	c := stacktest.Client(t)
	st, _, err := s.find(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	j, err := c.ContainerInspect(testContext(t), st.ID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(j)
	if strings.Contains(string(raw), testToken) {
		t.Error("docker inspect shows the license token")
	}
}

// TestTestEndpointsWorkOnTheVolume: with Metabase's test endpoints on (--fast-reset) the JVM's working
// directory, where /api/testing/snapshot writes, is on the data volume; otherwise the image's own.
func TestTestEndpointsWorkOnTheVolume(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{{map[string]string{"MB_ENABLE_TEST_ENDPOINTS": "true"}, dbFile}, {nil, ""}} {
		s := newTestStack(t, Config{Env: tt.env})
		mustUp(t, s, nil)
		st, _, err := s.find(testContext(t))
		if err != nil {
			t.Fatal(err)
		}
		j, err := stacktest.Client(t).ContainerInspect(testContext(t), st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := j.Config.WorkingDir; got != tt.want {
			t.Errorf("env %v: WorkingDir = %q, want %q", tt.env, got, tt.want)
		}
	}
}
