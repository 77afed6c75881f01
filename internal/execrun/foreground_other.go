//go:build !(linux || darwin)

package execrun

import "os"

// sentByTerminal: without a way to ask for the terminal's foreground
// process group here, every signal is forwarded.
func sentByTerminal(os.Signal) bool { return false }
