// Package statelock makes sure that only one embedwizard at a time writes a state dir. Two runs of `up` on one
// state dir each saw "no X-ray dashboard yet" and each made one; a lock held for the whole command rules that out.
//
// The lock is an advisory lock on a file in the state dir (flock(2) on Linux and macOS, LockFileEx on Windows).
// The kernel drops it when the holder exits, however it exits, so a killed run never blocks the next one. The
// same file carries the holder's pid, command and start time, for the message a second run prints. That text is
// only a description: whether the dir is held is decided by the lock alone, never by what the file says.
package statelock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FileName is the lock file inside the state dir. It is never removed: removing a locked file lets a third
// process lock a new file under the same name while a second still waits on the old one.
const FileName = "state.lock"

// ErrHeld matches every *HeldError with errors.Is.
var ErrHeld = errors.New("the state dir is in use by another embedwizard")

// HeldError says that another process holds the lock, and who, as far as its lock file tells.
// PID is 0 when that is not known (the holder has not written it yet, or the file names a process that is gone).
type HeldError struct {
	Dir     string
	PID     int
	Command string
	Since   time.Time
}

func (e *HeldError) Error() string {
	var who []string
	if e.PID > 0 {
		who = append(who, fmt.Sprintf("pid %d", e.PID))
		if e.Command != "" {
			who = append(who, "`"+e.Command+"`")
		}
		if !e.Since.IsZero() {
			who = append(who, "since "+clock(e.Since, time.Now()))
		}
	}
	holder := "another embedwizard process"
	if len(who) > 0 {
		holder = "another embedwizard (" + strings.Join(who, ", ") + ")"
	}
	return holder + " holds the state dir " + tildePath(e.Dir) + "; wait for it or stop it"
}

// Is makes errors.Is(err, ErrHeld) true.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// Lock is a held state dir lock. Release it when the command is done; exiting releases it too.
type Lock struct {
	f *os.File
}

// info is what the lock file holds while the lock is held.
type info struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

// Acquire locks dir (created 0700 if missing) for command ("up", "reset", ...) without waiting. If another
// process holds it, the error is a *HeldError naming that process.
func Acquire(dir, command string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock the state dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the state dir: %w", err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the state dir: lock %s: %w", path, err)
	}
	if held {
		who := readInfo(f)
		f.Close()
		return nil, &HeldError{Dir: dir, PID: who.PID, Command: who.Command, Since: who.Since}
	}
	// A file made by hand or by an older build may be readable by others: it only ever holds a pid and a command
	// name, but the dir's files are all 0600.
	_ = f.Chmod(0o600)
	data, _ := json.Marshal(info{PID: os.Getpid(), Command: command, Since: time.Now().Round(time.Second)})
	// Truncate first: a stale description from a killed holder may be longer than ours. A description that
	// cannot be written (a full disk) costs only the holder's name in a second run's message, not the lock.
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt(append(data, '\n'), 0)
	}
	return &Lock{f: f}, nil
}

// Wait is Acquire that waits while another process holds the lock, until ctx ends. Then the error wraps both
// ctx's error and the last *HeldError.
func Wait(ctx context.Context, dir, command string) (*Lock, error) {
	for {
		l, err := Acquire(dir, command)
		var held *HeldError
		if !errors.As(err, &held) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ctx.Err(), held)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Release drops the lock. It clears the holder's description first, so the file never names a finished run.
// Releasing twice, or a nil *Lock, is a no-op.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	_ = f.Truncate(0)
	err := unlock(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("unlock the state dir: %w", err)
	}
	return nil
}

// readInfo reads the holder's description from a lock file someone else holds. The holder writes it right
// after it takes the lock, so an empty or half-written file is retried briefly; a description whose process is
// gone is dropped (the lock is held, but by someone who did not say so).
func readInfo(f *os.File) info {
	var who info
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		data, err := io.ReadAll(io.NewSectionReader(f, 0, 4096))
		if err != nil {
			break
		}
		if json.Unmarshal(data, &who) == nil && who.PID > 0 {
			if !alive(who.PID) {
				return info{}
			}
			return who
		}
		who = info{}
	}
	return who
}

// clock is t as the message shows it: the time of day, with the date when it is not today.
func clock(t, now time.Time) string {
	t = t.Local()
	if y, m, d := t.Date(); y == now.Local().Year() && m == now.Local().Month() && d == now.Local().Day() {
		return t.Format("15:04")
	}
	return t.Format("Jan 2 15:04")
}

// tildePath shows a dir under the home directory as ~/..., as a user would type it.
func tildePath(dir string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return dir
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	if rel, err := filepath.Rel(home, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		if rel == "." {
			return "~"
		}
		return "~" + string(filepath.Separator) + rel
	}
	return dir
}
