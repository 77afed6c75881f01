package sessioncache

import (
	"context"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// lockPoll is how often a waiting process tries the lock again.
const lockPoll = 25 * time.Millisecond

// LockFile names the lock that serialises making the session keyed by
// parts (for example kind, profile and MFA serial) among processes.
func LockFile(getenv func(string) string, parts ...string) string {
	h := fnv.New128a()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return filepath.Join(Dir(getenv), "locks", hex.EncodeToString(h.Sum(nil))+".lock")
}

// Lock takes an exclusive lock on the file path (created with mode 0600),
// so that of several processes that miss a cache at once one makes the
// session (and asks for the MFA code) while the others wait and then read
// what it cached. When the lock is held elsewhere, onWait (if not nil) is
// called once with the holder's process id (0 if unknown), and Lock tries
// again until it gets the lock or ctx ends. The lock is released by unlock,
// or by the system when the process exits. Where the system has no
// advisory locks (not unix), Lock returns at once and locks nothing.
func Lock(ctx context.Context, path string, onWait func(holder int)) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	waited := false
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			break
		}
		if !waited && onWait != nil {
			onWait(holderPID(path))
		}
		waited = true
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waited for the process that holds %s: %w", path, context.Cause(ctx))
		case <-time.After(lockPoll):
		}
	}
	// Say who holds it, for the message of the next one to wait.
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		f.Truncate(0)
		unlockFile(f)
		f.Close()
	}, nil
}

func holderPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
