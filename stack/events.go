package stack

import "fmt"

// EventKind says what an Event reports.
type EventKind int

const (
	PullStart    EventKind = iota // the image is absent; a pull begins
	PullProgress                  // Layers and Percent changed (emitted at a bounded rate)
	PullDone                      // the image is now present
	ImagePresent                  // the image was already present; nothing to pull
	Creating                      // creating the volume and container
	Starting                      // starting a created or stopped container
	Booting                       // Metabase is starting; Boot holds its progress 0..1
	Healthy                       // /api/health answered 200
	Reused                        // the container was already running
	LogLine                       // one line of the container's log (Message)
	Stopping                      // stopping the container (down, snapshot)
	Restoring                     // copying a snapshot into a fresh container
)

var kindNames = [...]string{
	PullStart: "pull-start", PullProgress: "pull-progress", PullDone: "pull-done", ImagePresent: "image-present",
	Creating: "creating", Starting: "starting", Booting: "booting", Healthy: "healthy", Reused: "reused",
	LogLine: "log", Stopping: "stopping", Restoring: "restoring",
}

func (k EventKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one step of progress. Up and RestoreSnapshot call emit from their own goroutine only, so a
// front end may update its model without locking.
type Event struct {
	Kind    EventKind
	Message string
	Layers  []Layer // pull events: one entry per layer, in the order the registry announced them; a copy
	Percent float64 // pull events: overall pull progress 0..100, never decreasing
	Boot    float64 // Booting: Metabase's own boot progress 0..1
}

// Layer is the pull state of one image layer. Current/Total count bytes of the phase named by Status
// (downloading, then extracting); Total is 0 while the registry has not said.
type Layer struct {
	ID, Status     string
	Current, Total int64
}

// emitter makes a nil callback safe to call.
type emitter func(Event)

func (e emitter) send(ev Event) {
	if e != nil {
		e(ev)
	}
}
