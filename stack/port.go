package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// ProbePort is the one "is this port free" rule, used by the stack's port check and by the session's for the
// host app: it listens on 127.0.0.1:port for an instant. nil means free; an error wrapping ErrPortInUse means
// something listens there (named when this machine's /proc says who); any other error (a privileged port for
// an unprivileged user, say) means this process cannot listen there, which callers weigh themselves: Docker
// publishes ports as root, the host app listens as the user.
func ProbePort(port int) error {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err == nil {
		return ln.Close()
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		holder := procPortOwner(port)
		if holder == "" {
			holder = "another program"
		}
		return fmt.Errorf("%w: 127.0.0.1:%d is held by %s", ErrPortInUse, port, holder)
	}
	return fmt.Errorf("listen on 127.0.0.1:%d: %w", port, err)
}

// LocalImage is the configured image as it is on this machine.
type LocalImage struct {
	ID      string // sha256:…
	Digest  string // the registry's digest for the reference's repository, "" when built locally
	Version string // the image's own Metabase version label, when it has one (see imageFacts)
}

// LocalImage inspects the configured image; ok is false when it is not on this machine. It reads only.
func (s *Stack) LocalImage(ctx context.Context) (LocalImage, bool, error) {
	img, err := s.eng.image(ctx, s.cfg.Image)
	switch {
	case isNotFound(err):
		return LocalImage{}, false, nil
	case err != nil:
		return LocalImage{}, false, s.wrap("inspect image "+s.cfg.Image, err)
	}
	digest, version := s.imageFacts(ctx, containerState{ImageID: img.ID, Labels: map[string]string{labelImage: s.cfg.Image}})
	return LocalImage{ID: img.ID, Digest: digest, Version: version}, true, nil
}
