//go:build linux || darwin

package execrun

import (
	"os"
	"syscall"
	"unsafe"
)

// sentByTerminal reports whether sig is one a terminal sends to its whole
// foreground process group (Ctrl-C, Ctrl-\, a resize) while credkit, and
// so the child that shares its process group, is that group: the child
// then has it already, and forwarding it would deliver it twice (a second
// Ctrl-C tells terraform to stop at once).
func sentByTerminal(sig os.Signal) bool {
	if sig != syscall.SIGINT && sig != syscall.SIGQUIT && sig != syscall.SIGWINCH {
		return false
	}
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return false // no controlling terminal: someone else sent it
	}
	defer tty.Close()
	var pgrp int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, tty.Fd(), uintptr(syscall.TIOCGPGRP), uintptr(unsafe.Pointer(&pgrp))); errno != 0 {
		return false
	}
	return int(pgrp) == syscall.Getpgrp()
}
