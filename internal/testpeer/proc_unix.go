//go:build unix && !linux

package testpeer

import (
	"os"
	"syscall"
)

// sysProcAttr puts the peer in its own process group, so that it can be
// killed with its children.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// killTree sends SIGKILL to the process group led by p.
func killTree(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	_ = p.Kill()
}
