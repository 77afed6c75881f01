package console

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestWatchRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "page.html")
	if err := os.WriteFile(path, []byte("<p>hi</p>"), 0o600); err != nil {
		t.Fatal(err)
	}
	read, stop, ok := WatchRead(path)
	if !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("WatchRead is not available on Linux")
		}
		t.Skip("no read watch on " + runtime.GOOS)
	}
	defer stop()
	// A stat, a write by another opener and an open not yet closed are
	// no read.
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("\n"))
	w.Close()
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-read:
		t.Fatal("read reported before any reader closed the file")
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := r.Read(make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	select {
	case <-read:
	case <-time.After(5 * time.Second):
		t.Fatal("no read reported 5 s after a reader closed the file")
	}
}

func TestWatchReadStop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "page.html")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	read, stop, ok := WatchRead(path)
	if !ok {
		t.Skip("no read watch on " + runtime.GOOS)
	}
	stop()
	os.ReadFile(path)
	select {
	case <-read:
		t.Fatal("a stopped watch reported a read")
	case <-time.After(200 * time.Millisecond):
	}
}
