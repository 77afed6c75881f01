//go:build linux

package testpeer

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRunPattern(t *testing.T) {
	for name, want := range map[string]string{
		"TestA":           "^TestA$",
		"TestA/sub_one":   "^TestA$/^sub_one$",
		"TestA/x.y(1)+[]": `^TestA$/^x\.y\(1\)\+\[\]$`,
	} {
		if got := runPattern(name); got != want {
			t.Errorf("runPattern(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestSecretService(t *testing.T) {
	t.Parallel()
	var pids []int
	var dir string
	t.Run("peer", func(t *testing.T) {
		s := SecretService(t)
		dir = filepath.Dir(s.DataDir)
		if !strings.HasPrefix(s.Address, "unix:path=") || len(s.Env) != 1 || s.Env[0] != "DBUS_SESSION_BUS_ADDRESS="+s.Address {
			t.Errorf("Address %q, Env %q", s.Address, s.Env)
		}
		if got := s.Collections(t); !slices.Contains(got, "/org/freedesktop/secrets/collection/login") {
			t.Errorf("Collections() = %q, want the login collection", got)
		}

		path := s.CreateCollection(t, "credkit-peer-test", "pw-0123")
		if want := "/org/freedesktop/secrets/collection/credkit_2dpeer_2dtest"; path != want {
			t.Errorf("CreateCollection = %q, want %q", path, want)
		}
		if !slices.Contains(s.Collections(t), path) {
			t.Errorf("%s is not listed after CreateCollection", path)
		}
		if s.CollectionLocked(t, path) {
			t.Error("a new collection is locked")
		}
		if items := s.Items(t, path); len(items) != 0 {
			t.Errorf("a new collection has items %v", items)
		}
		s.LockCollection(t, path)
		if !s.CollectionLocked(t, path) {
			t.Error("LockCollection did not lock")
		}
		s.UnlockCollection(t, path, "pw-0123")
		if s.CollectionLocked(t, path) {
			t.Error("UnlockCollection did not unlock")
		}
		if _, err := os.Stat(filepath.Join(s.DataDir, "keyrings", "credkit-peer-test.keyring")); err != nil {
			t.Errorf("the collection is not stored in DataDir: %v", err)
		}
		pids = peerPIDs(t, dir)
		if len(pids) != 2 {
			t.Errorf("found %d processes running in %s, want dbus-daemon and gnome-keyring-daemon", len(pids), dir)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d still runs after the test ended", pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", dir, err)
	}
}

// peerPIDs lists the processes whose working directory is dir.
func peerPIDs(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil && cwd == dir {
			out = append(out, pid)
		}
	}
	return out
}
