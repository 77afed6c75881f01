package atomicfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestWriteCreatesPrivateFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "secret.json")
	if err := Write(p, []byte(`{"k":"v"}`)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != `{"k":"v"}` {
		t.Fatalf("read back %q, %v", b, err)
	}
	if runtime.GOOS != "windows" {
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
			t.Errorf("mode %04o, want 0600", st.Mode().Perm())
		}
	}
	if left := temps(t, dir, DefaultTempPattern); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestWriteKeepsOwnerBitsAndDropsOthers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	dir := t.TempDir()
	for _, c := range []struct {
		before, after fs.FileMode
	}{{0o644, 0o600}, {0o666, 0o600}, {0o400, 0o400}, {0o600, 0o600}} {
		p := filepath.Join(dir, "f")
		os.Remove(p)
		if err := os.WriteFile(p, []byte("old"), c.before); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, c.before)
		if err := Write(p, []byte("new")); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(p)
		if st.Mode().Perm() != c.after {
			t.Errorf("existing %04o: mode after write %04o, want %04o", c.before, st.Mode().Perm(), c.after)
		}
	}
}

// A reader that opens the file while it is being rewritten sees the old
// content or the new one, whole: never an empty or half-written file.
func TestWriteIsAtomicForReaders(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cache.json")
	a := bytes.Repeat([]byte("a"), 256<<10)
	b := bytes.Repeat([]byte("b"), 128<<10)
	if err := Write(p, a); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range 30 {
			data := a
			if i%2 == 0 {
				data = b
			}
			if err := Write(p, data); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	reads := 0
	for {
		select {
		case <-done:
			wg.Wait()
			if reads == 0 {
				t.Fatal("no read happened during the writes")
			}
			return
		default:
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("read during writes: %v", err)
		}
		if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
			t.Fatalf("a reader saw %d bytes that are neither the old nor the new content", len(got))
		}
		reads++
	}
}

func TestWriteFailureLeavesNoTempAndKeepsTarget(t *testing.T) {
	dir := t.TempDir()
	// The target is a non-empty directory: the rename over it fails after
	// the temporary file was written and synced.
	p := filepath.Join(dir, "target")
	if err := os.MkdirAll(filepath.Join(p, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := Options{TempPattern: ".mine-*"}.Write(p, []byte("data"))
	if err == nil {
		t.Fatal("write over a directory succeeded")
	}
	if !strings.Contains(err.Error(), p) {
		t.Errorf("error %q does not name the target", err)
	}
	if left := temps(t, dir, ".mine-*"); len(left) != 0 {
		t.Errorf("temporary files left after a failed write: %v", left)
	}
	if _, err := os.Stat(filepath.Join(p, "inside")); err != nil {
		t.Errorf("the target was damaged: %v", err)
	}
}

func TestWriteMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nosuch")
	err := Write(filepath.Join(dir, "f"), []byte("x"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "directory "+dir+" does not exist") {
		t.Errorf("err = %v; want one wrapping fs.ErrNotExist that names %s", err, dir)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Write created the directory: %v", err)
	}
}

// The temporary file is named by Options.TempPattern: one that
// os.CreateTemp refuses makes the write fail.
func TestTempPattern(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := (Options{TempPattern: "sub/x-*"}).Write(p, []byte("y")); err == nil {
		t.Error("a pattern with a path separator was not used")
	}
	if err := (Options{TempPattern: ".own-*"}).Write(p, []byte("y")); err != nil {
		t.Error(err)
	}
}

func temps(t *testing.T, dir, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The cost of a durable write of a session cache entry (two fsyncs).
func BenchmarkWrite(b *testing.B) {
	p := filepath.Join(b.TempDir(), "cache.json")
	data := bytes.Repeat([]byte("x"), 1500)
	for b.Loop() {
		if err := Write(p, data); err != nil {
			b.Fatal(err)
		}
	}
}
