package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Every command checks its arguments (cobra accepts any when Args is
// nil), has examples in its help, and completes --profile and --region.
func TestEveryCommandFollowsTheRules(t *testing.T) {
	root := newRootCmd(&App{Getenv: func(string) string { return "" }})
	walkCommands(root, func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		name := c.CommandPath()
		if c.Args == nil {
			t.Errorf("%s: no argument check", name)
		}
		if c.Annotations[groupAnnotation] == "" && c.Example == "" && !strings.HasPrefix(name, "credkit completion") {
			t.Errorf("%s: no examples", name)
		}
		for _, flag := range []string{"profile", "region"} {
			if c.Flags().Lookup(flag) == nil {
				continue
			}
			if _, ok := c.GetFlagCompletionFunc(flag); !ok {
				t.Errorf("%s: --%s does not complete", name, flag)
			}
		}
	})
}

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		mode     string
		withEnv  bool
		want     string
		wantFail bool
	}{
		{"ecs", true, "server", false},
		{"server", true, "server", false}, // the old name
		{"imds", false, "imds", false},
		{"env", true, "env", false},
		{"env", false, "", true}, // serve has no env mode
		{"ec2", true, "", true},
	} {
		got, err := parseMode(tc.mode, tc.withEnv)
		if got != tc.want || (err != nil) != tc.wantFail {
			t.Errorf("parseMode(%q, %v) = %q, %v", tc.mode, tc.withEnv, got, err)
		}
	}
}

// -ldflags -X ...cli.Version=v1.2.3 wins over the module version.
func TestVersionOverride(t *testing.T) {
	defer func(v string) { Version = v }(Version)
	Version = "v1.2.3"
	lines := strings.Split(strings.TrimSuffix(versionString(), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "credkit v1.2.3" || !strings.HasPrefix(lines[1], "revision ") || !strings.HasPrefix(lines[2], "go1.") {
		t.Errorf("version:\n%s", strings.Join(lines, "\n"))
	}
}
