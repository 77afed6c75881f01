// Command credkit-process is `credkit credential-process` spelled for
// credential_process lines in ~/.aws/config, and faster:
//
//	[profile app]
//	credential_process = credkit-process --profile dev
//
// When the arguments are nothing but --profile P (or none) and the session
// cache holds a session for the profile that may still be used (see
// sessioncache.Answer), it prints it and exits. Otherwise it replaces
// itself with `credkit credential-process` and the same arguments
// (credkit found beside this executable, else on PATH), which resolves,
// caches and explains as always. It is optional: a credential_process line
// may name `credkit credential-process` itself.
//
// It links no network code, so that it starts in a few milliseconds; the
// go:debug lines spare the runtime reading the cgroup CPU limits at
// start-up, which a program that runs for a few milliseconds on one
// goroutine does not need.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/credkit/credkit/internal/sessioncache"
)

// credkit is the name of the full binary.
const credkit = "credkit"

func main() {
	args := os.Args[1:]
	if profile, ok := profileOnly(args); ok {
		if out, ok := sessioncache.Answer(os.Getenv, profile, time.Now()); ok {
			if _, err := os.Stdout.Write(out); err != nil {
				fmt.Fprintf(os.Stderr, "credkit-process: write the credentials: %v\n", err)
				os.Exit(1)
			}
			return
		}
	}
	bin, err := credkitBinary()
	if err != nil {
		fmt.Fprintf(os.Stderr, "credkit-process: %v\n", err)
		os.Exit(1)
	}
	os.Exit(forward(bin, append([]string{bin, "credential-process"}, args...)))
}

// profileOnly reads args when they are nothing but --profile P or
// --profile=P (or empty); ok is false for anything else, which credkit
// credential-process reads.
func profileOnly(args []string) (profile string, ok bool) {
	switch len(args) {
	case 0:
		return "", true
	case 1:
		v, found := strings.CutPrefix(args[0], "--profile=")
		return v, found && v != ""
	case 2:
		return args[1], args[0] == "--profile" && args[1] != "" && !strings.HasPrefix(args[1], "-")
	}
	return "", false
}

// credkitBinary finds credkit beside this executable, else on PATH.
func credkitBinary() (string, error) {
	name := credkit
	if runtime.GOOS == "windows" {
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
	return "", fmt.Errorf("no cached session to answer, and %s, which resolves one, is neither beside %s nor on PATH; install it: go install github.com/credkit/credkit/cmd/credkit@latest", credkit, os.Args[0])
}
