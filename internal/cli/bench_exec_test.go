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

// BenchmarkExecStart times `credkit exec role -- true` for a role profile
// whose session credkit has cached (exec starts from the session cache),
// next to `credkit exec` of a static-key profile (the full chain with
// nothing to fetch: static keys are not cached), `credkit version` (the
// floor of starting the binary at all), `aws-vault exec --no-session` of
// that static-key profile (file backend) and `true` alone (the floor of
// starting any child). Each iteration runs each contender once,
// interleaved, so that a noisy machine disturbs them alike; the metrics
// are medians in ms (exec-ms, static-ms, version-ms, aws-vault-ms,
// true-ms) and the ratios exec/aws-vault and exec/static. Run
// `make bench-exec`.
func BenchmarkExecStart(b *testing.B) {
	m := testpeer.Moto(b)
	id, secret := m.NewUserKeys(b, "exec-bench-root")
	role := m.NewRole(b, "exec-bench-role")
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "config"), []byte("[profile role]\nrole_arn = "+role+"\nsource_profile = root\nregion = eu-west-1\n[profile root]\nregion = eu-west-1\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "credentials"), []byte("[root]\naws_access_key_id = "+id+"\naws_secret_access_key = "+secret+"\n"), 0o600)
	env := testpeer.IsolatedAWSEnv(
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_ENDPOINT_URL_STS="+m.Endpoint,
		"AWS_EC2_METADATA_DISABLED=true",
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
		"HOME="+dir,
		"AWS_VAULT_BACKEND=file",
		"AWS_VAULT_FILE_PASSPHRASE=bench-passphrase",
		"AWS_VAULT_FILE_DIR="+filepath.Join(dir, "aws-vault"),
	)
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true command:", err)
	}
	timeCmd := func(b *testing.B, extraEnv []string, argv ...string) time.Duration {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(env, extraEnv...)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		if err != nil {
			b.Fatalf("%v: %v\n%s", argv, err, out)
		}
		return d
	}
	bin := credkitBinary(b)
	type contender struct {
		metric string
		argv   []string
		times  []time.Duration
	}
	cs := []*contender{
		{metric: "exec-ms", argv: []string{bin, "exec", "role", "--", truePath}},
		{metric: "static-ms", argv: []string{bin, "exec", "root", "--", truePath}},
		{metric: "version-ms", argv: []string{bin, "version"}},
		{metric: "true-ms", argv: []string{truePath}},
	}
	if av, err := testpeer.AWSVaultPath(); err == nil {
		if _, err := os.Stat(av); err == nil {
			timeCmd(b, []string{"AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + secret}, av, "add", "--env", "root")
			cs = append(cs, &contender{metric: "aws-vault-ms", argv: []string{av, "exec", "--no-session", "root", "--", truePath}})
		}
	}
	// The first exec resolves the role and caches its session; check that
	// exec then starts from that cache, with STS unreachable.
	for _, c := range cs {
		timeCmd(b, nil, c.argv...)
	}
	timeCmd(b, []string{"AWS_ENDPOINT_URL_STS=http://127.0.0.1:1"}, bin, "exec", "role", "--", truePath)

	b.ResetTimer()
	for range b.N {
		for _, c := range cs {
			c.times = append(c.times, timeCmd(b, nil, c.argv...))
		}
	}
	b.StopTimer()
	med := map[string]time.Duration{}
	for _, c := range cs {
		med[c.metric] = medianDuration(c.times)
		b.ReportMetric(float64(med[c.metric])/float64(time.Millisecond), c.metric)
	}
	b.ReportMetric(float64(med["exec-ms"])/float64(med["static-ms"]), "exec/static")
	if av, ok := med["aws-vault-ms"]; ok {
		b.ReportMetric(float64(med["exec-ms"])/float64(av), "exec/aws-vault")
	}
}

func medianDuration(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
