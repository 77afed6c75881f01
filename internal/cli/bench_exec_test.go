package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
)

// BenchmarkExecStart times `credkit exec P -- true` for a static-key
// profile next to `credkit export --profile P`, the floor of resolving the
// same credentials without serving them and running a child, and
// `credkit version`, the floor of starting the binary at all. Each
// iteration runs the three once, interleaved, so that a noisy machine
// disturbs them alike; the metrics are medians over the iterations
// (exec-ms, export-ms, version-ms) and exec/export, their ratio. No peer
// is needed. Run:
//
//	go test -run '^$' -bench 'ExecStart' -benchtime 30x -count 3 ./internal/cli/
func BenchmarkExecStart(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("[profile static]\nregion = eu-west-1\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "credentials"), []byte("[static]\naws_access_key_id = AKIAEXECBENCHEXAMPLE\naws_secret_access_key = exec/bench/secret/access/key/0123456789\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	env := testpeer.IsolatedAWSEnv(
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
		"HOME="+dir,
	)
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true command:", err)
	}
	bin := credkitBinary(b)
	timeCmd := func(b *testing.B, args ...string) time.Duration {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		if err != nil {
			b.Fatalf("credkit %v: %v\n%s", args, err, out)
		}
		return d
	}
	execArgs := []string{"exec", "static", "--", truePath}
	exportArgs := []string{"export", "--profile", "static"}
	versionArgs := []string{"version"}
	// Warm the page cache and any per-user state once.
	timeCmd(b, execArgs...)
	timeCmd(b, exportArgs...)

	var execT, exportT, versionT []time.Duration
	b.ResetTimer()
	for range b.N {
		execT = append(execT, timeCmd(b, execArgs...))
		exportT = append(exportT, timeCmd(b, exportArgs...))
		versionT = append(versionT, timeCmd(b, versionArgs...))
	}
	b.StopTimer()
	ex, fl, ve := medianDuration(execT), medianDuration(exportT), medianDuration(versionT)
	msOf := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(msOf(ex), "exec-ms")
	b.ReportMetric(msOf(fl), "export-ms")
	b.ReportMetric(msOf(ve), "version-ms")
	b.ReportMetric(float64(ex)/float64(fl), "exec/export")
}

func medianDuration(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
