// Command credkit keeps AWS credentials fresh, signs requests and explains
// which credentials a program gets. Run "credkit help" for the commands.
//
// The go:debug lines spare the runtime reading the cgroup CPU limits at
// start-up (about 1 ms of a warm `credkit exec`, which a program waits for
// each time it starts). GOMAXPROCS is then the machine's CPU count: the
// long-running commands (serve, lab) run a handful of goroutines and do
// not need it to follow a container's CPU quota.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/credkit/credkit/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
