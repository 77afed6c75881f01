package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTransientWriteRemovesStaleOfItsKindOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "private")
	k := Transient{Dir: dir, Prefix: "client-", Suffix: ".cnf", MaxAge: 15 * time.Minute}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-16 * time.Minute)
	files := map[string]bool{ // name: stays
		"client-stale.cnf":  false, // left by a killed run
		"client-.tmp-12345": false, // a write killed half way
		"client-recent.cnf": true,  // another run's, still in use
		"other-stale.cnf":   true,  // not of this kind
		"signin-stale.html": true,
	}
	for name, stays := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if !stays || name != "client-recent.cnf" {
			os.Chtimes(p, old, old)
		}
	}
	path, err := k.Write([]byte("password=secret\n"))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != dir || !strings.HasPrefix(filepath.Base(path), "client-") || !strings.HasSuffix(path, ".cnf") {
		t.Errorf("wrote %s, want client-*.cnf in %s", path, dir)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v %v, want 0600", st.Mode(), err)
	}
	if b, _ := os.ReadFile(path); string(b) != "password=secret\n" {
		t.Errorf("content %q", b)
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700 (it was made 0755 before)", di.Mode().Perm())
	}
	for name, stays := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if stays && err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
		if !stays && !os.IsNotExist(err) {
			t.Errorf("stale %s was kept: %v", name, err)
		}
	}
	second, err := k.Write([]byte("y"))
	if err != nil || second == path {
		t.Fatalf("second write: %s %v, want a new name beside %s", second, err, path)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the first file, still recent, went with the second write: %v", err)
	}
}
