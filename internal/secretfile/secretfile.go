// Package secretfile writes files that hold secrets: mode 0600 from the first byte (never world-readable for
// an instant), in a 0700 directory, and atomically (a crash leaves the old file or the new one, never half).
// The state file and the emulator's app database both go through it.
package secretfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Write replaces path with data, fsynced (file and directory) before it returns. A directory that already
// exists with group or world access is narrowed to 0700 first (PrivateDir).
func Write(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := PrivateDir(dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tempPrefix(path)+"*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	// CreateTemp already makes the file 0600; Chmod guards against an unusual umask-less filesystem.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	// The rename is durable only once the directory is synced; without it a power cut can lose the file
	// that was just promised saved (the admin password before setup, for one).
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// tempPrefix is the name temporary files of path start with: ".state.json-".
func tempPrefix(path string) string { return "." + filepath.Base(path) + "-" }

// PrivateDir makes dir (and its parents) if needed and makes sure only its owner can enter it: an existing
// directory with group or world access bits is changed to 0700. It fails, saying so, when that cannot be
// done (a directory of another user, say).
func PrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("%s is open to other users (mode %v) and cannot be made private: %w", dir, fi.Mode().Perm(), err)
		}
	}
	return nil
}

// CleanTemp removes the temporary files a killed Write of path left behind (".state.json-*.tmp"), which
// may hold secrets. It is called when a program starts, before it writes path again; a missing directory
// is nothing to clean.
func CleanTemp(path string) error {
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	prefix := tempPrefix(path)
	var errs []error
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasPrefix(n, prefix) && strings.HasSuffix(n, ".tmp") {
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
