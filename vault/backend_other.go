//go:build !linux && !darwin && !windows

package vault

func osDefaultBackend(getenv func(string) string) string { return BackendFile }

func probeKeyctl(scope string) error           { return nil }
func keyctlRingExists(scope, name string) bool { return false }
