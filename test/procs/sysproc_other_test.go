//go:build !linux

package procs

import "syscall"

// sysProcAttr has no parent-death signal outside Linux; t.Cleanup still kills
// every member.
func sysProcAttr() *syscall.SysProcAttr { return nil }
