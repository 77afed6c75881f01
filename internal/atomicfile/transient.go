package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// PrivateDir makes dir (and its parents) and sets it to 0700, whatever
// the umask or an earlier mode.
func PrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

// Transient names the short-lived secret files of one kind in one
// directory: a browser's redirect page, a database client's option file.
// Each is written for one reader and removed by its writer when the reader
// is done; a writer killed before that leaves its file, which the next
// Write of the same kind removes once it is older than MaxAge (the
// lifetime of the secret in it, after which no reader still needs it).
type Transient struct {
	Dir    string        // made 0700 by Write
	Prefix string        // the kind's files are Prefix + random + Suffix
	Suffix string        // ".html", ".cnf"
	MaxAge time.Duration // files of the kind older than this are stale
}

// Write removes the kind's stale files, then writes data to a new file of
// mode 0600 with a random name and returns its path. The caller removes
// it when its reader is done.
func (k Transient) Write(data []byte) (string, error) {
	if err := PrivateDir(k.Dir); err != nil {
		return "", fmt.Errorf("private directory: %w", err)
	}
	k.RemoveStale()
	r := make([]byte, 12)
	if _, err := rand.Read(r); err != nil {
		return "", err
	}
	path := filepath.Join(k.Dir, k.Prefix+hex.EncodeToString(r)+k.Suffix)
	// The temporary file carries the prefix too, so that RemoveStale
	// finds one left by a write that was killed.
	if err := (Options{TempPattern: k.Prefix + DefaultTempPattern}).Write(path, data); err != nil {
		return "", err
	}
	return path, nil
}

// RemoveStale removes the kind's files (and the temporary files of its
// writes) last modified more than MaxAge ago.
func (k Transient) RemoveStale() {
	old, _ := filepath.Glob(filepath.Join(k.Dir, k.Prefix+"*"))
	for _, p := range old {
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > k.MaxAge {
			os.Remove(p)
		}
	}
}
