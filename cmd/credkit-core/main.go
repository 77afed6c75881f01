// Command credkit-core is the full credkit: every command, with the AWS
// SDK clients, the vault and the explanations. Users run it through the
// credkit front end (cmd/credkit), which hands it every command the
// session cache cannot answer; run directly it behaves the same.
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
