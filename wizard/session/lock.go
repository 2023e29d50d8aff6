package session

import (
	"github.com/embedwizard/embedwizard/internal/statelock"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// Lock takes the state directory for a command that writes: one such command per directory at a time (a
// second one gets a *statelock.HeldError naming the holder). Holding it, it removes what a killed save left
// behind; only then is that safe, since without the lock the temporary file could be a running save's.
func Lock(dir, command string) (*statelock.Lock, error) {
	l, err := statelock.Acquire(dir, command)
	if err != nil {
		return nil, err
	}
	if err := plan.CleanInterruptedSaves(dir); err != nil {
		l.Release()
		return nil, err
	}
	return l, nil
}
