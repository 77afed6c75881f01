//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

// forward replaces this process with bin and argv; it returns only on
// failure.
func forward(bin string, argv []string) int {
	err := syscall.Exec(bin, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "credkit-process: run %s: %v\n", bin, err)
	return 1
}
