package testpeer

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// browserPath returns $envName, else def (from Debian package pkg), when it
// is an executable. Missing, it skips the test (fails it with
// CREDKIT_PEERS=require) naming peer.
func browserPath(t testing.TB, peer, envName, def, pkg string) string {
	t.Helper()
	path, from := os.Getenv(envName), envName
	if path == "" {
		path, from = def, "Debian package "+pkg
	}
	if _, err := exec.LookPath(path); err != nil {
		missing(t, peer, fmt.Sprintf("%s (from %s) is not an executable: %v", path, from, err))
	}
	return path
}

// shQuote quotes s as one word for sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
