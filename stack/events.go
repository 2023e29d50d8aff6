package stack

import "fmt"

// EventKind says what an Event reports.
type EventKind int

const (
	PullStart    EventKind = iota // a pull begins: the image is absent, the registry has a newer one, or the policy says always
	PullProgress                  // Layers, Percent and Bytes changed (emitted at a bounded rate)
	PullDone                      // the image is now present
	ImagePresent                  // the image was already present (and current, when checked); nothing to pull
	Creating                      // creating the volume and container
	Starting                      // starting a created or stopped container
	Booting                       // Metabase is starting; Boot holds its progress 0..1
	Healthy                       // /api/health and /api/session/properties answered 200: Metabase is ready
	Reused                        // the container was already running
	LogLine                       // one line of the container's log (Message)
	Stopping                      // stopping the container (down, snapshot)
	Restoring                     // copying a snapshot into a fresh container
	// Created: the container now exists (ContainerID, Name), before it is started. A caller saves its
	// state here, so that a Ctrl+C during the first boot leaves nothing that status, down and logs do
	// not know (they find the container by its labels even without a state file: Find).
	Created
	Warning // something the user should know that does not stop Up (Message), e.g. the registry could not be checked
)

var kindNames = [...]string{
	PullStart: "pull-start", PullProgress: "pull-progress", PullDone: "pull-done", ImagePresent: "image-present",
	Creating: "creating", Starting: "starting", Booting: "booting", Healthy: "healthy", Reused: "reused",
	LogLine: "log", Stopping: "stopping", Restoring: "restoring", Created: "created", Warning: "warning",
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
	Layers  []Layer   // pull events: one entry per layer, in the order the registry announced them; a copy
	Percent float64   // pull events: the share of the image's bytes done, 0..100 (see PullBytes)
	Bytes   PullBytes // pull events: bytes received, present and in total
	Boot    float64   // Booting: Metabase's own boot progress 0..1
	Digest  string    // ImagePresent, PullDone: the image's repo digest (sha256:…), "" for a locally built image
	// ContainerID and Name: Created (and later events) name the container.
	ContainerID, Name string
}

// Layer is the pull state of one image layer. Current/Total count bytes of the phase named by Status
// (downloading, then extracting); Total is 0 while the registry has not said.
type Layer struct {
	ID, Status     string // Status is the engine's own word ("Download complete"); show Phase instead
	Phase          LayerPhase
	Current, Total int64
	Size           int64 // compressed size, 0 while unknown
	Received       int64 // bytes downloaded by this pull
}

// emitter makes a nil callback safe to call.
type emitter func(Event)

func (e emitter) send(ev Event) {
	if e != nil {
		e(ev)
	}
}
