package procs

import "syscall"

// sysProcAttr makes the kernel kill a member if the test binary itself dies
// (a panic or a go test timeout), so no server outlives the run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
