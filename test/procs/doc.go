// Package procs holds end-to-end tests that run the real zabkeeper binary as
// separate processes and kill them with SIGKILL: a standalone member restarted
// on its data directory, and a three-member ensemble losing its leader during
// writes. The package has no code of its own; everything lives in _test.go
// files. `go test -short` skips it.
package procs
