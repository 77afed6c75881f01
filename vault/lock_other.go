//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd || windows)

package vault

import (
	"fmt"
	"os"
	"runtime"
)

func lockFile(f *os.File, exclusive bool) error {
	return fmt.Errorf("the file backend cannot lock files on %s; use another backend", runtime.GOOS)
}

func unlockFile(f *os.File) error { return nil }
