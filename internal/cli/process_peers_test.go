package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// credkitBinary builds cmd/credkit and cmd/credkit-process once per test
// run, side by side, as the README installs them (CGO_ENABLED=0).
func credkitBinary(t testing.TB) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "credkit-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "credkit")
		cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "github.com/credkit/credkit/cmd/credkit", "github.com/credkit/credkit/cmd/credkit-process")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build credkit: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// credkitProcessBinary is cmd/credkit-process, beside credkit.
func credkitProcessBinary(t testing.TB) string {
	return filepath.Join(filepath.Dir(credkitBinary(t)), "credkit-process")
}

// roleChainFiles writes a config where profile "chain" assumes three roles
// in a row from static keys, one hop with an external id.
func roleChainFiles(t *testing.T, m *testpeer.MotoServer) (dir string) {
	id, secret := m.NewUserKeys(t, "chain-root")
	r1, r2, r3 := m.NewRole(t, "cli-hop-1"), m.NewRole(t, "cli-hop-2"), m.NewRole(t, "cli-hop-3")
	dir = t.TempDir()
	config := fmt.Sprintf(`[profile hop1]
role_arn = %s
source_profile = root
external_id = ext-42
[profile hop2]
role_arn = %s
source_profile = hop1
[profile chain]
role_arn = %s
source_profile = hop2
role_session_name = cli-chain
region = us-east-1
[profile app]
credential_process = %s credential-process --profile chain
region = us-east-1
[profile loop]
credential_process = %s credential-process --profile loop
`, r1, r2, r3, credkitBinary(t), credkitBinary(t))
	os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o600)
	os.WriteFile(filepath.Join(dir, "credentials"), []byte(fmt.Sprintf("[root]\naws_access_key_id = %s\naws_secret_access_key = %s\n", id, secret)), 0o600)
	return dir
}

func fileEnv(dir string, m *testpeer.MotoServer) map[string]string {
	return map[string]string{
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_ENDPOINT_URL_STS":        m.Endpoint,
		"AWS_REGION":                  "us-east-1",
		"XDG_CACHE_HOME":              filepath.Join(dir, "cache"),
	}
}

// doctor, through a three-hop role chain on moto (signatures checked),
// names the last role as the identity.
func TestDoctorThroughRoleChain(t *testing.T) {
	m := testpeer.Moto(t)
	dir := roleChainFiles(t, m)
	r := runAt(t, time.Now, fileEnv(dir, m), "", "doctor", "--profile", "chain", "--json")
	var rep doctorReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s\n%s", err, r.stdout, r.stderr)
	}
	if r.code != 0 || rep.Identity == nil || !strings.HasSuffix(rep.Identity.ARN, ":assumed-role/cli-hop-3/cli-chain") {
		t.Fatalf("exit %d identity %+v problems %v\n%s", r.code, rep.Identity, rep.Problems, r.stdout)
	}
	if rep.ClockSkewSeconds == nil || rep.Credentials == nil || !rep.Credentials.Temporary || rep.Credentials.SecondsLeft == nil {
		t.Errorf("report %+v", rep)
	}
	text := runAt(t, time.Now, fileEnv(dir, m), "", "doctor", "--profile", "chain")
	for _, want := range []string{"used        profile chain: static keys of profile root", "-> assume role " + "arn:aws:iam::123456789012:role/cli-hop-3", "Identity:    arn:aws:sts::123456789012:assumed-role/cli-hop-3/cli-chain"} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, text.stdout)
		}
	}
	w := runAt(t, time.Now, fileEnv(dir, m), "", "whoami", "--profile", "chain")
	if w.code != 0 || !strings.Contains(w.stdout, "assumed-role/cli-hop-3/cli-chain (account 123456789012) via assume role") {
		t.Errorf("whoami: %d %s %s", w.code, w.stdout, w.stderr)
	}
}

// The AWS CLI v2 and boto3 get their credentials from credkit
// credential-process, and moto accepts them.
func TestCredentialProcessWithAWSCLIAndBoto3(t *testing.T) {
	m := testpeer.Moto(t)
	aws := testpeer.AWSCLIv2(t)
	py := testpeer.Python(t)
	dir := roleChainFiles(t, m)
	env := testpeer.IsolatedAWSEnv(
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_ENDPOINT_URL_STS="+m.Endpoint,
		"AWS_PROFILE=app",
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
	)
	cmd := exec.Command(aws, "sts", "get-caller-identity", "--endpoint-url", m.Endpoint, "--output", "json")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "assumed-role/cli-hop-3/cli-chain") {
		t.Fatalf("aws cli: %v\n%s", err, out)
	}
	cmd = exec.Command(py, "-c", `
import os, boto3
s = boto3.Session()
print(s.get_credentials().method)
print(s.client("sts", endpoint_url=os.environ["AWS_ENDPOINT_URL_STS"]).get_caller_identity()["Arn"])`)
	cmd.Env = env
	out, err = cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "custom-process\n") || !strings.Contains(string(out), "assumed-role/cli-hop-3/cli-chain") {
		t.Fatalf("boto3: %v\n%s", err, out)
	}

	// The session was cached (0600) and is reused: STS would issue a new
	// access key on every call.
	files, _ := filepath.Glob(filepath.Join(dir, "cache", "credkit", "sessions", "*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files: %v", files)
	}
	if st, _ := os.Stat(files[0]); st.Mode().Perm() != 0o600 {
		t.Errorf("cache mode %v", st.Mode().Perm())
	}
	key := func() string {
		c := exec.Command(credkitBinary(t), "credential-process", "--profile", "chain")
		c.Env = env
		b, err := c.Output()
		if err != nil {
			t.Fatalf("credential-process: %v", err)
		}
		var p processOutput
		json.Unmarshal(b, &p)
		return p.AccessKeyID
	}
	if a, b := key(), key(); a == "" || a != b {
		t.Errorf("cached session not reused: %q then %q", a, b)
	}

	// A profile whose credential_process calls itself is stopped.
	c := exec.Command(credkitBinary(t), "credential-process", "--profile", "loop")
	c.Env = env
	b, err := c.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "again") {
		t.Errorf("recursion not caught: %v\n%s", err, b)
	}
}

// credkit-process answers from credkit's session cache without starting
// credkit, prints the bytes credkit prints, and hands everything else to
// credkit credential-process: a cold cache, a cache it may not trust, other
// flags, a profile that calls itself. The AWS CLI and boto3 use it as
// their credential_process.
func TestCredkitProcessFastPath(t *testing.T) {
	m := testpeer.Moto(t)
	aws := testpeer.AWSCLIv2(t)
	py := testpeer.Python(t)
	dir := roleChainFiles(t, m)
	fast := credkitProcessBinary(t)
	f, err := os.OpenFile(filepath.Join(dir, "config"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "[profile fast]\ncredential_process = %s --profile chain\nregion = us-east-1\n[profile fastloop]\ncredential_process = %s --profile fastloop\n", fast, fast)
	f.Close()
	base := []string{
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_ENDPOINT_URL_STS=" + m.Endpoint,
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
	}
	env := testpeer.IsolatedAWSEnv(base...)
	run := func(env []string, bin string, args ...string) (stdout, stderr string, err error) {
		c := exec.Command(bin, args...)
		c.Env = env
		var o, e strings.Builder
		c.Stdout, c.Stderr = &o, &e
		err = c.Run()
		return o.String(), e.String(), err
	}
	keyOf := func(out string) string {
		var p processOutput
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatalf("not credential_process JSON: %v\n%s", err, out)
		}
		return p.AccessKeyID
	}

	// Cold: handed to credkit, which assumes the chain and caches it.
	cold, stderr, err := run(env, fast, "--profile", "chain")
	if err != nil {
		t.Fatalf("cold: %v\n%s", err, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "cache", "credkit", "sessions", "*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files after a cold call: %v", files)
	}
	// Warm: the same bytes as credkit prints, even with STS unreachable and
	// no credkit to hand over to (a copy of the binary alone in a directory,
	// PATH empty).
	full, _, err := run(env, credkitBinary(t), "credential-process", "--profile", "chain")
	if err != nil || full != cold {
		t.Fatalf("credkit answers %q (%v), credkit-process answered %q", full, err, cold)
	}
	alone := filepath.Join(t.TempDir(), "credkit-process")
	if b, err := os.ReadFile(fast); err != nil || os.WriteFile(alone, b, 0o700) != nil {
		t.Fatal(err)
	}
	offline := testpeer.IsolatedAWSEnv(append(base[:2:2], "AWS_ENDPOINT_URL_STS=http://127.0.0.1:1", base[3], "PATH=")...)
	for _, args := range [][]string{{"--profile", "chain"}, {"--profile=chain"}} {
		warm, stderr, err := run(offline, alone, args...)
		if err != nil || warm != cold {
			t.Fatalf("warm %v: %v %q\n%s", args, err, warm, stderr)
		}
	}
	warm, stderr, err := run(append(offline, "AWS_PROFILE=chain"), alone)
	if err != nil || warm != cold {
		t.Fatalf("warm from AWS_PROFILE: %v %q\n%s", err, warm, stderr)
	}
	// Without a usable cache entry and without credkit it says what to do.
	_, stderr, err = run(offline, alone, "--profile", "hop1")
	if err == nil || !strings.Contains(stderr, "credkit, which resolves one, is neither beside") || !strings.Contains(stderr, "go install github.com/credkit/credkit/cmd/credkit@latest") {
		t.Errorf("no credkit: %v\n%s", err, stderr)
	}

	// A cache others may read is not used: credkit resolves anew (moto
	// issues a new key) and writes it back private.
	os.Chmod(files[0], 0o644)
	fresh, stderr, err := run(env, fast, "--profile", "chain")
	if err != nil || keyOf(fresh) == keyOf(cold) {
		t.Fatalf("a world-readable cache was used: %v %s", err, stderr)
	}
	if st, _ := os.Stat(files[0]); st.Mode().Perm() != 0o600 {
		t.Errorf("cache mode after rewrite %v", st.Mode().Perm())
	}
	// Editing the config invalidates the cache.
	later := time.Now().Add(time.Second)
	os.Chtimes(filepath.Join(dir, "config"), later, later)
	edited, _, err := run(env, fast, "--profile", "chain")
	if err != nil || keyOf(edited) == keyOf(fresh) {
		t.Fatalf("cache used after the config changed: %v", err)
	}
	// Any other flag goes to credkit: --no-cache resolves anew, --help is
	// credkit's.
	nocache, _, err := run(env, fast, "--profile", "chain", "--no-cache")
	if err != nil || keyOf(nocache) == keyOf(edited) {
		t.Errorf("--no-cache: %v", err)
	}
	help, helpErr, _ := run(env, fast, "--help")
	if !strings.Contains(help+helpErr, "credkit-process") {
		t.Errorf("--help:\n%s%s", help, helpErr)
	}
	// A profile whose credential_process is itself is stopped by credkit.
	_, stderr, err = run(append(env, "AWS_PROFILE=fastloop"), aws, "sts", "get-caller-identity", "--endpoint-url", m.Endpoint)
	if err == nil || !strings.Contains(stderr, "again") {
		t.Errorf("recursion through credkit-process not caught: %v\n%s", err, stderr)
	}

	// The AWS CLI and boto3 with credential_process = credkit-process.
	out, stderr, err := run(append(env, "AWS_PROFILE=fast"), aws, "sts", "get-caller-identity", "--endpoint-url", m.Endpoint, "--output", "json")
	if err != nil || !strings.Contains(out, "assumed-role/cli-hop-3/cli-chain") {
		t.Fatalf("aws cli: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err = run(append(env, "AWS_PROFILE=fast"), py, "-c", `
import os, boto3
s = boto3.Session()
c = s.get_credentials()
print(c.method, c.access_key)
print(s.client("sts", endpoint_url=os.environ["AWS_ENDPOINT_URL_STS"]).get_caller_identity()["Arn"])`)
	if err != nil || !strings.Contains(out, "custom-process "+keyOf(nocache)+"\n") && !strings.Contains(out, "custom-process "+keyOf(edited)+"\n") || !strings.Contains(out, "assumed-role/cli-hop-3/cli-chain") {
		t.Fatalf("boto3: %v\n%s%s", err, out, stderr)
	}
}
