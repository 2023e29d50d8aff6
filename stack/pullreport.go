package stack

import (
	"fmt"
	"io"
	"time"
)

const (
	// reportEvery and reportStep pace the plain-text pull lines (up --yes, logs, CI): a line every few
	// seconds, or sooner when the total moved by ten points, and never more than one per update.
	reportEvery = 5 * time.Second
	reportStep  = 10.0
)

// PullReporter prints a pull as plain lines, one per update, without carriage returns, for output
// that is not a terminal. Feed it every Event; it prints pull events and ignores the rest.
type PullReporter struct {
	w       io.Writer
	now     func() time.Time
	start   time.Time // the first progress event
	last    time.Time // the last line printed
	lastPct float64
	started bool
	printed bool
	seen    bool // a progress event of this pull arrived
}

// NewPullReporter writes to w; now is time.Now outside tests.
func NewPullReporter(w io.Writer, now func() time.Time) *PullReporter {
	if now == nil {
		now = time.Now
	}
	return &PullReporter{w: w, now: now}
}

// Event prints the line ev calls for, if any.
func (r *PullReporter) Event(ev Event) {
	t := r.now()
	switch ev.Kind {
	case PullStart:
		r.start, r.started, r.printed, r.seen, r.last = t, true, false, false, time.Time{}
		fmt.Fprintln(r.w, ev.Message)
	case PullProgress:
		if !r.started {
			r.start, r.started = t, true
		}
		if !r.printed && !r.seen {
			// The layers already here are not progress of this pull: the 10-point rule counts from here.
			r.lastPct, r.seen = ev.Percent, true
		}
		if t.Sub(r.last) < reportEvery && ev.Percent < r.lastPct+reportStep {
			return
		}
		if !r.printed && t.Sub(r.start) < time.Second {
			return // no line in the first second: no speed to tell yet
		}
		fmt.Fprintln(r.w, PullLine(ev, t.Sub(r.start)))
		r.last, r.lastPct, r.printed = t, ev.Percent, true
	case PullDone:
		elapsed := t.Sub(r.start)
		line := fmt.Sprintf("pulled: %s in %s", megabytes(ev.Bytes.Received), elapsed.Round(time.Second))
		if ev.Bytes.Present > 0 {
			line += fmt.Sprintf(" (%s were already here)", megabytes(ev.Bytes.Present))
		}
		if s := speed(ev.Bytes.Received, elapsed); s > 0 {
			line += fmt.Sprintf(", %s/s", megabytes(int64(s)))
		}
		fmt.Fprintln(r.w, line)
		r.started, r.seen = false, false
	}
}

// PullLine is one progress line: bytes done of the total, the percent, the download speed since the
// pull began and the time left at that speed, e.g.
// "pulling: 123.4 MB of 767.0 MB (16%), 11.8 MB/s, about 55s left".
func PullLine(ev Event, elapsed time.Duration) string {
	b := ev.Bytes
	line := fmt.Sprintf("pulling: %s (%.0f%%)", b.progress(), ev.Percent)
	s := speed(b.Received, elapsed)
	if s <= 0 {
		return line
	}
	line += fmt.Sprintf(", %s/s", megabytes(int64(s)))
	left := b.Total - b.Present - b.Received
	switch {
	case left <= 0:
		line += ", extracting"
	case b.Exact:
		eta := time.Duration(float64(left) / s * float64(time.Second))
		if eta < time.Second {
			line += ", under a second left"
		} else {
			line += fmt.Sprintf(", about %s left", eta.Round(time.Second))
		}
	default:
		line += ", time left unknown (the registry did not give every layer's size)"
	}
	return line
}

func speed(n int64, d time.Duration) float64 {
	if d < 500*time.Millisecond || n <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
