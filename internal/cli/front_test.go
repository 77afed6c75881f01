package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
)

// The front end (cmd/credkit) runs `credkit exec` from the session cache
// that an earlier exec or credential-process left, without credkit-core:
// checked with a copy of credkit alone in a directory and no credkit-core
// on PATH, and with the AWS CLI v2 as the child, taking its credentials
// from the endpoint (container and IMDSv2) or the environment. Anything
// it cannot serve goes to credkit-core: without one, the error says so.
func TestFrontEndExec(t *testing.T) {
	m := testpeer.Moto(t)
	aws := testpeer.AWSCLIv2(t)
	id, secret := m.NewUserKeys(t, "front-root")
	role := m.NewRole(t, "front-role")
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	os.WriteFile(config, []byte("[profile role]\nrole_arn = "+role+"\nsource_profile = root\nregion = eu-central-1\n[profile root]\nregion = eu-central-1\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "credentials"), []byte("[root]\naws_access_key_id = "+id+"\naws_secret_access_key = "+secret+"\n"), 0o600)
	env := testpeer.IsolatedAWSEnv(
		"AWS_CONFIG_FILE="+config,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_ENDPOINT_URL_STS="+m.Endpoint,
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
		"HOME="+dir,
	)
	full := credkitBinary(t)
	alone := filepath.Join(t.TempDir(), "credkit")
	if data, err := os.ReadFile(full); err != nil || os.WriteFile(alone, data, 0o700) != nil {
		t.Fatal("copy credkit:", err)
	}
	// PATH with the AWS CLI and sh, without credkit-core.
	path := "PATH=" + filepath.Dir(aws) + string(os.PathListSeparator) + "/bin" + string(os.PathListSeparator) + "/usr/bin"
	if _, err := exec.LookPath(filepath.Join(filepath.Dir(aws), "credkit-core")); err == nil {
		t.Skip("credkit-core is installed beside the AWS CLI; the no-core checks would find it")
	}
	// The child prints the variables that matter, then the key the AWS
	// CLI resolves and who STS says it is.
	script := `echo "region=$AWS_REGION profile=$AWS_PROFILE envkey=$AWS_ACCESS_KEY_ID expiry=$AWS_CREDENTIAL_EXPIRATION exec=$CREDKIT_EXEC" &&
"$AWS" configure export-credentials --format process | tr -d ' \n' && echo &&
"$AWS" sts get-caller-identity --endpoint-url "$AWS_ENDPOINT_URL_STS" --query Arn --output text`
	env = append(env, "AWS="+aws) // v2, not a v1 earlier on PATH
	type result struct {
		vars, key, arn, stderr string
		code                   int
	}
	run := func(env []string, bin string, args ...string) result {
		t.Helper()
		c := exec.Command(bin, args...)
		c.Env = env
		var o, e strings.Builder
		c.Stdout, c.Stderr = &o, &e
		err := c.Run()
		r := result{stderr: e.String()}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s %v: %v", bin, args, err)
		}
		lines := strings.Split(strings.TrimSpace(o.String()), "\n")
		if len(lines) == 3 {
			r.vars, r.arn = lines[0], lines[2]
			var p processOutput
			if json.Unmarshal([]byte(lines[1]), &p) == nil {
				r.key = p.AccessKeyID
			}
		}
		return r
	}
	child := []string{"--", "sh", "-c", script}
	execArgs := func(extra ...string) []string { return append(append([]string{"exec", "role"}, extra...), child...) }
	cacheRecord := func() sessionRecord {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(dir, "cache", "credkit", "sessions", "*.json"))
		if len(files) != 1 {
			t.Fatalf("cache files: %v", files)
		}
		b, _ := os.ReadFile(files[0])
		var rec sessionRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}

	// Cold: handed to credkit-core, which assumes the role, serves it and
	// caches it with the profile's region.
	cold := run(env, full, execArgs()...)
	if cold.code != 0 || !strings.Contains(cold.arn, "assumed-role/front-role/") {
		t.Fatalf("cold exec: %+v", cold)
	}
	rec := cacheRecord()
	if r, ok := rec.ProfileRegion(); !ok || r != "eu-central-1" || rec.Credentials.AccessKeyID != cold.key {
		t.Fatalf("cached record: region %q %v, key %s; the child used %s", r, ok, rec.Credentials.AccessKeyID, cold.key)
	}

	// Keys in the environment come before AWS_PROFILE in the chain: that
	// answer is neither served from the profile's cache nor cached as it.
	envKeys := append(env[:len(env):len(env)], "AWS_PROFILE=role", "AWS_ACCESS_KEY_ID=AKIAENVKEYSEXAMPLE0", "AWS_SECRET_ACCESS_KEY=env-secret")
	for _, bin := range []string{full, filepath.Join(filepath.Dir(full), "credkit-core")} {
		c := exec.Command(bin, "credential-process")
		c.Env = envKeys
		if out, err := c.Output(); err != nil || !strings.Contains(string(out), `"AccessKeyId": "AKIAENVKEYSEXAMPLE0"`) {
			t.Errorf("%s credential-process with keys in the environment: %v %s", filepath.Base(bin), err, out)
		}
	}
	if after := cacheRecord(); after.Credentials.AccessKeyID != rec.Credentials.AccessKeyID {
		t.Errorf("the environment's keys were cached as profile role: %s", after.Credentials.AccessKeyID)
	}

	// Warm, without credkit-core, with variables that would shadow the
	// endpoint: the cached session, the profile's region, nothing leaked.
	shadowed := append(append(env[:len(env):len(env)], path), "AWS_PROFILE=other", "AWS_ACCESS_KEY_ID=AKIASHADOWEXAMPLE00", "AWS_SECRET_ACCESS_KEY=shadow")
	warm := run(shadowed, alone, execArgs()...)
	if warm.code != 0 || warm.key != rec.Credentials.AccessKeyID || !strings.Contains(warm.arn, "assumed-role/front-role/") {
		t.Fatalf("warm exec from the front end: %+v (cached key %s)", warm, rec.Credentials.AccessKeyID)
	}
	if !strings.Contains(warm.stderr, "credkit-core, the binary that does this work, is neither beside") || !strings.Contains(warm.stderr, "not refreshed") {
		t.Errorf("no warning that the session will not be refreshed without credkit-core: %q", warm.stderr)
	}
	if want := "region=eu-central-1 profile= envkey= expiry= exec=role"; warm.vars != want {
		t.Errorf("child variables %q, want %q", warm.vars, want)
	}
	// IMDSv2, and the region from the environment.
	imds := run(append(shadowed, "AWS_REGION=ap-south-1"), alone, execArgs("--mode", "imds")...)
	if imds.code != 0 || imds.key != rec.Credentials.AccessKeyID || !strings.HasPrefix(imds.vars, "region=ap-south-1 ") {
		t.Fatalf("warm --mode imds: %+v", imds)
	}
	// env mode: the keys and expiry in the environment, and the warning.
	envMode := run(append(env[:len(env):len(env)], path), alone, execArgs("--mode=env")...)
	wantVars := fmt.Sprintf("region=eu-central-1 profile= envkey=%s expiry=%s exec=role", rec.Credentials.AccessKeyID, rec.Credentials.Expiration)
	if envMode.code != 0 || envMode.vars != wantVars || envMode.key != rec.Credentials.AccessKeyID {
		t.Fatalf("warm --mode env: %+v\nwant %s", envMode, wantVars)
	}
	if !strings.Contains(envMode.stderr, "does not refresh: it expires at "+rec.Credentials.Expiration) {
		t.Errorf("env mode warning: %q", envMode.stderr)
	}
	// The child's exit code comes back.
	c := exec.Command(alone, "exec", "role", "--", "sh", "-c", "exit 7")
	c.Env = append(env[:len(env):len(env)], path)
	if err := c.Run(); c.ProcessState == nil || c.ProcessState.ExitCode() != 7 {
		t.Errorf("exit code: %v", err)
	}

	// What the front end leaves to credkit-core: another flag, a nested
	// exec, a config edited since the session was cached.
	noCore := func(name string, r result) {
		t.Helper()
		if r.code == 0 || !strings.Contains(r.stderr, "credkit-core, the binary that does this work, is neither beside") {
			t.Errorf("%s: served without credkit-core: %+v", name, r)
		}
	}
	noCore("--region", run(append(env[:len(env):len(env)], path), alone, execArgs("--region", "us-west-2")...))
	nested := append(env[:len(env):len(env)], path, "CREDKIT_EXEC=outer")
	noCore("nested", run(nested, alone, execArgs()...))
	if r := run(nested, alone, execArgs("--allow-nested")...); r.code != 0 || r.key != rec.Credentials.AccessKeyID {
		t.Errorf("--allow-nested: %+v", r)
	}
	if r := run(append(env[:len(env):len(env)], "CREDKIT_EXEC=outer"), full, execArgs()...); r.code != ExitExecFailed || !strings.Contains(r.stderr, "already inside credkit exec outer") {
		t.Errorf("nested exec with credkit-core: %+v", r)
	}
	later := time.Now().Add(2 * time.Second)
	os.Chtimes(config, later, later)
	noCore("config edited", run(append(env[:len(env):len(env)], path), alone, execArgs()...))
	if r := run(env, full, execArgs()...); r.code != 0 || !strings.Contains(r.arn, "assumed-role/front-role/") {
		t.Errorf("after a config edit, with credkit-core: %+v", r)
	}
}
