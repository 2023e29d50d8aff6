package stack

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// A snapshot is a gzipped tar of the data volume's directory (metabase.db/…), exactly as the Docker
// copy API hands it out, so restoring is one CopyToContainer to "/".
const snapshotRoot = "metabase.db"

// copyTimeout bounds copying a snapshot out of or into a container; H2 files of a quick-start
// Metabase are tens of megabytes.
const copyTimeout = 5 * time.Minute

// SaveSnapshot copies the H2 application database out of the container into path (mode 0600).
//
// The copy is taken from a stopped container: H2 writes its file in place while Metabase runs, and a
// copy taken mid-write can restore to a Metabase that does not boot, the one thing a reset must never
// do. So a running container is stopped (Metabase closes H2 cleanly on SIGTERM), copied with the
// Docker copy API (no helper image), started again, and awaited until healthy.
func (s *Stack) SaveSnapshot(ctx context.Context, path string) error {
	st, err := s.mustFind(ctx, "save snapshot")
	if err != nil {
		return err
	}
	if st.Running {
		if err := s.eng.stop(ctx, st.ID, stopGrace); err != nil {
			return s.wrap("save snapshot: stop "+st.Name, err)
		}
	}
	if err := s.copyOut(ctx, st.ID, path); err != nil {
		return err
	}
	if !st.Running {
		return nil
	}
	since := time.Now()
	if err := s.eng.start(ctx, st.ID); err != nil {
		return s.wrap("save snapshot: start "+st.Name+" again", err)
	}
	if _, err := s.waitHealthy(ctx, st.ID, since, nil); err != nil {
		return fmt.Errorf("save snapshot (saved to %s, but Metabase did not come back): %w", path, err)
	}
	return nil
}

// copyOut writes the snapshot through a temporary file, so a failed save leaves an earlier snapshot
// at path intact.
func (s *Stack) copyOut(ctx context.Context, id, dst string) (err error) {
	ctx, cancel := context.WithTimeout(ctx, copyTimeout)
	defer cancel()
	rc, err := s.eng.copyFrom(ctx, id, dataDir)
	if err != nil {
		return s.wrap("save snapshot: copy "+dataDir+" out of the container", err)
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".snapshot-*")
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// CreateTemp makes the file 0600 already; the snapshot holds password hashes and the JWT key.
	zw := gzip.NewWriter(f)
	if err := checkSnapshot(io.TeeReader(rc, zw)); err != nil {
		return fmt.Errorf("save snapshot: the container's %s: %w", dataDir, err)
	}
	if _, err := io.Copy(zw, rc); err != nil { // tar padding after the last entry
		return fmt.Errorf("save snapshot: read from Docker: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("save snapshot: write %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save snapshot: write %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	return nil
}

// checkSnapshot reads a tar stream to its end and makes sure it is a snapshot: every entry inside
// metabase.db/, and a non-empty H2 database file among them.
func checkSnapshot(r io.Reader) error {
	tr := tar.NewReader(r)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("not a tar archive: %w", err)
		}
		name := path.Clean(h.Name)
		if name != snapshotRoot && !strings.HasPrefix(name, snapshotRoot+"/") {
			return fmt.Errorf("entry %q lies outside %s/", h.Name, snapshotRoot)
		}
		if h.Typeflag == tar.TypeReg && strings.HasSuffix(name, ".mv.db") && h.Size > 0 {
			found = true
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return fmt.Errorf("read %s: %w", h.Name, err)
		}
	}
	if !found {
		return errors.New("it holds no H2 database (*.mv.db): was Metabase ever started with this volume?")
	}
	return nil
}

// openSnapshot returns the snapshot's tar stream.
func openSnapshot(name string) (io.ReadCloser, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is not a snapshot (not gzip): %w", name, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

// RestoreSnapshot replaces the stack with a fresh container and volume holding the snapshot's
// database, starts it and waits until Metabase is healthy. The snapshot is verified before anything
// is removed, so a bad file leaves the current stack as it was.
func (s *Stack) RestoreSnapshot(ctx context.Context, path string, emit func(Event)) (Info, error) {
	em := emitter(emit)
	if err := verifySnapshot(path); err != nil {
		return Info{}, fmt.Errorf("restore snapshot: %w. Save a new one from a configured stack (embedwizard up), or rebuild with embedwizard reset --full", err)
	}
	em.send(Event{Kind: Restoring, Message: "removing the current container and data"})
	if err := s.Down(ctx, true); err != nil {
		return Info{}, fmt.Errorf("restore snapshot: %w", err)
	}
	st, err := s.create(ctx, em)
	if err != nil {
		return Info{}, fmt.Errorf("restore snapshot: %w", err)
	}
	em.send(Event{Kind: Restoring, Message: "copying the snapshot into volume " + s.volumeName()})
	snap, err := openSnapshot(path)
	if err != nil {
		return Info{}, fmt.Errorf("restore snapshot: %w", err)
	}
	defer snap.Close()
	copyCtx, cancel := context.WithTimeout(ctx, copyTimeout)
	defer cancel()
	if err := s.eng.copyTo(copyCtx, st.ID, "/", snap); err != nil {
		return Info{}, s.wrap("restore snapshot: copy into the container", err)
	}
	info, err := s.start(ctx, st, em)
	if err != nil {
		return info, fmt.Errorf("restore snapshot: %w", err)
	}
	return info, nil
}

func verifySnapshot(name string) error {
	snap, err := openSnapshot(name)
	if err != nil {
		return err
	}
	defer snap.Close()
	if err := checkSnapshot(snap); err != nil {
		return fmt.Errorf("%s is not a usable snapshot: %w", name, err)
	}
	return nil
}
