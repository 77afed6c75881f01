//go:build !unix

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// forward runs bin with this process's standard streams and returns its
// exit code.
func forward(bin string, argv []string) int {
	cmd := exec.Command(bin, argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "credkit-process: run %s: %v\n", bin, err)
		return 1
	}
	return 0
}
