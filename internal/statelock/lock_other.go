//go:build !unix && !windows

package statelock

import (
	"errors"
	"os"
)

var errUnsupported = errors.New("locking a state dir is not supported on this system (Linux, macOS and Windows are)")

func tryLock(*os.File) (bool, error) { return false, errUnsupported }
func unlock(*os.File) error          { return errUnsupported }
func alive(int) bool                 { return false }
