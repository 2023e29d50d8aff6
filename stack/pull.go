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
	// downloadShare is the part of a layer's progress that its download stands for; extraction is the rest.
	downloadShare = 0.75
)

var errPullStalled = fmt.Errorf("the registry sent nothing for %v", pullStall)

// parseImage checks an image reference the way the engine will read it.
func parseImage(ref string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, fmt.Errorf("image reference %q does not parse (%w): use repository[:tag], e.g. %s or metabase/metabase-enterprise:v1.63.1", ref, err, DefaultImage)
	}
	return named, nil
}

// ensureImage uses the configured image when present and pulls it, with progress, when absent.
func (s *Stack) ensureImage(ctx context.Context, em emitter) error {
	id, err := s.eng.imageID(ctx, s.cfg.Image)
	if err == nil {
		em.send(Event{Kind: ImagePresent, Message: s.cfg.Image + " is present (" + shortID(id) + ")", Percent: 100})
		return nil
	}
	if !isNotFound(err) {
		return s.wrap("inspect image "+s.cfg.Image, err)
	}
	return s.pull(ctx, em)
}

func (s *Stack) pull(ctx context.Context, em emitter) error {
	ref := s.cfg.Image
	em.send(Event{Kind: PullStart, Message: "pulling " + ref})
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchdog := time.AfterFunc(pullStall, func() { cancel(errPullStalled) })
	defer watchdog.Stop()

	var tr pullTracker
	th := throttle{every: s.pullEvery, now: time.Now}
	err := s.eng.pull(ctx, ref, func(m pullMessage) error {
		watchdog.Reset(pullStall)
		if m.Err != "" {
			return errors.New(m.Err)
		}
		if tr.update(m) && th.allow() {
			em.send(Event{Kind: PullProgress, Message: "pulling " + ref, Layers: tr.layers(), Percent: tr.percent})
		}
		return nil
	})
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			err = cause
		}
		return s.pullError(ref, err)
	}
	tr.percent = 100
	em.send(Event{Kind: PullDone, Message: "pulled " + ref, Layers: tr.layers(), Percent: 100})
	return nil
}

// pullError says which of the three ways a pull fails this was, and how to go on.
func (s *Stack) pullError(ref string, err error) error {
	if isUnreachable(err) || errors.Is(err, context.Canceled) {
		return s.wrap("pull "+ref, err)
	}
	registry := "the registry"
	if named, perr := reference.ParseNormalizedNamed(ref); perr == nil {
		registry = reference.Domain(named)
	}
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

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// pullTracker folds the pull stream into per-layer state and an overall percentage.
type pullTracker struct {
	order   []string
	state   map[string]*trackedLayer
	percent float64 // never decreases, so a bar never jumps back
}

type trackedLayer struct {
	Layer
	size int64 // download size once known
}

// update applies one message and reports whether anything visible changed.
func (t *pullTracker) update(m pullMessage) bool {
	// Messages without an id are summaries ("Digest: …"); "Pulling from <repo>" carries the tag as its id.
	if m.ID == "" || strings.HasPrefix(m.Status, "Pulling from") {
		return false
	}
	if t.state == nil {
		t.state = map[string]*trackedLayer{}
	}
	l, ok := t.state[m.ID]
	if !ok {
		l = &trackedLayer{Layer: Layer{ID: m.ID}}
		t.state[m.ID] = l
		t.order = append(t.order, m.ID)
	}
	before := l.Layer
	l.Status, l.Current, l.Total = m.Status, m.Current, m.Total
	if m.Status == "Downloading" && m.Total > 0 {
		l.size = m.Total
	}
	if l.Layer == before {
		return false
	}
	t.percent = max(t.percent, t.overall())
	return true
}

// overall weighs each layer by its download size; layers whose size is not known yet count as the
// average known one.
func (t *pullTracker) overall() float64 {
	var known, n int64
	for _, l := range t.state {
		if l.size > 0 {
			known += l.size
			n++
		}
	}
	avg := 1.0
	if n > 0 {
		avg = float64(known) / float64(n)
	}
	var done, total float64
	for _, l := range t.state {
		w := avg
		if l.size > 0 {
			w = float64(l.size)
		}
		done += w * layerFraction(l.Layer)
		total += w
	}
	if total == 0 {
		return 0
	}
	return 100 * done / total
}

func layerFraction(l Layer) float64 {
	ratio := 0.0
	if l.Total > 0 {
		ratio = min(float64(l.Current)/float64(l.Total), 1)
	}
	switch l.Status {
	case "Downloading":
		return downloadShare * ratio
	case "Verifying Checksum", "Download complete":
		return downloadShare
	case "Extracting":
		return downloadShare + (1-downloadShare)*ratio
	case "Pull complete", "Already exists":
		return 1
	}
	return 0 // Pulling fs layer, Waiting, Retrying…
}

func (t *pullTracker) layers() []Layer {
	out := make([]Layer, len(t.order))
	for i, id := range t.order {
		out[i] = t.state[id].Layer
	}
	return out
}

// throttle lets an event through at most once per interval.
type throttle struct {
	every time.Duration
	now   func() time.Time
	last  time.Time
}

func (th *throttle) allow() bool {
	now := th.now()
	if !th.last.IsZero() && now.Sub(th.last) < th.every {
		return false
	}
	th.last = now
	return true
}
