// Command credkit-process is `credkit credential-process` spelled for
// credential_process lines in ~/.aws/config:
//
//	[profile app]
//	credential_process = credkit-process --profile dev
//
// When the session cache holds a session for the profile that may still be
// used (see internal/sessioncache), it prints it and exits; otherwise, and
// for any flag but --profile, it replaces itself with `credkit-core
// credential-process` and the same arguments (see internal/front). The
// go:debug lines spare the runtime reading the cgroup CPU limits at
// start-up, which a program that runs for a few milliseconds on one
// goroutine does not need.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"os"

	"github.com/credkit/credkit/internal/front"
)

func main() {
	os.Exit(front.Process(os.Args[1:]))
}
