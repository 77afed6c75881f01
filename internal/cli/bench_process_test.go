package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/credkit/credkit/internal/testpeer"
)

// BenchmarkCredentialProcess runs `credkit credential-process` with a warm
// session cache next to the AWS CLI's `aws configure export-credentials`
// (for a static-key profile: the CLI of this machine cannot send STS calls
// to a local endpoint), and `credkit version` as the floor of starting the
// binary at all. `make bench` prints the ratio credkit/awscli.
func BenchmarkCredentialProcess(b *testing.B) {
	m := testpeer.Moto(b)
	aws := testpeer.AWSCLIv2(b)
	id, secret := m.NewUserKeys(b, "bench-root")
	role := m.NewRole(b, "bench-role")
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "config"), []byte("[profile role]\nrole_arn = "+role+"\nsource_profile = root\nregion = us-east-1\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "credentials"), []byte("[root]\naws_access_key_id = "+id+"\naws_secret_access_key = "+secret+"\nregion = us-east-1\n"), 0o600)
	env := testpeer.IsolatedAWSEnv(
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_ENDPOINT_URL_STS="+m.Endpoint,
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
		"HOME="+dir,
	)
	runCmd := func(b *testing.B, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	bin := credkitBinaryB(b)
	b.Run("credkit", func(b *testing.B) {
		runCmd(b, bin, "credential-process", "--profile", "role") // warm the cache
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			runCmd(b, bin, "credential-process", "--profile", "role")
		}
	})
	b.Run("awscli", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			runCmd(b, aws, "configure", "export-credentials", "--profile", "root", "--format", "process")
		}
	})
	b.Run("floor", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			runCmd(b, bin, "version")
		}
	})
}

func credkitBinaryB(b *testing.B) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "credkit-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "credkit")
		if out, err := exec.Command("go", "build", "-o", binPath, "github.com/credkit/credkit/cmd/credkit").CombinedOutput(); err != nil {
			binErr = &buildError{string(out), err}
		}
	})
	if binErr != nil {
		b.Fatal(binErr)
	}
	return binPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return "build credkit: " + e.err.Error() + "\n" + e.out }
