//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

// forward replaces this process with credkit; it returns only on failure.
func forward(bin string, argv []string) int {
	err := syscall.Exec(bin, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "credkit-process: running %s: %v\n", bin, err)
	return 1
}
