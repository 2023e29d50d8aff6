package stacktest

import "syscall"

// orphanKill makes the kernel kill a child process when the test process dies without running its
// cleanups (a test timeout panics past them), so no registry outlives its test run.
func orphanKill() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
