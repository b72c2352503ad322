//go:build unix

package data

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFolder takes an exclusive lock on the file p, so that two downloads do
// not write into the same destination at once. It returns the unlock function.
func lockFolder(p string) (func(), error) {
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, writeError(p, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another `dgtext data download` is writing into this folder (it holds %s); wait for it to finish", p)
		}
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// freeBytes reports the space available to this user on dir's file system.
func freeBytes(dir string) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
