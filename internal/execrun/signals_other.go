//go:build !unix

package execrun

import "os"

// forwarded are the signals passed on to the child.
var forwarded = []os.Signal{os.Interrupt}
