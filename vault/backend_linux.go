//go:build linux

package vault

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/godbus/dbus"
	"golang.org/x/sys/unix"
)

func osDefaultBackend(getenv func(string) string) string {
	if getenv("DBUS_SESSION_BUS_ADDRESS") != "" && available(BackendSecretService) && secretServiceOnBus() {
		return BackendSecretService
	}
	return BackendFile
}

// secretServiceName is the bus name of the freedesktop.org Secret Service.
const secretServiceName = "org.freedesktop.secrets"

// secretServiceOnBus asks the session bus (once) whether a Secret Service
// runs or can be started. It is only called when keyring registered
// secret-service, i.e. when the shared session bus connection exists.
var secretServiceOnBus = sync.OnceValue(func() bool {
	conn, err := dbus.SessionBus()
	if err != nil {
		return false
	}
	call := func(method string, args ...interface{}) *dbus.Call {
		ch := make(chan *dbus.Call, 1)
		conn.BusObject().Go(method, 0, ch, args...)
		select {
		case c := <-ch:
			if c.Err != nil {
				return nil
			}
			return c
		case <-time.After(time.Second):
			return nil
		}
	}
	var owned bool
	if c := call("org.freedesktop.DBus.NameHasOwner", secretServiceName); c != nil && c.Store(&owned) == nil && owned {
		return true
	}
	var names []string
	if c := call("org.freedesktop.DBus.ListActivatableNames"); c != nil && c.Store(&names) == nil {
		return slices.Contains(names, secretServiceName)
	}
	return false
})

// keyctlScopes maps keyring's KeyCtlScope names to the kernel's special
// keyring ids.
var keyctlScopes = map[string]int{
	"user":        unix.KEY_SPEC_USER_KEYRING,
	"usersession": unix.KEY_SPEC_USER_SESSION_KEYRING,
	"session":     unix.KEY_SPEC_SESSION_KEYRING,
	"process":     unix.KEY_SPEC_PROCESS_KEYRING,
	"thread":      unix.KEY_SPEC_THREAD_KEYRING,
}

// probeKeyctl checks that the kernel keyring of scope can be reached, so
// that a failure says why (keyring only says "not available").
func probeKeyctl(scope string) error {
	id, ok := keyctlScopes[scope]
	if !ok {
		return fmt.Errorf("keyctl scope %q is not one of user, usersession, session, process, thread", scope)
	}
	if _, err := unix.KeyctlGetKeyringID(id, true); err != nil {
		return fmt.Errorf("the keyctl backend cannot reach the %s kernel keyring: %v (is keyctl blocked, e.g. by a container's seccomp profile?); choose another backend", scope, err)
	}
	return nil
}

// keyctlRingExists reports whether the named keyring exists in scope,
// without creating it.
func keyctlRingExists(scope, name string) bool {
	id, ok := keyctlScopes[scope]
	if !ok {
		return false
	}
	_, err := unix.KeyctlSearch(id, "keyring", name, 0)
	return err == nil
}
