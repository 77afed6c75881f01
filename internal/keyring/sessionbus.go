//go:build linux

package keyring

import (
	"os"
	"path/filepath"
	"strconv"
)

// sessionBusKnown reports whether a D-Bus session bus is known without
// starting one: DBUS_SESSION_BUS_ADDRESS is set (and not "autolaunch:"),
// or $XDG_RUNTIME_DIR/bus (else /run/user/UID/bus) exists.
//
// This file is credkit's change to keyring v1.2.2 (see CHANGES.md).
func sessionBusKnown() bool {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return true
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = filepath.Join("/run/user", strconv.Itoa(os.Getuid()))
	}
	_, err := os.Stat(filepath.Join(dir, "bus"))
	return err == nil
}
