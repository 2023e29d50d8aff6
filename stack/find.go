package stack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// Found is a stack's container as its labels describe it: enough for status, down and logs to work
// when no state file was saved (a Ctrl+C during the first boot), and for the caller to write one.
type Found struct {
	StateDir    string // the absolute state directory the container was created for (its label)
	ContainerID string
	Name        string
	Image       string // the reference it was created from
	ImageID     string
	State       string // Docker's: created, running, exited, …
	Running     bool
	Port        int // the host port on 127.0.0.1
	Volume      string
}

// Find looks for the stack of stateDir by its labels alone, without a Config or a state file. It
// reports false when there is none.
func Find(ctx context.Context, stateDir string) (Found, bool, error) {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return Found{}, false, fmt.Errorf("find stack: state directory %q: %w", stateDir, err)
	}
	ep, err := ResolveEndpoint(os.Getenv)
	if err != nil {
		return Found{}, false, fmt.Errorf("find stack: choose the Docker daemon: %w", err)
	}
	eng, err := newDocker(ep)
	if err != nil {
		return Found{}, false, advise(fmt.Errorf("find stack: open Docker client for %s: %w", ep, err), ep.Fix())
	}
	s := newStack(Config{StateDir: abs}, eng)
	s.ep = ep
	defer s.Close()
	return s.Find(ctx)
}

// List finds every embedwizard stack on the daemon, whatever its state directory: for doctor, and
// for containers whose state directory is gone.
func List(ctx context.Context) ([]Found, error) {
	ep, err := ResolveEndpoint(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("list stacks: choose the Docker daemon: %w", err)
	}
	eng, err := newDocker(ep)
	if err != nil {
		return nil, advise(fmt.Errorf("list stacks: open Docker client for %s: %w", ep, err), ep.Fix())
	}
	defer eng.close()
	s := newStack(Config{StateDir: "/"}, eng)
	s.ep = ep
	return s.list(ctx)
}

func (s *Stack) list(ctx context.Context) ([]Found, error) {
	ids, err := s.eng.containers(ctx, map[string]string{labelStack: ""})
	if err != nil {
		return nil, s.wrap("list stacks", err)
	}
	var out []Found
	for _, id := range ids {
		st, err := s.eng.inspect(ctx, id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, s.wrap("list stacks: inspect "+shortID(id), err)
		}
		f := foundOf(st)
		if vols, err := s.eng.volumes(ctx, map[string]string{labelStack: st.Labels[labelStack]}); err == nil && len(vols) > 0 {
			f.Volume = vols[0]
		}
		out = append(out, f)
	}
	return out, nil
}

func foundOf(st containerState) Found {
	return Found{
		StateDir: st.Labels[labelStateDir], ContainerID: st.ID, Name: st.Name, Image: st.Labels[labelImage], ImageID: st.ImageID,
		State: st.Status, Running: st.Running, Port: st.HostPort,
	}
}

// Find is the package's Find for this stack's state directory.
func (s *Stack) Find(ctx context.Context) (Found, bool, error) {
	st, found, err := s.find(ctx)
	if err != nil || !found {
		return Found{}, false, s.wrapIf("find stack", err)
	}
	f := foundOf(st)
	if vols, err := s.eng.volumes(ctx, s.ownLabels()); err == nil && len(vols) > 0 {
		f.Volume = vols[0]
	}
	return f, true, nil
}

// stackID is the label value of a state directory's stack.
func stackID(absStateDir string) string {
	sum := sha256.Sum256([]byte(absStateDir))
	return hex.EncodeToString(sum[:6])
}
