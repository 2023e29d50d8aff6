//go:build !linux

package stacktest

import "syscall"

// orphanKill has no portable equivalent outside Linux; Registry.Stop runs in the test's cleanup.
func orphanKill() *syscall.SysProcAttr { return nil }
