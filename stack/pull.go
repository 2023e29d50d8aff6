package stack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/distribution/reference"
)

const (
	pullInterval = 100 * time.Millisecond // at most ten progress events a second
	// pullStall aborts a pull that has said nothing for this long; a live pull reports several times a second.
	pullStall = 2 * time.Minute
	// downloadShare is the part of a layer's weight that its download stands for; extraction is the rest.
	// The overall percent is a share of bytes, so it never runs ahead of the bytes received: a layer
	// downloaded but not extracted counts 75 % of its size, never all of it.
	downloadShare = 0.75
	// checkTimeout bounds the registry look-ups made before a pull (digest, layer sizes): a registry
	// that does not answer in time is reported, and the image present is used.
	checkTimeout = 10 * time.Second
)

var errPullStalled = fmt.Errorf("the registry sent nothing for %v", pullStall)

// PullPolicy says when Up pulls the image; the values mean what they mean to `docker run --pull`.
type PullPolicy string

const (
	// PullDefault pulls a missing image, and for a tag given without a digest (latest included) asks the
	// registry for the tag's digest and pulls when it differs from the local image's. A registry that
	// cannot be reached leaves the local image in use, with a Warning event.
	PullDefault PullPolicy = ""
	PullMissing PullPolicy = "missing" // pull only when the image is absent; never ask the registry
	PullAlways  PullPolicy = "always"  // pull every time a container is created
	PullNever   PullPolicy = "never"   // never pull: an absent image is an error
)

// ParsePullPolicy reads a --pull value; "" is PullDefault.
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch p := PullPolicy(strings.ToLower(strings.TrimSpace(s))); p {
	case PullDefault, PullMissing, PullAlways, PullNever:
		return p, nil
	}
	return "", fmt.Errorf("pull policy %q is not one of missing, always, never (as for docker run --pull)", s)
}

// parseImage checks an image reference the way the engine will read it.
func parseImage(ref string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, fmt.Errorf("image reference %q does not parse (%w): use repository[:tag], e.g. %s or metabase/metabase-enterprise:v1.63.13", ref, err, DefaultImage)
	}
	return named, nil
}

// ensureImage applies the pull policy: it uses the configured image when present (and current, for
// PullDefault), and pulls it, with progress, otherwise.
func (s *Stack) ensureImage(ctx context.Context, em emitter) error {
	img, err := s.eng.image(ctx, s.cfg.Image)
	present := err == nil
	if err != nil && !isNotFound(err) {
		return s.wrap("inspect image "+s.cfg.Image, err)
	}
	usePresent := func(why string) error {
		em.send(Event{Kind: ImagePresent, Message: s.cfg.Image + " is present (" + shortID(img.ID) + ")" + why, Percent: 100, Digest: img.digestFor(s.cfg.Image)})
		return nil
	}
	switch s.cfg.Pull {
	case PullNever:
		if !present {
			return fmt.Errorf("image %s: %w: it is not on this machine and the pull policy is never. "+
				"Pull it (docker pull %s), or allow the pull (--pull missing)", s.cfg.Image, ErrImageMissing, s.cfg.Image)
		}
		return usePresent("")
	case PullAlways:
		if present {
			return s.pull(ctx, em, "pulling "+s.cfg.Image+" (pull policy always)")
		}
		return s.pull(ctx, em, "")
	case PullMissing:
		if present {
			return usePresent("")
		}
		return s.pull(ctx, em, "")
	}
	if !present {
		return s.pull(ctx, em, "")
	}
	named, _ := parseImage(s.cfg.Image)
	if _, pinned := named.(reference.Digested); pinned {
		return usePresent("") // a digest names one image for ever
	}
	if len(img.RepoDigests) == 0 {
		// Built or loaded on this machine, never pulled: there is no registry copy to compare with.
		return usePresent(", built locally")
	}
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	remote, err := s.eng.remoteDigest(cctx, s.cfg.Image)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return s.wrap("check "+s.cfg.Image, ctx.Err())
		}
		em.send(Event{Kind: Warning, Message: fmt.Sprintf("could not check %s for a newer %s (%s): running the image present on this machine, %s",
			registryOf(s.cfg.Image), s.cfg.Image, shortErr(err), shortID(img.ID))})
		return usePresent("")
	}
	if img.hasDigest(remote) {
		return usePresent(", the registry's current one")
	}
	return s.pull(ctx, em, "a newer image is available: pulling "+s.cfg.Image+" ("+shortDigest(remote)+", here "+shortDigest(img.digestFor(s.cfg.Image))+")")
}

// adviseTimeout bounds the registry check made for a container that already exists: it only advises,
// so it must not hold up an `up` that would otherwise take a second.
const adviseTimeout = 3 * time.Second

// adviseNewer tells, for a container kept as it is, when the registry has a newer image for its tag:
// switching means a new container (the data volume is kept), which Up does only when asked.
func (s *Stack) adviseNewer(ctx context.Context, st containerState, em emitter) {
	if s.cfg.Pull != PullDefault {
		return
	}
	named, err := parseImage(s.cfg.Image)
	if err != nil {
		return
	}
	if _, pinned := named.(reference.Digested); pinned {
		return
	}
	img, err := s.eng.image(ctx, st.ImageID)
	if err != nil || len(img.RepoDigests) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, adviseTimeout)
	defer cancel()
	remote, err := s.eng.remoteDigest(cctx, s.cfg.Image)
	if err != nil || img.hasDigest(remote) {
		return // unreachable: nothing to advise; the running image is what the user had
	}
	em.send(Event{Kind: Warning, Message: fmt.Sprintf("a newer %s is available (%s; this container runs %s): "+
		"pull it and recreate the container to switch, the data volume is kept (embedwizard up --pull always --recreate)",
		s.cfg.Image, shortDigest(remote), shortDigest(img.digestFor(s.cfg.Image)))})
}

func registryOf(ref string) string {
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		return reference.Domain(named)
	}
	return "the registry"
}

// shortErr is the last, most specific part of a wrapped error, for a one-line warning.
func shortErr(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(msg)-i > 12 {
		msg = msg[i+2:]
	}
	return msg
}

func shortDigest(d string) string {
	if d == "" {
		return "none"
	}
	_, hex, ok := strings.Cut(d, ":")
	if !ok {
		hex = d
	}
	return "sha256:" + hex[:min(12, len(hex))]
}

// pull pulls the image; start is the PullStart message, "" for "pulling <image>".
func (s *Stack) pull(ctx context.Context, em emitter, start string) error {
	ref := s.cfg.Image
	tr := pullTracker{}
	if start == "" {
		start = "pulling " + ref
	}
	em.send(Event{Kind: PullStart, Message: start})
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchdog := time.AfterFunc(pullStall, func() { cancel(errPullStalled) })
	defer watchdog.Stop()

	// Layer sizes from the registry make the total exact: without them the engine names a layer's
	// size only when its download begins, and it downloads three at a time. They are read beside the
	// pull, not before it, so that the pull starts at once (the benchmark against docker pull).
	sizes := make(chan map[string]int64, 1)
	go func() {
		sctx, scancel := context.WithTimeout(ctx, checkTimeout)
		defer scancel()
		m, err := s.layerSizes(sctx, ref)
		if err != nil {
			m = nil
		}
		sizes <- m
	}()
	sized := false
	th := throttle{every: s.pullEvery, now: time.Now}
	err := s.eng.pull(ctx, ref, func(m pullMessage) error {
		watchdog.Reset(pullStall)
		if m.Err != "" {
			return errors.New(m.Err)
		}
		changed := false
		if !sized {
			select {
			case m := <-sizes:
				sized, changed = true, tr.setSizes(m)
			default:
			}
		}
		if tr.update(m) {
			changed = true
		}
		if changed && th.allow() {
			em.send(Event{Kind: PullProgress, Message: "pulling " + ref, Layers: tr.layers(), Percent: tr.percent(), Bytes: tr.bytes()})
		}
		return nil
	})
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			err = cause
		}
		return s.pullError(ref, err, &tr)
	}
	b := tr.bytes()
	b.Received = max(b.Received, 0)
	em.send(Event{Kind: PullDone, Message: "pulled " + ref, Layers: tr.layers(), Percent: 100, Bytes: b})
	return nil
}

// pullError says which of the ways a pull fails this was, and how to go on.
func (s *Stack) pullError(ref string, err error, tr *pullTracker) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("pull %s: interrupted after %s: %s: %w", ref, tr.bytes().progress(), interruptedNext, err)
	}
	if isUnreachable(err) {
		return s.wrap("pull "+ref, err)
	}
	registry := registryOf(ref)
	local := "or use --image with an image you already have (docker images)"
	msg := strings.ToLower(err.Error())
	switch {
	case errors.Is(err, errPullStalled) || containsAny(msg, "no such host", "connection refused", "network is unreachable",
		"no route to host", "i/o timeout", "tls handshake timeout", "server misbehaving", "connection reset", "deadline exceeded"):
		return fmt.Errorf("pull %s: %w: cannot reach %s (no network, a proxy in the way, or the registry is down). Check your connection, %s: %w",
			ref, ErrImagePull, registry, local, err)
	case containsAny(msg, "manifest unknown", "not found", "repository does not exist", "pull access denied", "name unknown"):
		return fmt.Errorf("pull %s: %w: unknown image or tag: %s has no %s. Check the name and tag (for Metabase see https://hub.docker.com/r/metabase/metabase-enterprise/tags), %s: %w",
			ref, ErrImagePull, registry, ref, local, err)
	}
	return fmt.Errorf("pull %s: %w: %s answered with an error. Retry in a while (rate limits, outages), %s: %w",
		ref, ErrImagePull, registry, local, err)
}

// interruptedNext is what the next run does after a pull was stopped. The engine keeps no partial
// image: with its classic layer store a layer belongs to nothing until the whole image is registered,
// so a cancelled pull releases the layers it had finished too (Engine 20.10 does: the issue's own
// measurement). Engines with the containerd image store keep downloaded content, which then shows as
// "Already exists"; either way nothing here promises a resume.
const interruptedNext = "the next run pulls again, and may download everything again: Docker does not keep a half-pulled image " +
	"(Engine 20.10 drops even the layers it had finished)"

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
