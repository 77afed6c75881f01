//go:build !unix

package testpeer

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// killTree kills p. Without process groups its children are not reached.
func killTree(p *os.Process) { _ = p.Kill() }
