package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
)

// BenchmarkCredentialProcess times a warm credential_process call, as an
// SDK makes it on every client it creates: credkit-process (fast-ms) and
// `credkit credential-process` (the full binary, credential-process-ms)
// for a role profile whose session is cached, next to the AWS CLI's `aws
// configure export-credentials` and `aws-vault export --no-session` (file
// backend) for a static-key profile (neither can send STS calls to a local
// endpoint), and `credkit version`, the floor of starting the full binary
// at all. Each iteration runs each of them
// in a burst of five (as an SDK calls it when a program creates its
// clients), the bursts interleaved so that a noisy machine disturbs them
// alike and no contender runs right after a half-second Python start-up
// has emptied the caches; the metrics are
// medians in ms and the ratios fast/awscli, fast/aws-vault and
// credential-process/awscli. Run
// `make bench-process`.
func BenchmarkCredentialProcess(b *testing.B) {
	const burst = 5
	m := testpeer.Moto(b)
	aws := testpeer.AWSCLIv2(b)
	id, secret := m.NewUserKeys(b, "bench-root")
	role := m.NewRole(b, "bench-role")
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "config"), []byte("[profile role]\nrole_arn = "+role+"\nsource_profile = root\nregion = us-east-1\n[profile root]\nregion = us-east-1\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "credentials"), []byte("[root]\naws_access_key_id = "+id+"\naws_secret_access_key = "+secret+"\n"), 0o600)
	env := testpeer.IsolatedAWSEnv(
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_ENDPOINT_URL_STS="+m.Endpoint,
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
		"HOME="+dir,
		"AWS_VAULT_BACKEND=file",
		"AWS_VAULT_FILE_PASSPHRASE=bench-passphrase",
		"AWS_VAULT_FILE_DIR="+filepath.Join(dir, "aws-vault"),
	)
	timeCmd := func(b *testing.B, extraEnv []string, name string, args ...string) time.Duration {
		cmd := exec.Command(name, args...)
		cmd.Env = append(env, extraEnv...)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		if err != nil {
			b.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return d
	}
	bin := credkitBinary(b)
	fast := credkitProcessBinary(b)
	type contender struct {
		metric string
		env    []string
		argv   []string
		times  []time.Duration
	}
	cs := []*contender{
		{metric: "fast-ms", argv: []string{fast, "--profile", "role"}},
		{metric: "credential-process-ms", argv: []string{bin, "credential-process", "--profile", "role"}},
		{metric: "awscli-ms", argv: []string{aws, "configure", "export-credentials", "--profile", "root", "--format", "process"}},
		{metric: "version-ms", argv: []string{bin, "version"}},
	}
	if av, err := testpeer.AWSVaultPath(); err == nil {
		if _, err := os.Stat(av); err == nil {
			timeCmd(b, []string{"AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + secret}, av, "add", "--env", "root")
			cs = append(cs, &contender{metric: "aws-vault-ms", argv: []string{av, "export", "--no-session", "--format", "json", "root"}})
		}
	}
	for _, c := range cs { // warm the session cache and the page cache
		timeCmd(b, c.env, c.argv[0], c.argv[1:]...)
	}
	b.ResetTimer()
	for range b.N {
		for _, c := range cs {
			for range burst {
				c.times = append(c.times, timeCmd(b, c.env, c.argv[0], c.argv[1:]...))
			}
		}
	}
	b.StopTimer()
	med := map[string]time.Duration{}
	for _, c := range cs {
		med[c.metric] = medianDuration(c.times)
		b.ReportMetric(float64(med[c.metric])/float64(time.Millisecond), c.metric)
	}
	b.ReportMetric(float64(med["fast-ms"])/float64(med["awscli-ms"]), "fast/awscli")
	b.ReportMetric(float64(med["credential-process-ms"])/float64(med["awscli-ms"]), "credential-process/awscli")
	if av, ok := med["aws-vault-ms"]; ok {
		b.ReportMetric(float64(med["fast-ms"])/float64(av), "fast/aws-vault")
	}
}
