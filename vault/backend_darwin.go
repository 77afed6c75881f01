//go:build darwin

package vault

func osDefaultBackend(getenv func(string) string) string {
	if available(BackendKeychain) {
		return BackendKeychain
	}
	return BackendFile
}

func probeKeyctl(scope string) error           { return nil }
func keyctlRingExists(scope, name string) bool { return false }
