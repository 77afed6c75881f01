//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package vault

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes a flock(2) lock on f, waiting for it.
func lockFile(f *os.File, exclusive bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
