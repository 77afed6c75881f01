//go:build linux

package testpeer

import (
	"os"
	"syscall"
)

// sysProcAttr puts the peer in its own process group, so that it can be
// killed with its children, and kills it if the test binary dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killTree sends SIGKILL to the process group led by p.
func killTree(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	_ = p.Kill()
}
