// Package front is the dispatch of the `credkit` command users type, and
// credkit-process.
//
// Two commands are run often enough that credkit's start-up is most of
// their cost: `credkit exec` (a program started under it waits for it
// each time) and `credkit credential-process` (an SDK runs it for every
// client it makes). When credkit's session cache holds a session for the
// profile that may still be used (see internal/sessioncache), cmd/credkit
// answers both itself: credential-process here (TryProcess), exec in
// internal/execrun (FromCache). Everything else, and these two whenever
// the cache cannot serve, replaces itself with credkit-core (the full
// credkit, found beside this binary or on PATH) and the same arguments
// (ForwardToCore), which resolves, caches and explains as always.
//
// Neither this package nor cmd/credkit links net/http, TLS or the AWS SDK.
// On a 2-CPU machine a static Go binary that links them with
// 99designs/keyring spends 12-13 ms before main; one without them about
// 5 ms, less than half of a warm exec. This package links no network code
// at all, so that credkit-process starts faster still.
package front

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/sessioncache"
)

// Core is the name of the full credkit binary.
const Core = "credkit-core"

// Process runs `credkit-process ARGS`: credential-process.
func Process(args []string) int {
	if TryProcess(args) {
		return 0
	}
	return ForwardToCore(append([]string{"credential-process"}, args...))
}

// ForwardToCore replaces this process with credkit-core and args (where
// the OS cannot, runs it and returns its exit code).
func ForwardToCore(args []string) int {
	bin, err := CoreBinary()
	if err != nil {
		fmt.Fprintf(os.Stderr, "credkit: %v\n", err)
		return 1
	}
	return forward(bin, append([]string{bin}, args...))
}

// CoreBinary finds credkit-core beside this executable, else on PATH.
func CoreBinary() (string, error) {
	name := Core
	if os.PathSeparator == '\\' { // Windows
		name += ".exe"
	}
	if self, err := os.Executable(); err == nil {
		if self, err = filepath.EvalSymlinks(self); err == nil {
			p := filepath.Join(filepath.Dir(self), name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s, the binary that does this work, is neither beside %s nor on PATH; install credkit's three binaries together: make install, or go install github.com/credkit/credkit/cmd/...@latest", Core, os.Args[0])
}

// TryProcess answers `credential-process ARGS` when the arguments are
// nothing but a profile and the cache can serve it; false means nothing
// was printed.
func TryProcess(args []string) bool {
	profile, ok := profileFlag(args)
	if !ok {
		return false
	}
	if !sessioncache.Cacheable(os.Getenv, profile) {
		return false // the chain may not end at the profile: credkit-core resolves
	}
	name := sessioncache.ProfileName(os.Getenv, profile)
	if contains(strings.Split(os.Getenv(sessioncache.EnvRunning), ","), name) {
		return false // a credential_process that calls itself: credkit-core explains
	}
	rec, ok := sessioncache.Read(os.Getenv, sessioncache.File(os.Getenv, name), name, time.Now())
	if !ok {
		return false
	}
	b, err := sessioncache.Encode(rec.Credentials)
	if err != nil {
		return false
	}
	_, err = os.Stdout.Write(b)
	return err == nil
}

// profileFlag reads the arguments when they are nothing but a --profile
// flag (or none); ok is false for anything else, which credkit-core
// handles.
func profileFlag(args []string) (profile string, ok bool) {
	switch len(args) {
	case 0:
		return "", true
	case 1:
		for _, p := range []string{"--profile=", "-profile="} {
			if v, found := strings.CutPrefix(args[0], p); found && v != "" {
				return v, true
			}
		}
	case 2:
		if (args[0] == "--profile" || args[0] == "-profile") && args[1] != "" && !strings.HasPrefix(args[1], "-") {
			return args[1], true
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// FromOutput is the credentials of a credential_process answer.
func FromOutput(o sessioncache.Output) (creds.Credentials, error) {
	if o.Version != 1 || o.AccessKeyID == "" || o.SecretAccessKey == "" {
		return creds.Credentials{}, fmt.Errorf("answer without Version 1, AccessKeyId and SecretAccessKey")
	}
	c := creds.Credentials{AccessKeyID: o.AccessKeyID, SecretAccessKey: o.SecretAccessKey, SessionToken: o.SessionToken, AccountID: o.AccountID, Source: "credkit session cache"}
	if o.Expiration != "" {
		t, err := time.Parse(time.RFC3339, o.Expiration)
		if err != nil {
			return creds.Credentials{}, fmt.Errorf("Expiration %q is not an RFC 3339 time", o.Expiration)
		}
		c.Expires = t
	}
	return c, nil
}
