package stack

import (
	"fmt"
	"strings"
	"time"
)

// LayerPhase is what the engine is doing with one layer, in words a person reads.
type LayerPhase int

const (
	LayerWaiting     LayerPhase = iota // announced, or waiting for a download slot (the engine fetches three at a time)
	LayerDownloading                   // bytes arriving: Current of Total
	LayerVerifying                     // download finished, checksum being verified
	LayerDownloaded                    // downloaded and verified, waiting for its turn to extract (layers extract in order)
	LayerExtracting                    // unpacking: Current of Total
	LayerDone                          // pulled and extracted
	LayerPresent                       // already on this machine: nothing to fetch
	LayerRetrying                      // a download failed and the engine retries it
)

var phaseWords = [...]string{
	LayerWaiting: "waiting", LayerDownloading: "downloading", LayerVerifying: "verifying", LayerDownloaded: "waiting to extract",
	LayerExtracting: "extracting", LayerDone: "done", LayerPresent: "already here", LayerRetrying: "retrying",
}

// String is the phase in the words the screens show.
func (p LayerPhase) String() string {
	if p >= 0 && int(p) < len(phaseWords) {
		return phaseWords[p]
	}
	return fmt.Sprintf("LayerPhase(%d)", int(p))
}

// Finished reports whether nothing is left to do for the layer.
func (p LayerPhase) Finished() bool { return p == LayerDone || p == LayerPresent }

// phaseOf maps the engine's status strings (moby distribution/pull_v2.go and xfer) to a phase.
func phaseOf(status string) LayerPhase {
	switch {
	case status == "Downloading":
		return LayerDownloading
	case status == "Verifying Checksum":
		return LayerVerifying
	case status == "Download complete":
		return LayerDownloaded
	case status == "Extracting":
		return LayerExtracting
	case status == "Pull complete":
		return LayerDone
	case status == "Already exists":
		return LayerPresent
	case strings.HasPrefix(status, "Retrying"):
		return LayerRetrying
	}
	return LayerWaiting // Pulling fs layer, Waiting
}

// PullBytes is the pull counted in bytes (compressed layer sizes, what travels over the network).
type PullBytes struct {
	Received int64 // downloaded so far by this pull
	Present  int64 // layers already on this machine (known when the registry gave the sizes)
	Total    int64 // sum of the layer sizes known so far, present ones included
	// Exact says every layer's size is known (the registry's manifest was read), so Total is the image.
	// Otherwise Total only holds the layers whose download has begun and may still grow.
	Exact bool
}

// progress is e.g. "123.4 MB of 767.0 MB" (or "of at least …" while sizes are missing).
func (b PullBytes) progress() string {
	of := "of"
	if !b.Exact {
		of = "of at least"
	}
	return fmt.Sprintf("%s %s %s", megabytes(b.Present+b.Received), of, megabytes(b.Total))
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// pullTracker folds the pull stream into per-layer state and byte counts.
type pullTracker struct {
	sizes map[string]int64 // short layer id → compressed size, from the registry's manifest; may be nil
	order []string
	state map[string]*trackedLayer
}

type trackedLayer struct {
	Layer
	extracted float64 // 0..1
}

// setSizes takes the registry's layer sizes (nil: none to be had) and reports whether any changed.
func (t *pullTracker) setSizes(sizes map[string]int64) bool {
	if sizes == nil {
		return false
	}
	t.sizes = sizes
	for _, l := range t.state {
		if n, ok := sizes[l.ID]; ok && n != l.Size {
			l.Size = n
			if l.Phase >= LayerVerifying && l.Phase != LayerPresent && l.Phase != LayerRetrying {
				l.Received = n
			}
		}
	}
	return true
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
		l = &trackedLayer{Layer: Layer{ID: m.ID, Size: t.sizes[m.ID]}}
		t.state[m.ID] = l
		t.order = append(t.order, m.ID)
	}
	before := l.Layer
	l.Status, l.Phase, l.Current, l.Total = m.Status, phaseOf(m.Status), m.Current, m.Total
	switch l.Phase {
	case LayerDownloading:
		if m.Total > 0 && l.Size == 0 {
			l.Size = m.Total
		}
		cur := m.Current
		if l.Size > 0 {
			cur = min(cur, l.Size)
		}
		l.Received = max(l.Received, cur)
	case LayerVerifying, LayerDownloaded, LayerExtracting, LayerDone:
		l.Received = l.Size // the download is over, whatever the last Downloading message said
		if l.Phase == LayerExtracting && m.Total > 0 {
			l.extracted = max(l.extracted, min(float64(m.Current)/float64(m.Total), 1))
		}
		if l.Phase == LayerDone {
			l.extracted = 1
		}
	}
	return l.Layer != before
}

// bytes sums the layers.
func (t *pullTracker) bytes() PullBytes {
	b := PullBytes{Exact: t.sizes != nil}
	for _, size := range t.sizes {
		b.Total += size
	}
	for _, id := range t.order {
		l := t.state[id]
		if t.sizes == nil {
			b.Total += l.Size
		} else if _, listed := t.sizes[id]; !listed {
			b.Total += l.Size // the engine pulls a layer the manifest did not list (another platform?)
			b.Exact = false
		}
		if l.Phase == LayerPresent {
			b.Present += l.Size
		} else {
			b.Received += l.Received
		}
	}
	return b
}

// percent is the share of the image's bytes that is done: present layers whole, a pulled layer 75 %
// for its download and 25 % for its extraction. It is 100 only when every layer is extracted or was
// present, and it never exceeds what the bytes received allow (the old rule, a bar that never goes
// back, sat at 100 % after the first "Already exists").
func (t *pullTracker) percent() float64 {
	b := t.bytes()
	if b.Total == 0 {
		return 0
	}
	if !b.Exact {
		// Without the manifest a layer's size is known once its download begins. While one is not,
		// any percent could be more than the bytes allow (the unknown layer may be the big one):
		// say 0 and let the bytes ("of at least …") tell the progress.
		for _, id := range t.order {
			if l := t.state[id]; l.Phase != LayerPresent && l.Size == 0 {
				return 0
			}
		}
	}
	var done float64
	allFinished := len(t.order) > 0
	for _, id := range t.order {
		l := t.state[id]
		switch {
		case l.Phase == LayerPresent:
			done += float64(l.Size)
		case l.Size > 0:
			done += downloadShare*float64(l.Received) + (1-downloadShare)*float64(l.Size)*l.extracted
		}
		allFinished = allFinished && l.Phase.Finished()
	}
	p := 100 * done / float64(b.Total)
	if !allFinished || (b.Exact && len(t.order) < len(t.sizes)) {
		p = min(p, 99.9)
	}
	return min(p, 100)
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
