// Package atomicfile replaces a file that holds secrets, atomically and
// privately. It is the one writer of credkit's private files: the session
// cache of credential_process, the SSO token cache, the file vault and the
// files exec writes. Transient writes the short-lived ones (a browser's
// redirect page, a database client's option file where no anonymous
// memory file can be had) and removes those a killed run left behind.
//
// Write creates a temporary file in the target's directory with mode 0600
// (set explicitly, so the umask cannot widen or narrow it), writes the
// content, fsyncs it, renames it over the target and fsyncs the directory.
// A reader sees the old content or the new, never a mix or an empty file;
// after a power loss the new content is on disk once Write has returned
// nil. On any error the temporary file is removed; only a process killed
// mid-write leaves one behind (Options.TempPattern lets a caller find it).
//
// The package is standard library only and links no network code:
// credkit-process links it (through internal/sessioncache).
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// DefaultTempPattern names the temporary file of Write (os.CreateTemp's
// pattern: the "*" becomes a random string).
const DefaultTempPattern = ".tmp-*"

// Options tunes a write; the zero value is ready to use.
type Options struct {
	// TempPattern names the temporary file as os.CreateTemp's pattern
	// does; "" means DefaultTempPattern. A caller that lists the
	// directory uses its own prefix to tell temporary files from its own.
	TempPattern string
}

// Write replaces the file at path with data using the default options.
func Write(path string, data []byte) error { return Options{}.Write(path, data) }

// Write replaces the file at path with data: see the package doc. The new
// file has mode 0600; when path exists, its owner's permission bits are
// kept and group and other bits are dropped (a file made read-only by its
// owner stays read-only; a file others could read no longer is). The
// directory must exist: a missing one is an error wrapping fs.ErrNotExist
// that names it.
//
// An error from the final fsync of the directory comes after the rename:
// the new content is then in place but may not survive a power loss.
func (o Options) Write(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write %s: directory %s does not exist; create it first: %w", path, dir, err)
		}
		return fmt.Errorf("write %s: %w", path, err)
	} else if !st.IsDir() {
		return fmt.Errorf("write %s: %s is not a directory", path, dir)
	}
	mode := fs.FileMode(0o600)
	if st, err := os.Lstat(path); err == nil && st.Mode().IsRegular() {
		mode = st.Mode().Perm() &^ 0o077
	}
	pattern := o.TempPattern
	if pattern == "" {
		pattern = DefaultTempPattern
	}
	tmp, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return fmt.Errorf("write %s: create a temporary file in %s: %w", path, dir, err)
	}
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// Before any byte is written: os.CreateTemp's 0600 is subject to the
	// umask, Chmod is not.
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: set mode %04o on %s: %w", path, mode, tmp.Name(), err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: fsync %s: %w", path, tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	renamed = true
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("write %s: fsync directory %s after the rename: %w", path, dir, err)
	}
	return nil
}

// SyncDir makes a rename or removal in dir durable. Windows cannot open a
// directory for fsync; NTFS journals the rename.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
