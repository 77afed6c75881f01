//go:build windows

package vault

func osDefaultBackend(getenv func(string) string) string { return BackendWinCred }

func probeKeyctl(scope string) error           { return nil }
func keyctlRingExists(scope, name string) bool { return false }
