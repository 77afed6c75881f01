//go:build linux

package testpeer

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestCleanupKillsProcessTree(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	var leader, child int
	t.Run("peer", func(t *testing.T) {
		p, err := start(t, "tree", []string{sh, "-c", "sleep 300 & echo child=$!; wait"}, os.Environ(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		err = p.waitReady(func(context.Context) error {
			out := p.out.String()
			if _, v, ok := strings.Cut(out, "child="); ok {
				child, _ = strconv.Atoi(strings.TrimSpace(v))
				return nil
			}
			return errors.New("no child yet")
		})
		if err != nil {
			t.Fatal(err)
		}
		leader = p.cmd.Process.Pid
		if !alive(leader) || !alive(child) {
			t.Fatalf("leader %d or child %d not running", leader, child)
		}
	})
	if child == 0 {
		t.Fatal("child pid unknown")
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(leader) || alive(child) {
		if time.Now().After(deadline) {
			t.Fatalf("after cleanup: leader %d alive=%v, child %d alive=%v", leader, alive(leader), child, alive(child))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
