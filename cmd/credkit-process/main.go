// Command credkit-process is the fast path of `credkit credential-process`
// for credential_process lines in ~/.aws/config:
//
//	[profile app]
//	credential_process = credkit-process --profile dev
//
// When the session cache of `credkit credential-process` holds a session
// for the profile that may still be used (see internal/sessioncache), it
// prints it and exits; otherwise, and for any flag but --profile, it
// replaces itself with `credkit credential-process` and the same
// arguments, found beside this binary or on PATH, which resolves, caches
// and explains exactly as always. It links no HTTP stack and no AWS SDK:
// those alone cost a Go binary several milliseconds of start-up, more than
// the whole warm answer takes here. The go:debug lines spare the runtime
// reading the cgroup CPU limits at start-up, which a program that runs for
// a few milliseconds on one goroutine does not need.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/credkit/credkit/internal/sessioncache"
)

func main() {
	args := os.Args[1:]
	if profile, ok := profileFlag(args); ok {
		name := sessioncache.ProfileName(os.Getenv, profile)
		if !contains(strings.Split(os.Getenv(sessioncache.EnvRunning), ","), name) {
			if rec, ok := sessioncache.Read(os.Getenv, sessioncache.File(os.Getenv, name), name, time.Now()); ok {
				if b, err := sessioncache.Encode(rec.Credentials); err == nil {
					if _, err := os.Stdout.Write(b); err == nil {
						return
					}
				}
			}
		}
	}
	bin, err := credkitBinary()
	if err != nil {
		fmt.Fprintf(os.Stderr, "credkit-process: %v\n", err)
		os.Exit(1)
	}
	os.Exit(forward(bin, append([]string{bin, "credential-process"}, args...)))
}

// profileFlag reads the arguments when they are nothing but a --profile
// flag (or none); ok is false for anything else, which credkit handles.
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

// credkitBinary finds credkit beside this executable, else on PATH.
func credkitBinary() (string, error) {
	name := "credkit"
	if os.PathSeparator == '\\' { // Windows
		name += ".exe"
	}
	self, err := os.Executable()
	if err == nil {
		if self, err = filepath.EvalSymlinks(self); err == nil {
			p := filepath.Join(filepath.Dir(self), name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	if p, err := exec.LookPath("credkit"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("no cached session to answer with, and no credkit binary beside %s or on PATH to resolve one; install both: go install github.com/credkit/credkit/cmd/credkit github.com/credkit/credkit/cmd/credkit-process", os.Args[0])
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
