//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The mode is 0600 whatever the umask: a permissive one must not make the
// file readable by others, a strict one must not make it unreadable.
func TestWriteModeIgnoresUmask(t *testing.T) {
	for _, umask := range []int{0, 0o077, 0o277} {
		old := syscall.Umask(umask)
		p := filepath.Join(t.TempDir(), "f")
		err := Write(p, []byte("secret"))
		syscall.Umask(old)
		if err != nil {
			t.Fatalf("umask %03o: %v", umask, err)
		}
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("umask %03o: mode %v, %v; want 0600", umask, st.Mode().Perm(), err)
		}
	}
}
