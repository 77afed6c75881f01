package dbproxy_test

import (
	"os"
	"strconv"
	"testing"
)

func itoa(n int) string { return strconv.Itoa(n) }

// shortTempDir is a temporary directory with a path short enough for a
// unix socket name.
func shortTempDir(t testing.TB) string {
	d, err := os.MkdirTemp("/tmp", "ckpx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
