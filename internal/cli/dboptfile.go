package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/credkit/credkit/internal/atomicfile"
	"github.com/credkit/credkit/internal/sessioncache"
	"github.com/credkit/credkit/rdsauth"
)

// clientOptionFile is the option file db connect hands a MySQL or MariaDB
// client, holding the token.
//
// On Linux it is an anonymous memory file (memfd), mode 0600 (the clients
// ignore a world-writable option file, and a memfd starts out 0777),
// sealed against change, which the client inherits as descriptor 3 and
// opens as /dev/fd/3: nothing with the token is ever on disk, and it is
// gone with the last process holding it, however credkit ends. Opening
// /dev/fd/3 opens the memory file anew, at offset 0, so a client that
// reads its defaults more than once reads it whole each time.
//
// Elsewhere (or where /dev/fd or memfd_create is missing) it is a 0600
// file in a 0700 directory of the user's (dbOptionDir), removed when the
// client exits; one left by a credkit that was killed is removed by the
// next db connect once its token has expired.
type clientOptionFile struct {
	path   string     // what --defaults-extra-file names
	files  []*os.File // the descriptors the client inherits, from 3 on
	remove func()     // closes or removes it once the client has exited
}

// newClientOptionFile makes the client's option file holding data.
func newClientOptionFile(getenv func(string) string, data []byte) (*clientOptionFile, error) {
	files := dbOptionFiles(getenv)
	if f, err := memOptionFile(data); err == nil {
		files.RemoveStale() // left by a killed run that could not use memory
		return f, nil
	}
	path, err := files.Write(data)
	if err != nil {
		return nil, fmt.Errorf("db connect: writing the client's option file: %w", err)
	}
	return &clientOptionFile{path: path, remove: func() { os.Remove(path) }}, nil
}

// dbOptionFiles are the option files db connect writes where it cannot
// keep them in memory: in $XDG_RUNTIME_DIR/credkit/db (a per-user tmpfs
// on Linux) when set, else beside the session cache
// (~/.cache/credkit/db). Those older than a token are stale.
func dbOptionFiles(getenv func(string) string) atomicfile.Transient {
	dir := filepath.Join(filepath.Dir(sessioncache.Dir(getenv)), "db")
	if rt := getenv("XDG_RUNTIME_DIR"); rt != "" && filepath.IsAbs(rt) {
		dir = filepath.Join(rt, "credkit", "db")
	}
	return atomicfile.Transient{Dir: dir, Prefix: "client-", Suffix: ".cnf", MaxAge: rdsauth.Lifetime}
}
