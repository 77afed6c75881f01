package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With no credentials anywhere, or a profile that holds none, a command
// that needs them says what was looked at and what to do.
func TestNoCredentialsSaysWhereItLooked(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"nothing configured", map[string]string{"AWS_REGION": "us-east-1"}, []string{"export", "--format", "env"},
			[]string{"no AWS credentials found: looked at ", "environment", "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"}},
		{"profile without keys", map[string]string{"AWS_REGION": "us-east-1", "AWS_PROFILE": "empty"}, []string{"whoami"},
			[]string{"no AWS credentials found", "profile empty"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			os.WriteFile(filepath.Join(home, "config"), []byte("[profile empty]\nregion = us-east-1\n"), 0o600)
			env := map[string]string{"AWS_CONFIG_FILE": filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials")}
			for k, v := range c.env {
				env[k] = v
			}
			r := run(t, env, "", c.args...)
			if r.code == 0 {
				t.Fatalf("exit 0 without credentials:\n%s", r.stdout)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}
