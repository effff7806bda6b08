package server

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// dirSize is the bytes under dir (dirs 4lw).
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// fileDescriptors is (open, limit) for mntr, where the OS tells.
func fileDescriptors() (int64, int64, bool) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, 0, false
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, false
	}
	return int64(len(ents)), int64(lim.Cur), true
}
