package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version overrides the module version of the build when set, with
// -ldflags "-X github.com/credkit/credkit/internal/cli.Version=v1.2.3".
var Version = ""

// versionString is what credkit version and credkit --version print: the
// version, the VCS revision the binary was built from (marked when the
// tree had uncommitted changes) and the Go version.
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	version, revision, modified := Version, "unknown", false
	if ok {
		if version == "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if version == "" {
		version = "(devel)"
	}
	if modified {
		revision += " (dirty: built with uncommitted changes)"
	}
	return fmt.Sprintf("credkit %s\nrevision %s\n%s %s/%s\n", version, revision, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newVersionCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print credkit's version, VCS revision and Go version",
		Long: "Prints the version of credkit, the VCS revision it was built from (marked dirty when\n" +
			"the tree had uncommitted changes) and the Go version. credkit --version prints the same.",
		Example: examples("credkit version"),
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprint(a.Stdout, versionString())
			return err
		},
	}
}
