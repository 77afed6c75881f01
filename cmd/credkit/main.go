// Command credkit keeps AWS credentials fresh, signs requests and explains
// which credentials a program gets. Run "credkit help" for the commands.
//
// This binary is credkit's front end (see internal/front): it runs `credkit
// exec` and `credkit credential-process` itself when credkit's session
// cache can serve them, in a few milliseconds, and hands everything else to
// credkit-core, installed beside it.
package main

import (
	"os"

	"github.com/credkit/credkit/internal/execrun"
	"github.com/credkit/credkit/internal/front"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 {
		switch args[0] {
		case "exec":
			if code, ok := execrun.FromCache(args[1:]); ok {
				os.Exit(code)
			}
		case "credential-process":
			if front.TryProcess(args[1:]) {
				return
			}
		}
	}
	os.Exit(front.ForwardToCore(args))
}
